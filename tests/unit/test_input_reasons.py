"""The summary of a run names each skipped and xfailed check with its reason, once."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

from mirrorcheck.pytest_plugin.reasons import NO_REASON, check_name, reason_lines, reason_of


def skipped(nodeid: str, reason: str) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, longrepr=("suites/x.py", 3, f"Skipped: {reason}"))


def xfailed(nodeid: str, reason: str) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, wasxfail=reason, longrepr=None)


STATS = {
    "skipped": [skipped("suites/test_acme.py::test_renewal", "opt-in: --acme-renewal")],
    "xfailed": [
        xfailed("suites/test_a.py::test_one[node-1]", "reason: known limitation of 2.8"),
        xfailed("suites/test_a.py::test_one[node-1]", "reason: known limitation of 2.8"),
        xfailed("suites/test_b.py::test_two", "known limitation of 2.8"),
        xfailed("suites/test_b.py::test_three", ""),
    ],
    "passed": [SimpleNamespace(nodeid="suites/test_c.py::test_ok")],
}


def test_each_reason_once_with_the_checks_it_covers():
    assert reason_lines(STATS) == [
        "  1 skipped: opt-in: --acme-renewal",
        "      test_acme.py::test_renewal",
        "  2 xfailed: known limitation of 2.8",
        "      test_a.py::test_one[node-1], test_b.py::test_two",
        f"  1 xfailed: {NO_REASON}",
        "      test_b.py::test_three",
    ]


def test_a_kind_pytest_lists_already_is_left_to_it():
    assert reason_lines(STATS, "fEsx") == []
    assert [line for line in reason_lines(STATS, "s") if "skipped" in line] == []


def test_reasons_and_names_read_plainly():
    assert reason_of(skipped("a", "needs\n  the lab")) == "needs the lab"
    assert reason_of(SimpleNamespace(longrepr="a failure")) == NO_REASON
    assert check_name("suites/tls/test_a.py::test_b[node-1]") == "test_a.py::test_b[node-1]"


TESTS = """
import pytest

def test_passes():
    pass

def test_opt_in():
    pytest.skip("opt-in: give --acme-renewal")

@pytest.mark.xfail(reason="a known limitation of registry 2.8")
def test_limitation():
    assert False
"""


def test_a_run_shows_them_once_with_or_without_rsx(tmp_path):
    (tmp_path / "test_run.py").write_text(TESTS)

    def run(*extra: str) -> str:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
        command += ["--report-dir", str(tmp_path / "reports"), "test_run.py"]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    plain, asked = run(), run("-rsx")
    for out in (plain, asked):
        assert out.count("opt-in: give --acme-renewal") == 1, out
        assert out.count("a known limitation of registry 2.8") == 1, out
    assert "1 xfailed: a known limitation of registry 2.8" in plain
    assert "test_run.py::test_opt_in" in plain
    assert "XFAIL" in asked and "1 xfailed: a known" not in asked

"""The report plugin's defaults give way to what the user asked for on the command line.

Each case runs the recorded-figures suite (no Docker) in a child pytest.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from tests.suite_runner import run_suites

CANNED_SUITE = "tests/controls/canned/figures_suite.py"


def suite_name(junit) -> str:
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None, f"{junit} has no testsuite"
    return suite.get("name", "")


def test_reports_default_into_the_report_dir(tmp_path):
    run = run_suites(CANNED_SUITE, tmp_path=tmp_path, report_dir=tmp_path / "out", timeout=120)
    assert run.exit_code == 1, run.output[-3000:]
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "junit.xml",
        "summary.json",
        "report.html",
    }
    assert suite_name(run.junit) == "mirror.test (hermetic lab)"
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<link " not in page and 'src="http' not in page  # self-contained: styles inline


def test_users_junitxml_and_html_paths_win(tmp_path):
    junit, page = tmp_path / "mine.xml", tmp_path / "mine.html"
    run = run_suites(
        CANNED_SUITE,
        f"--junitxml={junit}",
        f"--html={page}",
        tmp_path=tmp_path,
        report_dir=tmp_path / "out",
        timeout=120,
    )
    assert junit.is_file() and page.is_file(), run.output[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["summary.json"]
    assert run.summary()["reports"] == {
        "summary": str(tmp_path / "out" / "summary.json"),
        "junit": str(junit),
        "html": str(page),
    }


def test_users_junit_suite_name_wins(tmp_path):
    run = run_suites(
        CANNED_SUITE,
        "-o",
        "junit_suite_name=nightly gate",
        tmp_path=tmp_path,
        timeout=120,
    )
    assert suite_name(run.junit) == "nightly gate"


def test_without_pytest_html_junit_and_summary_are_still_written(tmp_path):
    run = run_suites(
        CANNED_SUITE, "-p", "no:html", tmp_path=tmp_path, report_dir=tmp_path / "out", timeout=120
    )
    assert run.exit_code == 1, run.output[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["junit.xml", "summary.json"]
    assert run.summary()["failed_checks"] == [
        f"{CANNED_SUITE}::test_node_daemon_json_keeps_the_mirror[node-3]"
    ]


ONLY_SKIPS = """
import pytest


def test_needs_what_this_run_lacks():
    pytest.skip("no --mirror-debug-url: the counters cannot be read")
"""

LATE_TARGET = """
from mirrorcheck.pytest_plugin.reports import record_target

PULLS = []


def describe():
    return {"mode": "live", "fqdn": "mirror.example.com", "pulls": len(PULLS)}


def test_records_the_target_before_pulling(request):
    record_target(request.config, describe)


def test_pulls_twice():
    PULLS.extend(["node-1", "node-2"])
"""


def _canned(tmp_path, text: str) -> str:
    suite = tmp_path / "canned" / "test_canned.py"
    suite.parent.mkdir(exist_ok=True)
    suite.write_text(text, encoding="utf-8")
    return str(suite)


def test_a_run_whose_checks_all_skipped_checked_nothing_and_exits_5(tmp_path):
    run = run_suites(_canned(tmp_path, ONLY_SKIPS), tmp_path=tmp_path, timeout=120)
    assert run.exit_code == 5, run.output[-3000:]
    summary = run.summary()
    assert (summary["verdict"], summary["exit_code"]) == ("no_tests", 5)
    assert summary["counts"]["skipped"] == 1
    assert "nothing was checked: no check passed" in run.output
    assert "NOTHING CHECKED" in (run.report_dir / "report.html").read_text(encoding="utf-8")


def test_the_target_is_asked_again_at_the_end_so_pulls_made_are_counted(tmp_path):
    run = run_suites(_canned(tmp_path, LATE_TARGET), tmp_path=tmp_path, timeout=120)
    assert run.exit_code == 0, run.output[-3000:]
    assert run.summary()["target"]["pulls"] == 2

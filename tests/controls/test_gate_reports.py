"""A CI gate on a broken change: exit code 1, the check that caught it named, all reports left.

Each case runs ``suites/`` as a pipeline would, with one of the user's files
broken the way people break it: a daemon.json missing the comma the reference
guide's footnote warns about, and a registry config without its ``proxy``
section. The reports are kept under ``<report dir>/controls/<case>/`` for
reading after the run.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from mirrorcheck.options import EXAMPLES
from mirrorcheck.report.summary import load_schema
from mirrorcheck.targets.lab.labels import new_run_id
from tests.suite_runner import SuiteRun, run_suites

pytestmark = [pytest.mark.docker]

# The guide's own footnote: the key added after the last one needs a comma.
DAEMON_JSON_MISSING_COMMA = """{
    "log-driver": "journald"
    "registry-mirrors": ["https://mirror.test"]
}
"""


def _without_proxy_section() -> str:
    reference = (EXAMPLES / "registry-config.yml").read_text(encoding="utf-8")
    return reference.split("\nproxy:")[0] + "\n"


@dataclass(frozen=True)
class GateCase:
    name: str
    option: str
    file_name: str
    text: str
    caught_by: str  # the check that must fail, as junit names it
    message_names: str  # what its message must mention


CASES = (
    GateCase(
        "daemon-json-missing-comma",
        "--daemon-json",
        "daemon.json",
        DAEMON_JSON_MISSING_COMMA,
        "suites/test_smoke.py::test_node_daemon_lists_the_mirror[node-1]",
        "daemon.json",
    ),
    GateCase(
        "registry-config-without-proxy",
        "--registry-config",
        "config.yml",
        _without_proxy_section(),
        "suites/test_registry_config.py::test_registry_config_passes_the_lint",
        "proxy",
    ),
)


@dataclass
class GateRun:
    case: GateCase
    run: SuiteRun
    report_dir: Path


def _gate_run(case: GateCase, report_dir: Path, work: Path) -> GateRun:
    """``suites/`` run with the case's broken file, reports kept in ``report_dir``."""
    shutil.rmtree(report_dir, ignore_errors=True)
    broken = work / case.file_name
    broken.write_text(case.text, encoding="utf-8")
    run = run_suites(
        "suites/", case.option, str(broken),
        # Own run ids: the cases run at once, and none may sweep another's lab.
        "--testrunuid", new_run_id(),
        tmp_path=work, report_dir=report_dir,
    )  # fmt: skip
    return GateRun(case, run, report_dir)


@pytest.fixture(scope="module")
def gate_runs(engine, settings, tmp_path_factory) -> Iterator[dict[str, Future[GateRun]]]:
    """Every case's run, started together."""
    with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
        yield {
            case.name: pool.submit(
                _gate_run,
                case,
                settings.report_dir / "controls" / f"gate-{case.name}",
                tmp_path_factory.mktemp(case.name),
            )
            for case in CASES
        }


@pytest.fixture(scope="module", params=CASES, ids=lambda case: case.name)
def gate(request, gate_runs) -> GateRun:
    """The case's run of ``suites/`` with its broken file."""
    return gate_runs[request.param.name].result()


def _junit_case(junit: Path, check_id: str) -> ElementTree.Element | None:
    file, name = check_id.split("::", 1)
    classname = file.removesuffix(".py").replace("/", ".")
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        if case.get("classname") == classname and case.get("name") == name:
            return case
    return None


def test_gate_exits_1(gate):
    assert gate.run.exit_code == 1, (
        f"{gate.case.name}: exit code {gate.run.exit_code}, expected 1\n{gate.run.output[-3000:]}"
    )


def test_gate_leaves_junit_summary_and_html_report(gate):
    for name in ("junit.xml", "summary.json", "report.html"):
        assert (gate.report_dir / name).is_file(), (
            f"{gate.case.name}: no {name} in {gate.report_dir}"
        )


def test_junit_names_the_check_that_caught_the_broken_file(gate):
    case = _junit_case(gate.run.junit, gate.case.caught_by)
    assert case is not None, f"{gate.case.caught_by} is not in {gate.run.junit}"
    problems = [child for child in case if child.tag in ("failure", "error")]
    assert problems, f"{gate.case.caught_by} did not fail in {gate.run.junit}"
    text = " ".join((p.get("message") or "") + (p.text or "") for p in problems)
    assert gate.case.message_names in text, text[-2000:]


def test_junit_suite_is_named_after_the_target(gate):
    suite = ElementTree.parse(gate.run.junit).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "mirror.test (hermetic lab)"


def test_summary_names_the_check_that_caught_the_broken_file(gate):
    summary = gate.run.summary()
    assert summary["verdict"] == "failed" and summary["exit_code"] == 1
    assert gate.case.caught_by in summary["failed_checks"]
    check = next(c for c in summary["checks"] if c["id"] == gate.case.caught_by)
    assert check["verdict"] in ("failed", "error")
    assert gate.case.message_names in check["message"]


def test_summary_validates_against_its_schema(gate):
    jsonschema.validate(gate.run.summary(), load_schema(), cls=jsonschema.Draft202012Validator)


def test_summary_names_the_file_under_test(gate):
    files = gate.run.summary()["target"]["files"]
    key = gate.case.option.removeprefix("--").replace("-", "_")
    assert files[key].endswith(gate.case.file_name)


def test_html_report_leads_with_the_verdict_and_names_the_failing_check(gate):
    page = (gate.report_dir / "report.html").read_text(encoding="utf-8")
    assert '<title id="head-title">FAILED: mirrorcheck mirror.test' in page
    assert gate.case.caught_by in page


def test_summary_and_terminal_say_each_cause_once_before_the_failed_checks(gate):
    summary = gate.run.summary()
    causes = summary["causes"]
    assert causes and len(causes) <= len(summary["failed_checks"]), causes
    under = {check for cause in causes for check in cause["checks"]}
    assert under == set(summary["failed_checks"])
    caught = [c for c in causes if gate.case.caught_by in c["checks"]]
    assert caught and all(c["where"] for c in caught), causes
    lines = gate.run.output.splitlines()
    said = next(i for i, line in enumerate(lines) if line.endswith((" cause:", " causes:")))
    assert said < next(i for i, line in enumerate(lines) if line.startswith("  failed: "))

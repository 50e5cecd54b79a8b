"""Runs the suites in a child pytest, as a user would, and reads what happened.

Negative controls use it: a broken deployment must make the right check fail,
with a message naming the cause; the healthy one must pass. Outcomes are read
from the junit.xml the child writes into its report folder, next to its
summary.json and report.html, so a control sees exactly what a CI gate would.

Usage::

    run = run_suites("suites/test_smoke.py", "--lab-fault", "cert-expired", tmp_path=tmp_path)
    assert run.outcome("test_node_pulls_a_test_image_by_tag_through_the_mirror") == "failed"
    assert "expired" in run.message("test_node_pulls_a_test_image_by_tag_through_the_mirror")
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from mirrorcheck.targets.lab.labels import new_run_id

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load_suite(name: str) -> ModuleType:
    """A suite module (``test_bypass``), loaded from its file: suites/ is not a package."""
    path = PROJECT_ROOT / "suites" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"suites_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class TestOutcome:
    name: str  # the test function name with its parameters, e.g. test_x[node-1]
    classname: str
    outcome: str  # passed | failed | error | skipped | xfailed
    message: str = ""
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class SuiteRun:
    """A finished child run: exit code, output and one outcome per test."""

    exit_code: int
    output: str
    outcomes: list[TestOutcome]
    junit: Path
    report_dir: Path | None = None

    def summary(self) -> dict:
        """The child's summary.json."""
        assert self.report_dir is not None
        path = self.report_dir / "summary.json"
        assert path.exists(), f"the run left no {path}:\n{self.output[-3000:]}"
        return json.loads(path.read_text(encoding="utf-8"))

    def find(self, name: str) -> list[TestOutcome]:
        """Outcomes whose test name is ``name`` or starts with ``name[``."""
        return [o for o in self.outcomes if o.name == name or o.name.startswith(name + "[")]

    def outcome(self, name: str) -> str:
        found = self.find(name)
        assert found, (
            f"{name} did not run; ran: {[o.name for o in self.outcomes]}\n{self.output[-3000:]}"
        )
        kinds = {o.outcome for o in found}
        for worst in ("error", "failed", "xfailed", "skipped", "passed"):
            if worst in kinds:
                return worst
        return kinds.pop()

    def expect(self, name: str, outcome: str, *mentions: str) -> None:
        """Assert a test's outcome and that its message names each of ``mentions``.

        On a mismatch the child's own message (and output tail) is shown, so a
        control that fails says why the suite did not behave as expected.
        """
        seen, message = self.outcome(name), self.message(name)
        assert seen == outcome, (
            f"{name}: expected {outcome}, got {seen}\n--- its message ---\n{message[-3000:]}"
            f"\n--- child output ---\n{self.output[-3000:]}"
        )
        for mention in mentions:
            assert mention in message, f"{name}: message lacks {mention!r}:\n{message[-3000:]}"

    def message(self, name: str) -> str:
        return "\n".join(o.message for o in self.find(name))

    def failed(self) -> list[str]:
        return [o.name for o in self.outcomes if o.outcome in ("failed", "error")]


def _read_junit(path: Path) -> list[TestOutcome]:
    if not path.exists():
        return []
    outcomes = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                message = (child.get("message") or "") + "\n" + (child.text or "")
            elif child.tag == "skipped":
                kind = child.get("type") or ""
                outcome = "xfailed" if "xfail" in kind else "skipped"
                message = child.get("message") or ""
        properties = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        outcomes.append(
            TestOutcome(
                case.get("name", ""), case.get("classname", ""), outcome, message, properties
            )
        )
    return outcomes


def run_suites(
    *args: str,
    tmp_path: Path,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    report_dir: Path | None = None,
) -> SuiteRun:
    """Run ``pytest <args>`` from the project root in a child process, as a CI gate would.

    The child writes its reports (junit.xml, summary.json, report.html) into
    ``report_dir`` (default: a new folder under ``tmp_path``); outcomes are read
    from its junit.xml.
    """
    if report_dir is None:
        report_dir = tmp_path / f"reports-{len(list(tmp_path.glob('reports-*')))}"
    junit = report_dir / "junit.xml"
    for stale in ("junit.xml", "summary.json", "report.html", "report.png"):
        (report_dir / stale).unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "pytest",
        *args,
        "-p",
        "no:cacheprovider",
        "--report-dir",
        str(report_dir),
    ]
    # Controls judge the checks on the faster plain topology unless they ask for the swarm
    # (``--topology swarm``, or MIRRORCHECK_TOPOLOGY in ``env``): its faults are the plain lab's.
    child_env = {"MIRRORCHECK_TOPOLOGY": "plain", **os.environ, **(env or {})}
    child_env.pop("PYTEST_XDIST_WORKER", None)
    child_env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=child_env, capture_output=True, text=True, timeout=timeout
    )
    return SuiteRun(
        done.returncode, done.stdout + done.stderr, _read_junit(junit), junit, report_dir
    )


@contextmanager
def suites_together(
    args_by_name: Mapping[str, Sequence[str]],
    tmp: Path,
    *,
    workers: int = 3,
    timeout: float = 900,
) -> Iterator[dict[str, Future[SuiteRun]]]:
    """One child run per name, started together (``workers`` at a time); each future gives its
    ``SuiteRun``.

    Each runs in ``tmp/<name>`` under a run id of its own (``--testrunuid``), so that no
    child sweeps another's lab. Leaving the block waits for every run.
    """

    def run(name: str, args: Sequence[str]) -> SuiteRun:
        folder = tmp / name
        folder.mkdir(exist_ok=True)
        return run_suites(*args, "--testrunuid", new_run_id(), tmp_path=folder, timeout=timeout)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield {name: pool.submit(run, name, args) for name, args in args_by_name.items()}

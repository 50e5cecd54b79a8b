"""What one run reported, gathered as it goes: each check's phases and figures, and the target.

Pure: no pytest, no Docker. The pytest plugin (``mirrorcheck.pytest_plugin.reports``)
feeds a ``RunRecord``; ``mirrorcheck.report.summary.build_summary`` turns it into
the summary document.

Usage::

    run = RunRecord(target={"mode": "hermetic", "fqdn": "mirror.test"})
    run.add_phase("suites/test_x.py::test_y[node-1]", "call", "passed", duration=1.2,
                  properties=[("node", "node-1"), ("warm_pull_seconds", 0.4)])
    run.add_target({"nodes": [{"name": "node-1", "engine_version": "20.10.24"}]})
    run.checks["suites/test_x.py::test_y[node-1]"].verdict     # "passed"
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# A check's verdict is its worst phase's, in this order.
CHECK_VERDICTS = ("error", "failed", "xfailed", "xpassed", "skipped", "passed")
FAILING = frozenset({"error", "failed"})


def phase_verdict(when: str, outcome: str, xfail: bool = False) -> str:
    """One phase's verdict: a failed setup or teardown is an error, a skipped xfail an xfail."""
    if outcome == "failed":
        return "failed" if when == "call" else "error"
    if outcome == "skipped":
        return "xfailed" if xfail else "skipped"
    return "xpassed" if xfail and when == "call" else "passed"


def jsonable(value: object) -> object:
    """``value`` as plain JSON data (tuples become lists, anything else its ``str``)."""
    return json.loads(json.dumps(value, default=str))


def node_dicts(nodes: object) -> list[dict]:
    """Node accounts from a list of names or of dicts with ``name``; anything else is skipped."""
    found = []
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, str):
            found.append({"name": node})
        elif isinstance(node, dict) and node.get("name"):
            found.append(dict(node))
    return found


# How reports name each mode: "files" is a run whose checks read the files under test only.
MODE_NAMES = {"hermetic": "hermetic lab", "live": "live", "files": "files only"}


def target_name(target: Mapping[str, object]) -> str:
    """How reports name the target: its host and how it is reached."""
    where = str(target.get("fqdn") or target.get("mirror_url") or "mirror")
    mode = str(target.get("mode") or "")
    return f"{where} ({MODE_NAMES.get(mode, mode)})" if mode else where


@dataclass
class CheckRecord:
    """One check (a pytest item): its phases' verdicts, duration, message and figures."""

    id: str
    phases: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    message: str = ""
    figures: dict[str, object] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        seen = set(self.phases.values())
        return next((v for v in CHECK_VERDICTS if v in seen), "passed")

    @property
    def name(self) -> str:
        return self.id.rsplit("::", 1)[-1]

    @property
    def file(self) -> str:
        return self.id.split("::", 1)[0]

    @property
    def node(self) -> str | None:
        value = self.figures.get("node")
        return value if isinstance(value, str) and value else None


@dataclass
class RunRecord:
    """Everything the reports need from one run, gathered as the run goes."""

    target: dict[str, object] = field(default_factory=dict)
    checks: dict[str, CheckRecord] = field(default_factory=dict)

    def add_phase(
        self,
        check_id: str,
        when: str,
        outcome: str,
        *,
        xfail: bool = False,
        duration: float = 0.0,
        message: str = "",
        properties: Iterable[tuple[str, object]] = (),
    ) -> CheckRecord:
        """Record one phase (setup, call, teardown) of a check with the figures it carried."""
        check = self.checks.setdefault(check_id, CheckRecord(check_id))
        check.phases[when] = phase_verdict(when, outcome, xfail)
        check.duration = round(check.duration + duration, 3)
        if message and (not check.message or outcome == "failed"):
            check.message = message
        for name, value in properties:
            check.figures[str(name)] = jsonable(value)
        return check

    def checked_something(self) -> bool:
        """Whether any check ran to a verdict on evidence (passed, or failed as expected)."""
        return any(c.verdict in ("passed", "xfailed", "xpassed") for c in self.checks.values())

    def add_target(self, info: Mapping[str, object]) -> None:
        """Merge what the target says about itself; nodes merge by name, other keys replace."""
        info = jsonable(dict(info))
        assert isinstance(info, dict)
        nodes = info.pop("nodes", None)
        self.target.update({k: v for k, v in info.items() if v not in (None, "")})
        if nodes is not None:
            merged = {n["name"]: n for n in node_dicts(self.target.get("nodes"))}
            for node in node_dicts(nodes):
                merged.setdefault(node["name"], {"name": node["name"]}).update(node)
            self.target["nodes"] = list(merged.values())

"""The run's summary document (``summary.json``), built from what the checks reported.

Pure: no pytest, no Docker. The pytest plugin (``mirrorcheck.pytest_plugin.reports``) feeds
a ``RunRecord`` with each test phase's outcome and figures and with what the
target told about itself, then calls ``build_summary`` once at the end. The
document follows ``summary.schema.json`` (``mirrorcheck.report.schema``); what
the figures add up to is ``mirrorcheck.report.figures``.

Usage::

    run = RunRecord(target={"name": "mirror.test (hermetic lab)", "mirror_url": "https://mirror.test"})
    run.add_phase("suites/test_x.py::test_y[node-1]", "call", "passed", duration=1.2,
                  properties=[("node", "node-1"), ("warm_pull_seconds", 0.4)])
    document = build_summary(run, exit_code=0, generated_at="2026-01-01T00:00:00Z")
    document["nodes"][0]["warm_pull_seconds"]      # 0.4
"""

from __future__ import annotations

from collections.abc import Mapping

from mirrorcheck.report.causes import group_causes
from mirrorcheck.report.figures import (
    node_of,
    node_rows,
    pull_series,
    single_fetch,
    totals,
    versions,
)
from mirrorcheck.report.record import (
    CHECK_VERDICTS,
    FAILING,
    CheckRecord,
    RunRecord,
    jsonable,
    phase_verdict,
    target_name,
)
from mirrorcheck.report.schema import SCHEMA_PATH, load_schema

# The names the plugin and the reports' readers take from this module.
__all__ = [
    "EXIT_VERDICTS",
    "FORMAT",
    "FORMAT_VERSION",
    "SCHEMA_PATH",
    "RunRecord",
    "build_summary",
    "counts",
    "jsonable",
    "load_schema",
    "phase_verdict",
    "target_name",
    "usage_error_summary",
]

FORMAT = "mirrorcheck-summary"
FORMAT_VERSION = 1

# pytest's exit codes (https://docs.pytest.org/en/stable/reference/exit-codes.html).
EXIT_VERDICTS: Mapping[int, str] = {
    0: "passed",
    1: "failed",
    2: "interrupted",
    3: "internal_error",
    4: "usage_error",
    5: "no_tests",
}


def counts(checks: list[CheckRecord]) -> dict[str, int]:
    """How many checks ended with each verdict, and ``total``."""
    found = dict.fromkeys(CHECK_VERDICTS, 0)
    for check in checks:
        found[check.verdict] += 1
    return {**found, "total": len(checks)}


def build_summary(
    run: RunRecord,
    *,
    exit_code: int,
    generated_at: str,
    tools: Mapping[str, str] | None = None,
    reports: Mapping[str, str] | None = None,
) -> dict:
    """The summary document of one run (see ``summary.schema.json``)."""
    checks = list(run.checks.values())
    nodes = node_rows(run.target, checks)
    target = {k: v for k, v in run.target.items() if k not in ("nodes", "accounting")}
    target["name"] = target_name(run.target)  # the mode and host the target last told
    target["nodes"] = [n["name"] for n in nodes]
    failed = [c for c in checks if c.verdict in FAILING]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": generated_at,
        "verdict": EXIT_VERDICTS.get(int(exit_code), "internal_error"),
        "exit_code": int(exit_code),
        "target": target,
        "counts": counts(checks),
        "causes": group_causes((c.id, c.message, c.node) for c in failed),
        "failed_checks": [c.id for c in failed],
        "nodes": nodes,
        "totals": totals(checks, run.target.get("accounting")),
        "single_fetch": single_fetch(checks),
        "pulls": pull_series(checks),
        "versions": versions(run.target, nodes, checks, tools or {}),
        "checks": [
            {
                "id": c.id,
                "name": c.name,
                "file": c.file,
                "node": node_of(c, [n["name"] for n in nodes]),
                "verdict": c.verdict,
                "duration_seconds": c.duration,
                "message": c.message,
                "figures": c.figures,
            }
            for c in checks
        ],
        "reports": dict(reports or {}),
    }


def usage_error_summary(problems: list[str], *, generated_at: str, summary_path: str) -> dict:
    """The summary of a run stopped by a usage error: nothing checked, the ``problems`` named."""
    document = build_summary(
        RunRecord(target={"mode": "not started"}),
        exit_code=4,
        generated_at=generated_at,
        reports={"summary": summary_path},
    )
    document["problems"] = list(problems)
    return document

"""The run's summary document (``summary.json``), built from what the checks reported.

Pure: no pytest, no Docker. The pytest plugin (``mirrorcheck.pytest_plugin.reports``) feeds
a ``RunRecord`` with each test phase's outcome and figures and with what the
target told about itself, then calls ``build_summary`` once at the end. The
document follows ``summary.schema.json`` beside this module.

Figures are aggregated whatever their names; the names in ``WELL_KNOWN_FIGURES``
get special places (the per-node table, the totals, the per-pull chart).

Usage::

    run = RunRecord(target={"name": "mirror.test (hermetic lab)", "mirror_url": "https://mirror.test"})
    run.add_phase("suites/test_x.py::test_y[node-1]", "call", "passed", duration=1.2,
                  properties=[("node", "node-1"), ("warm_pull_seconds", 0.4)])
    document = build_summary(run, exit_code=0, generated_at="2026-01-01T00:00:00Z")
    document["nodes"][0]["warm_pull_seconds"]      # 0.4
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")
FORMAT = "mirrorcheck-summary"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class WellKnownFigure:
    name: str
    place: str  # node | totals | single_fetch | chart | target
    meaning: str


# The figure names the reports key on. A check records them with the
# ``figures(name, value)`` fixture; any other name is still kept with its check.
WELL_KNOWN_FIGURES: tuple[WellKnownFigure, ...] = (
    WellKnownFigure(
        "node", "node", "the node a check ran on (added for checks parametrized by node_name)"
    ),
    WellKnownFigure("mirror_url", "target", "the mirror URL the check used"),
    WellKnownFigure(
        "node_status",
        "node",
        "a dict (or a list of dicts) with 'name' and any per-node field below",
    ),
    WellKnownFigure("mirror_configured", "node", "bool: the node's daemon lists the mirror"),
    WellKnownFigure(
        "effective_mirrors", "node", "list: RegistryConfig.Mirrors of the running daemon"
    ),
    WellKnownFigure(
        "daemon_json_verdict", "node", "str: what the daemon.json checks found on this node"
    ),
    WellKnownFigure("engine_version", "node", "str: the node's Docker Engine version"),
    WellKnownFigure("startup_error", "node", "str: why the node's dockerd did not start"),
    WellKnownFigure("cold_pull_seconds", "node", "seconds of the first (cold) pull on a node"),
    WellKnownFigure("warm_pull_seconds", "node", "seconds of a pull the mirror had cached"),
    WellKnownFigure(
        "upstream_blob_gets_per_digest",
        "single_fetch",
        "{digest: upstream GETs} for one pull or one group of pulls",
    ),
    WellKnownFigure("upstream_manifest_gets", "totals", "manifest GETs the mirror sent upstream"),
    WellKnownFigure(
        "billable_manifest_gets", "totals", "pulls Docker Hub would bill, with the mirror"
    ),
    WellKnownFigure(
        "billable_without_mirror",
        "totals",
        "pulls Docker Hub would bill if the same nodes pulled without the mirror",
    ),
    WellKnownFigure("upstream_bytes", "totals", "bytes the mirror fetched from upstream"),
    WellKnownFigure("bytes_served_to_nodes", "totals", "bytes the mirror served to the nodes"),
    WellKnownFigure(
        "upstream_requests_per_pull",
        "chart",
        "upstream requests of each pull in pull order: {node: n}, [n, ...] "
        "or [{'node': .., 'upstream_requests': n}, ...]; the first is the cold pull",
    ),
    WellKnownFigure(
        "upstream_blob_gets_per_pull", "chart", "upstream blob GETs of each pull, same shapes"
    ),
    WellKnownFigure("registry_version", "target", "the mirror's distribution version"),
)
FIGURE_NAMES = frozenset(f.name for f in WELL_KNOWN_FIGURES)
NODE_FIELDS = tuple(
    f.name
    for f in WELL_KNOWN_FIGURES
    if f.place == "node" and f.name not in ("node", "node_status")
)
# Per-node seconds keep the slowest value seen: a gate reader cares about the worst pull.
_SLOWEST_WINS = ("cold_pull_seconds", "warm_pull_seconds")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# What a per-node field must hold to reach the table; other values stay with their check only.
_NODE_FIELD_ACCEPTS = {
    "mirror_configured": lambda v: isinstance(v, bool),
    "effective_mirrors": lambda v: isinstance(v, list) and all(isinstance(m, str) for m in v),
    "daemon_json_verdict": lambda v: isinstance(v, str),
    "engine_version": lambda v: isinstance(v, str),
    "startup_error": lambda v: isinstance(v, str),
    "cold_pull_seconds": _is_number,
    "warm_pull_seconds": _is_number,
}

# pytest's exit codes (https://docs.pytest.org/en/stable/reference/exit-codes.html).
EXIT_VERDICTS: Mapping[int, str] = {
    0: "passed",
    1: "failed",
    2: "interrupted",
    3: "internal_error",
    4: "usage_error",
    5: "no_tests",
}
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

    def add_target(self, info: Mapping[str, object]) -> None:
        """Merge what the target says about itself; nodes merge by name, other keys replace."""
        info = jsonable(dict(info))
        assert isinstance(info, dict)
        nodes = info.pop("nodes", None)
        self.target.update({k: v for k, v in info.items() if v not in (None, "")})
        if nodes is not None:
            merged = {n["name"]: n for n in _node_dicts(self.target.get("nodes"))}
            for node in _node_dicts(nodes):
                merged.setdefault(node["name"], {"name": node["name"]}).update(node)
            self.target["nodes"] = list(merged.values())


def target_name(target: Mapping[str, object]) -> str:
    """How reports name the target: its host and how it is reached."""
    where = str(target.get("fqdn") or target.get("mirror_url") or "mirror")
    mode = str(target.get("mode") or "")
    return f"{where} ({'hermetic lab' if mode == 'hermetic' else mode})" if mode else where


def _node_dicts(nodes: object) -> list[dict]:
    found = []
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, str):
            found.append({"name": node})
        elif isinstance(node, dict) and node.get("name"):
            found.append(dict(node))
    return found


# -- nodes -----------------------------------------------------------------------

_PARAM_ID = re.compile(r"\[(.+)\]$")


def _param_names(check_id: str) -> str:
    match = _PARAM_ID.search(check_id)
    return match.group(1) if match else ""


def _node_of(check: CheckRecord, names: Iterable[str]) -> str | None:
    """The node a check ran on: its ``node`` figure, else a node name in its parameter id."""
    if check.node:
        return check.node
    params = _param_names(check.id)
    for name in sorted(names, key=len, reverse=True):
        if params == name or params.startswith(f"{name}-") or params.endswith(f"-{name}"):
            return name
    return None


def _merge_field(row: dict, name: str, value: object) -> None:
    if value is None or not _NODE_FIELD_ACCEPTS[name](value):
        return
    current = row.get(name)
    if name in _SLOWEST_WINS and current is not None:
        row[name] = max(current, value)
    else:
        row[name] = value


def _empty_row(name: str) -> dict:
    return {"name": name, **dict.fromkeys(NODE_FIELDS), "checks": {}, "failed_checks": []}


def node_rows(target: Mapping[str, object], checks: Iterable[CheckRecord]) -> list[dict]:
    """One row per node: the target's own account, then what checks recorded about it."""
    checks = list(checks)
    rows: dict[str, dict] = {}

    def row(name: str) -> dict:
        return rows.setdefault(name, _empty_row(name))

    for node in _node_dicts(target.get("nodes")):
        for key in NODE_FIELDS:
            _merge_field(row(node["name"]), key, node.get(key))
    for check in checks:
        statuses = check.figures.get("node_status")
        for status in _node_dicts(statuses if isinstance(statuses, list) else [statuses]):
            for key in NODE_FIELDS:
                _merge_field(row(status["name"]), key, status.get(key))
        if check.node:
            row(check.node)
    for check in checks:
        on = _node_of(check, rows)
        for key in NODE_FIELDS:
            value = check.figures.get(key)
            if isinstance(value, dict):  # {node: value}, for checks across the cluster
                for name, each in value.items():
                    _merge_field(row(str(name)), key, each)
            elif on is not None:
                _merge_field(row(on), key, value)
        if on is not None:
            counts = row(on)["checks"]
            counts[check.verdict] = counts.get(check.verdict, 0) + 1
            if check.verdict in FAILING:
                row(on)["failed_checks"].append(check.id)
    mirror = str(target.get("mirror_url") or "").rstrip("/")
    for each in rows.values():
        mirrors = each["effective_mirrors"]
        if each["mirror_configured"] is None and mirror and isinstance(mirrors, list):
            each["mirror_configured"] = mirror in [str(m).rstrip("/") for m in mirrors]
        if each["daemon_json_verdict"] is None and each["startup_error"]:
            each["daemon_json_verdict"] = "refused by dockerd"
    return list(rows.values())


# -- totals, single fetch, pulls ------------------------------------------------------


def _number(value: object) -> float | int | None:
    return value if _is_number(value) else None


def _sum(checks: list[CheckRecord], name: str) -> int | float | None:
    values = [_number(c.figures.get(name)) for c in checks]
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def _paired(checks: list[CheckRecord], one: str, other: str) -> list[CheckRecord]:
    return [
        c
        for c in checks
        if _number(c.figures.get(one)) is not None and _number(c.figures.get(other)) is not None
    ]


WHOLE_RUN_FIELDS = (
    "billable_with_mirror",
    "billable_without_mirror",
    "upstream_bytes",
    "bytes_served_to_nodes",
)


def whole_run(accounting: object) -> dict | None:
    """Every pull of the run, as the lab's own logs counted them (the target's ``accounting``).

    The lab knows all traffic: what the mirror asked upstream (Docker Hub's bill
    with the mirror) and what the nodes asked the mirror (the bill without it).
    """
    if not isinstance(accounting, Mapping):
        return None
    values = {name: _number(accounting.get(name)) for name in WHOLE_RUN_FIELDS}
    if any(v is None for v in values.values()):
        return None
    return {
        **values,
        "billable_saved": values["billable_without_mirror"] - values["billable_with_mirror"],
        "source": str(accounting.get("source") or ""),
    }


def totals(checks: list[CheckRecord], accounting: object = None) -> dict:
    """Run-wide sums, and the with/without-mirror comparisons.

    Raw sums (``upstream_bytes``, ``billable_manifest_gets``...) cover every check
    that recorded the figure. A comparison covers only the checks that recorded
    both of its sides, so "with" and "without" count the same pulls.
    ``whole_run`` is every pull of the run, when the target accounted for them.
    """
    billed = _paired(checks, "billable_manifest_gets", "billable_without_mirror")
    traffic = _paired(checks, "upstream_bytes", "bytes_served_to_nodes")
    with_mirror = _sum(billed, "billable_manifest_gets")
    without_mirror = _sum(billed, "billable_without_mirror")
    upstream = _sum(traffic, "upstream_bytes")
    served = _sum(traffic, "bytes_served_to_nodes")
    return {
        "upstream_bytes": _sum(checks, "upstream_bytes"),
        "bytes_served_to_nodes": _sum(checks, "bytes_served_to_nodes"),
        "upstream_manifest_gets": _sum(checks, "upstream_manifest_gets"),
        "billable_manifest_gets": _sum(checks, "billable_manifest_gets"),
        "billable_with_mirror": with_mirror,
        "billable_without_mirror": without_mirror,
        "billable_saved": None if not billed else without_mirror - with_mirror,
        "billable_checks": [c.id for c in billed],
        "bytes_saved": None if not traffic else served - upstream,
        "traffic_checks": [c.id for c in traffic],
        "whole_run": whole_run(accounting),
    }


def single_fetch(checks: list[CheckRecord]) -> list[dict]:
    """Per check that counted upstream GETs per blob: the worst blob and how many were measured."""
    found = []
    for check in checks:
        gets = check.figures.get("upstream_blob_gets_per_digest")
        if isinstance(gets, dict):
            counts = [v for v in gets.values() if _number(v) is not None]
        else:
            counts = [gets] if _number(gets) is not None else []
        if counts:
            found.append(
                {
                    "check": check.id,
                    "verdict": check.verdict,
                    "blobs": len(counts),
                    "max_upstream_gets_per_blob": max(counts),
                    "min_upstream_gets_per_blob": min(counts),
                }
            )
    return found


def _per_pull(value: object) -> list[tuple[str | None, float]]:
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items() if _number(v) is not None]
    if isinstance(value, list):
        pulls = []
        for item in value:
            if _number(item) is not None:
                pulls.append((None, item))
            elif isinstance(item, dict):
                count = item.get("upstream_requests", item.get("requests", item.get("count")))
                if _number(count) is not None:
                    pulls.append((str(item["node"]) if item.get("node") else None, count))
        return pulls
    return []


def pull_series(checks: list[CheckRecord]) -> list[dict]:
    """The chart's data: per check, upstream requests (and blob GETs) of each pull in order."""
    series = []
    for check in checks:
        requests = _per_pull(check.figures.get("upstream_requests_per_pull"))
        if not requests:
            continue
        blobs = _per_pull(check.figures.get("upstream_blob_gets_per_pull"))
        pulls = []
        for order, (node, count) in enumerate(requests, start=1):
            blob_gets = blobs[order - 1][1] if len(blobs) == len(requests) else None
            pulls.append(
                {
                    "order": order,
                    "node": node,
                    "upstream_requests": count,
                    "upstream_blob_gets": blob_gets,
                }
            )
        series.append({"check": check.id, "verdict": check.verdict, "pulls": pulls})
    return series


def versions(
    target: Mapping[str, object],
    nodes: list[dict],
    checks: list[CheckRecord],
    tools: Mapping[str, str],
) -> dict:
    registry = target.get("registry_version") or next(
        (c.figures["registry_version"] for c in checks if c.figures.get("registry_version")), None
    )
    return {
        "engine": {n["name"]: n["engine_version"] for n in nodes if n.get("engine_version")},
        "registry": registry or None,
        "tools": dict(tools),
    }


# -- the document ------------------------------------------------------------------


def counts(checks: list[CheckRecord]) -> dict[str, int]:
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
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": generated_at,
        "verdict": EXIT_VERDICTS.get(int(exit_code), "internal_error"),
        "exit_code": int(exit_code),
        "target": target,
        "counts": counts(checks),
        "failed_checks": [c.id for c in checks if c.verdict in FAILING],
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
                "node": _node_of(c, [n["name"] for n in nodes]),
                "verdict": c.verdict,
                "duration_seconds": c.duration,
                "message": c.message,
                "figures": c.figures,
            }
            for c in checks
        ],
        "reports": dict(reports or {}),
    }


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

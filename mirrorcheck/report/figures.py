"""What the checks' figures add up to: the per-node table, the totals, single fetch, the chart.

Pure: each function takes ``CheckRecord``s (``mirrorcheck.report.record``) and
returns plain JSON data for the summary document. Figures are kept with their
check whatever their names; the names in ``WELL_KNOWN_FIGURES`` also get a
place of their own.

Usage::

    rows = node_rows(run.target, run.checks.values())
    rows[0]["warm_pull_seconds"]                  # the slowest warm pull seen on node-1
    totals(list(run.checks.values()))["billable_saved"]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mirrorcheck.report.record import FAILING, CheckRecord, node_dicts


@dataclass(frozen=True)
class WellKnownFigure:
    name: str
    place: str  # node | totals | single_fetch | chart | target
    meaning: str


# The figure names the reports key on; a check records them with ``record_property``.
WELL_KNOWN_FIGURES: tuple[WellKnownFigure, ...] = (
    WellKnownFigure(
        "node", "node", "the node a check ran on (added for checks parametrized by node_name)"
    ),
    WellKnownFigure("mirror_url", "target", "the mirror URL the check used"),
    WellKnownFigure("node_status", "node", "a dict with 'name' and any per-node field below"),
    WellKnownFigure("mirror_configured", "node", "bool: the node's daemon lists the mirror"),
    WellKnownFigure(
        "effective_mirrors", "node", "list: RegistryConfig.Mirrors of the running daemon"
    ),
    WellKnownFigure(
        "daemon_json_verdict", "node", "str: what the daemon.json checks found on this node"
    ),
    WellKnownFigure(
        "effective_mirrors_by_global_job",
        "node",
        "list: the mirrors a swarm global job read from the node's daemon.json",
    ),
    WellKnownFigure("global_job_error", "node", "str: why the global job read nothing there"),
    WellKnownFigure("engine_version", "node", "str: the node's Docker Engine version"),
    WellKnownFigure("image_store", "node", "str: the node's image store, containerd or classic"),
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
        "{node (or the nodes of pulls made at once): upstream requests} in pull order; the "
        "first is the cold pull",
    ),
    WellKnownFigure(
        "upstream_blob_gets_per_pull",
        "chart",
        "{node (or nodes): upstream blob GETs} of each pull, in the same order",
    ),
    WellKnownFigure("registry_version", "target", "the mirror's distribution version"),
)
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
NODE_FIELD_ACCEPTS = {
    "mirror_configured": lambda v: isinstance(v, bool),
    "effective_mirrors": lambda v: isinstance(v, list) and all(isinstance(m, str) for m in v),
    "daemon_json_verdict": lambda v: isinstance(v, str),
    "effective_mirrors_by_global_job": lambda v: (
        isinstance(v, list) and all(isinstance(m, str) for m in v)
    ),
    "global_job_error": lambda v: isinstance(v, str),
    "engine_version": lambda v: isinstance(v, str),
    "image_store": lambda v: isinstance(v, str),
    "startup_error": lambda v: isinstance(v, str),
    "cold_pull_seconds": _is_number,
    "warm_pull_seconds": _is_number,
}


# -- nodes -----------------------------------------------------------------------

_PARAM_ID = re.compile(r"\[(.+)\]$")


def _param_names(check_id: str) -> str:
    match = _PARAM_ID.search(check_id)
    return match.group(1) if match else ""


def node_of(check: CheckRecord, names: Iterable[str]) -> str | None:
    """The node a check ran on: its ``node`` figure, else a node name in its parameter id."""
    if check.node:
        return check.node
    params = _param_names(check.id)
    for name in sorted(names, key=len, reverse=True):
        if params == name or params.startswith(f"{name}-") or params.endswith(f"-{name}"):
            return name
    return None


def _merge_field(row: dict, name: str, value: object) -> None:
    if value is None or not NODE_FIELD_ACCEPTS[name](value):
        return
    current = row.get(name)
    if name in _SLOWEST_WINS and current is not None:
        row[name] = max(current, value)
    else:
        row[name] = value


NOT_REACHED = "not checked: the node could not be used (startup_error says why)"


def _empty_row(name: str) -> dict:
    return {"name": name, **dict.fromkeys(NODE_FIELDS), "checks": {}, "failed_checks": []}


def node_rows(target: Mapping[str, object], checks: Iterable[CheckRecord]) -> list[dict]:
    """One row per node: the target's own account, then what checks recorded about it."""
    checks = list(checks)
    rows: dict[str, dict] = {}

    def row(name: str) -> dict:
        return rows.setdefault(name, _empty_row(name))

    for node in node_dicts(target.get("nodes")):
        for key in NODE_FIELDS:
            _merge_field(row(node["name"]), key, node.get(key))
    for check in checks:
        for status in node_dicts([check.figures.get("node_status")]):
            for key in NODE_FIELDS:
                _merge_field(row(status["name"]), key, status.get(key))
        if check.node:
            row(check.node)
    for check in checks:
        on = node_of(check, rows)
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
            each["daemon_json_verdict"] = (
                # A live node may be down, unreachable or without Docker: nothing says dockerd
                # read the file. A lab node's startup_error is its dockerd's refusal to start.
                NOT_REACHED if target.get("mode") == "live" else "refused by dockerd"
            )
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


def _per_key(value: object) -> list[tuple[str, int | float]]:
    """The numbers of a ``{key: number}`` figure, in recorded order; anything else is none."""
    if not isinstance(value, dict):
        return []
    return [(str(k), v) for k, v in value.items() if _number(v) is not None]


def single_fetch(checks: list[CheckRecord]) -> list[dict]:
    """Per check that counted upstream GETs per blob: the worst blob and how many were measured."""
    found = []
    for check in checks:
        counts = [n for _, n in _per_key(check.figures.get("upstream_blob_gets_per_digest"))]
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


def pull_series(checks: list[CheckRecord]) -> list[dict]:
    """The chart's data: per check, upstream requests (and blob GETs) of each pull in order."""
    series = []
    for check in checks:
        requests = _per_key(check.figures.get("upstream_requests_per_pull"))
        if not requests:
            continue
        blobs = _per_key(check.figures.get("upstream_blob_gets_per_pull"))
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
    """Engine version per node, the registry's version and the tools that ran the checks."""
    registry = target.get("registry_version") or next(
        (c.figures["registry_version"] for c in checks if c.figures.get("registry_version")), None
    )
    return {
        "engine": {n["name"]: n["engine_version"] for n in nodes if n.get("engine_version")},
        "registry": registry or None,
        "tools": dict(tools),
    }

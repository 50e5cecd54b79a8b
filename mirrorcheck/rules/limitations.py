"""What the mirror software cannot do, per distribution version.

The answers come from the tables in ``mirrorcheck.rules.known_limitations``
(known limitations, which ``/debug/vars`` counters can be believed, what a
pull costs upstream), each row with its source; versions are parsed by
``mirrorcheck.rules.registry_version``. Checks ask these functions instead of
hard-coding version conditions.

Usage::

    from mirrorcheck.rules.limitations import (
        limitations_for, max_fetches_per_blob, parse_version, trusted_counters,
        version_from_log,
    )

    version = version_from_log('time="..." level=info msg="listening" version=2.8.2+ds1')
    for limitation in limitations_for(version, "cold-pull-cost"):
        print(limitation.id, "-", limitation.fix)
    max_fetches_per_blob(version)              # 2 (3.x: 1)
    "registry.proxy.blobs.Misses" in trusted_counters(version)   # False on 2.8

Unknown version (``None``, or text that does not parse): the answer is the
conservative one, so that a check never claims more than the worst
deployment can deliver: every limitation that exists in any version applies,
no counter is trusted, and a cold blob may cost the largest known number of
upstream GETs.
"""

from __future__ import annotations

from mirrorcheck.rules.known_limitations import (
    BLOB_COUNTERS,
    CHECK_IDS,
    COLD_PULL_COST,
    CONCURRENT_COLD_PULLS,
    COUNTER_TRUST,
    LIMITATIONS,
    MANIFEST_COUNTERS,
    MIRROR_COUNTERS,
    MIRROR_RESTART_UPSTREAM_DOWN,
    PULL_COSTS,
    SINGLE_FETCH_ACROSS_NODES,
    UPSTREAM_ERROR_STATUS,
    Limitation,
    PullCost,
)
from mirrorcheck.rules.registry_version import (
    RegistryVersion,
    VersionRange,
    parse_version,
    version_from_log,
)

# The names the suites, the verdict and the registry rules take from this module.
__all__ = [
    "BLOB_COUNTERS",
    "CHECK_IDS",
    "COLD_PULL_COST",
    "CONCURRENT_COLD_PULLS",
    "LIMITATIONS",
    "MANIFEST_COUNTERS",
    "MIRROR_COUNTERS",
    "MIRROR_RESTART_UPSTREAM_DOWN",
    "SINGLE_FETCH_ACROSS_NODES",
    "UPSTREAM_ERROR_STATUS",
    "Limitation",
    "PullCost",
    "RegistryVersion",
    "VersionRange",
    "limitations_for",
    "max_fetches_per_blob",
    "parse_version",
    "pull_cost",
    "trusted_counters",
    "version_from_log",
]


def limitations_for(version: str | RegistryVersion | None, check_id: str) -> list[Limitation]:
    """The limitations that weaken ``check_id`` on ``version``.

    An unknown version gets every limitation of any version (conservative).
    """
    if check_id not in CHECK_IDS:
        raise ValueError(f"unknown check id {check_id!r}; known: {', '.join(sorted(CHECK_IDS))}")
    parsed = parse_version(version)
    return [lim for lim in LIMITATIONS if check_id in lim.checks and lim.applies_to(parsed)]


def trusted_counters(version: str | RegistryVersion | None) -> set[str]:
    """Dotted counter names (``registry.proxy.manifests.Misses``) a check may believe.

    An unknown version trusts nothing.
    """
    parsed = parse_version(version)
    if parsed is None:
        return set()
    for row in COUNTER_TRUST:
        if parsed in row.versions:
            return set(row.trusted)
    return set()


def pull_cost(version: str | RegistryVersion | None, *, warm: bool) -> PullCost:
    """Upstream requests for one serial pull by tag; unknown version -> the costliest row."""
    parsed = parse_version(version)
    rows = [row for row in PULL_COSTS if parsed is not None and parsed in row.versions]
    if not rows:
        rows = [max(PULL_COSTS, key=lambda row: row.cold.blob_gets_per_blob)]
    return rows[0].warm if warm else rows[0].cold


def max_fetches_per_blob(version: str | RegistryVersion | None) -> int:
    """Upstream GETs one blob may cost on a cold serial pull: 2 on 2.8, 1 on 3.x."""
    return pull_cost(version, warm=False).blob_gets_per_blob

"""What the mirror software cannot do, per distribution version.

One table of known limitations, one table of which ``/debug/vars`` counters
can be believed, one table of what a pull costs upstream. Checks ask these
tables instead of hard-coding version conditions.

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

import json
import re
from dataclasses import dataclass, field
from functools import total_ordering

# Check ids used across the suites; a limitation names the checks it weakens.
COLD_PULL_COST = "cold-pull-cost"
CONCURRENT_COLD_PULLS = "concurrent-cold-pulls"
SINGLE_FETCH_ACROSS_NODES = "single-fetch-across-nodes"
MIRROR_RESTART_UPSTREAM_DOWN = "mirror-restart-upstream-down"
MIRROR_COUNTERS = "mirror-counters"

CHECK_IDS = frozenset(
    {
        COLD_PULL_COST,
        CONCURRENT_COLD_PULLS,
        SINGLE_FETCH_ACROSS_NODES,
        MIRROR_RESTART_UPSTREAM_DOWN,
        MIRROR_COUNTERS,
    }
)

UPSTREAM = "distribution/distribution"


# --------------------------------------------------------------------------- versions


_VERSION_RE = re.compile(
    r"""^\s*v?
    (?P<major>\d+)
    (?:\.(?P<minor>\d+))?
    (?:\.(?P<patch>\d+))?
    (?:-(?P<pre>[0-9A-Za-z.-]+))?
    (?:\+(?P<build>[0-9A-Za-z.~-]+))?
    \s*$""",
    re.VERBOSE,
)


def _prerelease_key(pre: tuple[str, ...]) -> tuple:
    # Semver ordering: a release sorts after its pre-releases; numeric
    # identifiers compare as numbers and before alphanumeric ones.
    if not pre:
        return (1,)
    return (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre))


@total_ordering
@dataclass(frozen=True)
class RegistryVersion:
    """A distribution version: ``2.8.2+ds1``, ``v3.0.0``, ``3.0.0-rc.1``, ``2.8``.

    Missing minor/patch parts read as 0. Build metadata (``+ds1``, a Debian
    packaging suffix) is kept in ``text`` but ignored when comparing.
    """

    major: int
    minor: int = 0
    patch: int = 0
    prerelease: tuple[str, ...] = ()
    text: str = field(default="", compare=False)

    def _key(self) -> tuple:
        return (self.major, self.minor, self.patch, _prerelease_key(self.prerelease))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, RegistryVersion):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RegistryVersion):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text or f"{self.major}.{self.minor}.{self.patch}"


def parse_version(text: str | RegistryVersion | None) -> RegistryVersion | None:
    """``"2.8.2+ds1"`` -> RegistryVersion(2, 8, 2); ``None`` when it is not a version.

    >>> parse_version("v3.0.0") > parse_version("2.8.2+ds1")
    True
    """
    if text is None or isinstance(text, RegistryVersion):
        return text
    match = _VERSION_RE.match(str(text))
    if not match:
        return None
    pre = match.group("pre")
    return RegistryVersion(
        major=int(match.group("major")),
        minor=int(match.group("minor") or 0),
        patch=int(match.group("patch") or 0),
        prerelease=tuple(pre.split(".")) if pre else (),
        text=str(text).strip(),
    )


# ``version=2.8.2+ds1`` in logfmt lines; ``go.version=go1.19`` must not match.
_LOGFMT_VERSION_RE = re.compile(r'(?<![\w.])version="?(v?\d+\.\d+[^\s",]*)')
# ``registry github.com/docker/distribution v2.8.3`` from ``registry --version``.
_CLI_VERSION_RE = re.compile(r"\bdistribution(?:/v\d+)?\s+(v?\d+\.\d+\S*)")


def version_from_log(text: str) -> RegistryVersion | None:
    """The registry's own version from its start-up log or ``--version`` output.

    Accepts logfmt lines (``... service=registry version=2.8.2+ds1``), JSON
    lines (``{"go.version": "go1.19", ..., "version": "2.8.2+ds1"}``) and
    ``registry --version`` output. The first version found wins; ``None``
    when the text names none.
    """
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                record = json.loads(stripped)
            except ValueError:
                record = None
            if isinstance(record, dict) and isinstance(record.get("version"), str):
                version = parse_version(record["version"])
                if version is not None:
                    return version
                continue
        for pattern in (_LOGFMT_VERSION_RE, _CLI_VERSION_RE):
            match = pattern.search(line)
            if match:
                version = parse_version(match.group(1))
                if version is not None:
                    return version
    return None


@dataclass(frozen=True)
class VersionRange:
    """``since <= version < until``; ``None`` bounds are open."""

    since: RegistryVersion | None = None
    until: RegistryVersion | None = None

    def __contains__(self, version: RegistryVersion) -> bool:
        above = self.since is None or version >= self.since
        below = self.until is None or version < self.until
        return above and below

    def __str__(self) -> str:
        low = f">= {self.since}" if self.since else ""
        high = f"< {self.until}" if self.until else ""
        return ", ".join(p for p in (low, high) if p) or "all versions"


def _range(since: str | None = None, until: str | None = None) -> VersionRange:
    return VersionRange(parse_version(since), parse_version(until))


# "avoid redundant blob fetching" (17952924f, PR #3569) and "Fix proxy
# statistics" (bf933f546, PR #4045) are both first tagged in v3.0.0-alpha.1.
V3 = "3.0.0-alpha.1"


# --------------------------------------------------------------------------- limitations


@dataclass(frozen=True)
class Limitation:
    """One known limitation of the mirror software."""

    id: str
    versions: VersionRange
    behaviour: str
    checks: frozenset[str]
    source: str
    fix: str
    evidence: str = ""

    def applies_to(self, version: RegistryVersion | None) -> bool:
        """True for versions in range; True for an unknown version (conservative)."""
        return version is None or version in self.versions


LIMITATIONS: tuple[Limitation, ...] = (
    Limitation(
        id="double-blob-fetch",
        versions=_range(until=V3),
        behaviour=(
            "a cold blob is streamed to the client from upstream while a separate "
            "goroutine downloads it again to store it: one cold pull costs up to two "
            "upstream GETs per blob"
        ),
        checks=frozenset({COLD_PULL_COST, CONCURRENT_COLD_PULLS}),
        source=(
            f"{UPSTREAM} registry/proxy/proxyblobstore.go at v2.8.2 (ServeBlob starts "
            "storeLocal in a goroutine, then copyContent to the client); fixed by commit "
            "17952924f 'avoid redundant blob fetching' (PR #3569), first in v3.0.0-alpha.1"
        ),
        fix="upgrade to distribution 3 (image registry:3); on 2.8 budget two GETs per cold blob",
        evidence="measured on 2.8.2: 2 GET + 1 HEAD per blob on a single cold pull",
    ),
    Limitation(
        id="unshared-concurrent-fetches",
        versions=_range(),
        behaviour=(
            "the in-flight map only marks the first downloader of a blob; concurrent "
            "requests for the same uncached blob copy it from upstream themselves, so N "
            "nodes pulling a cold image at once cost up to N upstream fetches per blob"
        ),
        checks=frozenset({CONCURRENT_COLD_PULLS}),
        source=(
            f"{UPSTREAM} registry/proxy/proxyblobstore.go (inflight map, every version); "
            "docs/content/recipes/mirror.md: 'Note that concurrent inflight pulls will "
            "make multiple requests.' (from v3.1.0)"
        ),
        fix=(
            "warm the mirror with one pull before many nodes pull the same image; no "
            "released version shares an in-flight download"
        ),
        evidence="measured on 2.8.2: 3 nodes at once, 2-6 GETs per blob over 6 runs",
    ),
    Limitation(
        id="panic-at-start-upstream-unreachable",
        versions=_range(),
        behaviour=(
            "in proxy mode the registry GETs <remoteurl>/v2/ while starting to discover "
            "the token realm and panics when the connection fails (refused, DNS): a "
            "mirror restarted during an upstream outage serves nothing, not even cached "
            "images"
        ),
        checks=frozenset({MIRROR_RESTART_UPSTREAM_DOWN}),
        source=(
            f"{UPSTREAM} registry/proxy/proxyauth.go getAuthURLs, called from "
            "configureAuth in NewRegistryPullThroughCache (v2.8.2, v3.0.0, v3.1.x); "
            "registry/handlers/app.go panics on its error"
        ),
        fix=(
            "give the service a restart policy that keeps retrying (swarm deploy."
            "restart_policy without max_attempts) so it comes back with upstream; on "
            "3.x a proxy.exec credential helper skips the start-up request"
        ),
        evidence=(
            "measured on 2.8.2 (exit 2, 'panic: Get \"http://upstream:5000/v2/\"'); "
            "3.x from the source only, not measured"
        ),
    ),
    Limitation(
        id="blob-counters-wrong",
        versions=_range(until=V3),
        behaviour=(
            "registry.proxy.blobs counts every copy as a hit: cold fetches show as Hits, "
            "Misses and BytesPulled stay 0, Requests and BytesPushed also count the "
            "second copy written to storage"
        ),
        checks=frozenset({MIRROR_COUNTERS}),
        source=(
            f"{UPSTREAM} registry/proxy/proxymetrics.go and proxyblobstore.go at v2.8.2 "
            "(BlobPull is never called); fixed by 'Fix proxy statistics' (PR #4045), "
            "first in v3.0.0-alpha.1"
        ),
        fix=(
            "count blob fetches in upstream's access log (or upgrade to distribution 3); "
            "the manifest counters are right"
        ),
        evidence=(
            "measured on 2.8.2: four cold blobs read Requests 8, Hits 8, Misses 0, BytesPulled 0"
        ),
    ),
    Limitation(
        id="manifest-hits-count-misses",
        versions=_range(until=V3),
        behaviour=(
            "registry.proxy.manifests.Hits rises on every manifest served, fetched from "
            "upstream or not; Requests, Misses and BytesPulled are right"
        ),
        checks=frozenset({MIRROR_COUNTERS}),
        source=(
            f"{UPSTREAM} registry/proxy/proxymanifeststore.go at v2.8.2 (ManifestPush "
            "before the fromRemote test); fixed by PR #4045, first in v3.0.0-alpha.1"
        ),
        fix="derive manifest hits as Requests - Misses, or upgrade to distribution 3",
        evidence="source reading; the measured cold pull showed Requests 1, Misses 1",
    ),
)


def limitations_for(version: str | RegistryVersion | None, check_id: str) -> list[Limitation]:
    """The limitations that weaken ``check_id`` on ``version``.

    An unknown version gets every limitation of any version (conservative).
    """
    if check_id not in CHECK_IDS:
        raise ValueError(f"unknown check id {check_id!r}; known: {', '.join(sorted(CHECK_IDS))}")
    parsed = parse_version(version)
    return [lim for lim in LIMITATIONS if check_id in lim.checks and lim.applies_to(parsed)]


# --------------------------------------------------------------------------- counters

COUNTER_FIELDS = ("Requests", "Hits", "Misses", "BytesPulled", "BytesPushed")
BLOB_COUNTERS = "registry.proxy.blobs"
MANIFEST_COUNTERS = "registry.proxy.manifests"


def _counters(group: str, *fields: str) -> frozenset[str]:
    return frozenset(f"{group}.{name}" for name in fields)


@dataclass(frozen=True)
class CounterTrust:
    """The expvar counters (``/debug/vars``) that agree with upstream on these versions."""

    versions: VersionRange
    trusted: frozenset[str]
    source: str


COUNTER_TRUST: tuple[CounterTrust, ...] = (
    CounterTrust(
        versions=_range(until=V3),
        trusted=_counters(MANIFEST_COUNTERS, "Requests", "Misses", "BytesPulled"),
        source=(
            "measured on 2.8.2 against upstream's access log (FINDINGS.md); blob "
            "counters and manifest Hits are wrong by the v2.8.2 source"
        ),
    ),
    CounterTrust(
        versions=_range(since=V3),
        trusted=_counters(BLOB_COUNTERS, *COUNTER_FIELDS)
        | _counters(MANIFEST_COUNTERS, *COUNTER_FIELDS),
        source=(
            f"{UPSTREAM} registry/proxy/proxymetrics.go after 'Fix proxy statistics' "
            "(PR #4045): Misses and BytesPulled per upstream copy, Hits only for local "
            "content; from the source, not yet measured here"
        ),
    ),
)


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


# --------------------------------------------------------------------------- pull cost


@dataclass(frozen=True)
class PullCost:
    """What one pull by tag through the mirror asks upstream, at most.

    ``manifest_gets`` is per manifest in the image (an index and the platform
    manifest are two); ``blob_gets_per_blob`` is for a serial pull, with no
    other client fetching the same blob at the same time.
    """

    tag_heads: int
    manifest_gets: int
    blob_gets_per_blob: int
    source: str


@dataclass(frozen=True)
class PullCostRow:
    versions: VersionRange
    cold: PullCost
    warm: PullCost


_TAG_SOURCE = (
    f"{UPSTREAM} registry/proxy/proxytagservice.go: every pull by tag asks upstream "
    "(HEAD, GET only if HEAD fails)"
)
_WARM = PullCost(
    tag_heads=1,
    manifest_gets=0,
    blob_gets_per_blob=0,
    source=_TAG_SOURCE + "; measured on 2.8.2: second node, same tag: 1 HEAD by tag, no blobs",
)

PULL_COSTS: tuple[PullCostRow, ...] = (
    PullCostRow(
        versions=_range(until=V3),
        cold=PullCost(
            tag_heads=1,
            manifest_gets=1,
            blob_gets_per_blob=2,
            source="measured on 2.8.2: 1 HEAD + 1 GET by tag, 2 GET + 1 HEAD per blob",
        ),
        warm=_WARM,
    ),
    PullCostRow(
        versions=_range(since=V3),
        cold=PullCost(
            tag_heads=1,
            manifest_gets=1,
            blob_gets_per_blob=1,
            source=(
                f"{UPSTREAM} registry/proxy/proxyblobstore.go at v3.0.0: one upstream copy "
                "feeds the client and storage (io.MultiWriter)"
            ),
        ),
        warm=_WARM,
    ),
)


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

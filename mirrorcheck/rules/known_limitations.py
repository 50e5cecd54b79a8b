"""The known limitations of the mirror software, per distribution version, as data.

Three tables, each row with its source: ``LIMITATIONS`` (what a version cannot
do, and which checks that weakens), ``COUNTER_TRUST`` (which ``/debug/vars``
counters agree with upstream), ``PULL_COSTS`` (what a pull asks upstream at
most). ``mirrorcheck.rules.limitations`` answers questions from them; a new
finding about a version is one row here.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirrorcheck.rules.registry_version import RegistryVersion, VersionRange, version_range

# Check ids used across the suites; a limitation names the checks it weakens.
COLD_PULL_COST = "cold-pull-cost"
CONCURRENT_COLD_PULLS = "concurrent-cold-pulls"
SINGLE_FETCH_ACROSS_NODES = "single-fetch-across-nodes"
MIRROR_RESTART_UPSTREAM_DOWN = "mirror-restart-upstream-down"
MIRROR_COUNTERS = "mirror-counters"
UPSTREAM_ERROR_STATUS = "upstream-error-status"

CHECK_IDS = frozenset(
    {
        UPSTREAM_ERROR_STATUS,
        COLD_PULL_COST,
        CONCURRENT_COLD_PULLS,
        SINGLE_FETCH_ACROSS_NODES,
        MIRROR_RESTART_UPSTREAM_DOWN,
        MIRROR_COUNTERS,
    }
)

UPSTREAM = "distribution/distribution"


# "avoid redundant blob fetching" (17952924f, PR #3569) and "Fix proxy
# statistics" (bf933f546, PR #4045) are both first tagged in v3.0.0-alpha.1.
V3 = "3.0.0-alpha.1"
# "pass thru upstream error code" (652f98177, PR #4917) is on main after v3.1.1
# and in no tag up to v3.1.1: the first release after 3.1.1 is the first without it.
AFTER_3_1_1 = "3.1.2"


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
        versions=version_range(until=V3),
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
        versions=version_range(),
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
        versions=version_range(),
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
            "registry/handlers/app.go panics on its error (still so on main after "
            "v3.1.1); distribution#4038, open"
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
        id="upstream-errors-as-500",
        versions=version_range(until=AFTER_3_1_1),
        behaviour=(
            "an upstream 401, 403 or 429 (Docker Hub's rate limit) reaches the client as "
            "500 'unknown error' ('error parsing HTTP 429 response body'): nodes cannot "
            "tell a rate limit or a refused credential from a broken mirror"
        ),
        checks=frozenset({UPSTREAM_ERROR_STATUS}),
        source=(
            f"{UPSTREAM} issue #3270 (proxy returns 500 on upstream 429, since 2020); fixed "
            "by 652f98177 'pass thru upstream error code' (PR #4917, registry/handlers/"
            "helpers.go), merged after v3.1.1 and in no release up to v3.1.1"
        ),
        fix=(
            "read the mirror's log for 'error parsing HTTP 429 response body' when nodes "
            "see 500s; give proxy.username/password to raise Docker Hub's limit"
        ),
        evidence="source reading; not measured here",
    ),
    Limitation(
        id="blob-counters-wrong",
        versions=version_range(until=V3),
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
        versions=version_range(until=V3),
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
        versions=version_range(until=V3),
        trusted=_counters(MANIFEST_COUNTERS, "Requests", "Misses", "BytesPulled"),
        source=(
            "measured on 2.8.2 against upstream's access log (FINDINGS.md); blob "
            "counters and manifest Hits are wrong by the v2.8.2 source"
        ),
    ),
    CounterTrust(
        versions=version_range(since=V3),
        trusted=_counters(BLOB_COUNTERS, *COUNTER_FIELDS)
        | _counters(MANIFEST_COUNTERS, *COUNTER_FIELDS),
        source=(
            f"{UPSTREAM} registry/proxy/proxymetrics.go after 'Fix proxy statistics' "
            "(PR #4045): Misses and BytesPulled per upstream copy, Hits only for local "
            "content; from the source, not yet measured here"
        ),
    ),
)


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
        versions=version_range(until=V3),
        cold=PullCost(
            tag_heads=1,
            manifest_gets=1,
            blob_gets_per_blob=2,
            source="measured on 2.8.2: 1 HEAD + 1 GET by tag, 2 GET + 1 HEAD per blob",
        ),
        warm=_WARM,
    ),
    PullCostRow(
        versions=version_range(since=V3),
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

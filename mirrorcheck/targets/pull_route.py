"""Which way a pull of the probe image went: the judgement on recorded evidence.

Pure: ``ObservedPull`` holds what was observed around one pull (made by
``mirrorcheck.targets.probe_pulls``) and ``route`` judges it, asking nothing
of anyone. A pull went through the mirror only on positive evidence for its
manifest AND for the blobs the node had to fetch; see ``probe_pulls`` for the
kinds of evidence and the signs of a bypass. The absence of a fallback line in
the daemon's log is never a proof.

Usage::

    route = observed.route("https://mirror.example.com")
    route.proven                   # True only on positive evidence, no sign of a bypass
    route.bypassed, route.proofs, route.unproven
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mirrorcheck.probes.access_log import BLOB, MANIFEST_BY_DIGEST, MANIFEST_BY_TAG, Traffic
from mirrorcheck.probes.registry_api import RegistryJudgement
from mirrorcheck.targets.evidence import BLOB_REQUESTS, MANIFEST_MISSES, MANIFEST_REQUESTS
from mirrorcheck.targets.live.access_log import ClientSigns, client_signs
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH, PullResult
from mirrorcheck.versions import FALLBACK_WORDS

# dockerd logs fallbacks at info level: a daemon set to log less shows none of them.
QUIET_LOG_LEVELS = frozenset({"warn", "warning", "error", "fatal", "panic"})


def mirror_entry(mirror_url: str) -> str:
    """The mirror as ``docker info`` lists it: normalised with a trailing slash."""
    return mirror_url.rstrip("/") + "/"


@dataclass(frozen=True)
class PullRoute:
    """Which way a pull went, by the evidence: signs of a bypass, proofs, what stayed unknown.

    ``proven``: no sign of a bypass, and positive evidence for the manifest and
    for the blobs the node had to fetch.
    """

    bypassed: list[str]
    proofs: list[str]
    unproven: list[str]
    proven: bool = False


def _answered(status: int) -> bool:
    """2xx, or a redirect to the blob's storage (distribution's redirect middleware)."""
    return 200 <= status < 400


@dataclass
class ObservedPull:
    """One pull of the probe image on one node, with what the mirror and the node showed."""

    node: str
    reference: str
    result: PullResult
    node_had_image: bool
    mirrors: list[str]
    trusted: set[str]
    deltas: dict[str, int] | None = None
    counters_problem: str = ""  # no counters: why (an option would enable them)
    counters_error: str = ""  # counters were asked for and did not answer
    fallbacks: list[str] = field(default_factory=list)
    log_problem: str = ""
    log_level: str = ""
    repository: str = ""
    registry: RegistryJudgement | None = None  # the mirror, judged by registry_api
    digest_problem: str = ""  # the mirror answered, and not with the digest the node got
    blobs: list[str] | None = None  # config and layer digests of what the node got
    blobs_problem: str = ""  # why ``blobs`` is unknown
    blob_counters_problem: str = ""  # why the blob counters cannot show the blobs
    served: Traffic | None = None  # the access log's requests for the repository in the pull
    access_log: str = ""  # where ``served`` comes from; "" when no access log was given
    notes: list[str] = field(default_factory=list)  # evidence that could not be gathered
    # Pulls made at once (``ProbePulls.pull_each``): every node of the group (this one
    # among them) and the counters' change over the group's pulls together.
    together: tuple[str, ...] = ()
    together_deltas: dict[str, int] | None = None

    def delta(self, name: str) -> int | None:
        """The counter's change over the pull, when read and trusted."""
        if self.deltas is None or name not in self.trusted:
            return None
        return self.deltas.get(name)

    def delta_together(self, name: str) -> int | None:
        """The counter's change over the pulls made at once with this one, when read and
        trusted; None for a pull made alone (``delta``)."""
        if not self.together or self.together_deltas is None or name not in self.trusted:
            return None
        return self.together_deltas.get(name)

    @property
    def billable(self) -> int | None:
        """Manifest GETs the mirror sent upstream for this pull: what Docker Hub bills."""
        return self.delta(MANIFEST_MISSES)

    @property
    def client(self) -> ClientSigns | None:
        """The engine and image store the access log shows for this pull; None without a log."""
        return None if self.served is None else client_signs(self.served)

    @property
    def mirror_was_cold(self) -> bool | None:
        misses = self.delta(MANIFEST_MISSES)
        return None if misses is None else misses > 0

    def _manifest_evidence(self, bypassed: list[str], unproven: list[str]) -> str:
        proof = ""
        requests = self.delta(MANIFEST_REQUESTS)
        if requests is None:
            unproven.append(self.counters_problem or self.counters_error)
        elif requests == 0:
            bypassed.append(f"the mirror's manifest counters did not move ({MANIFEST_REQUESTS} +0)")
        else:
            proof = f"{MANIFEST_REQUESTS} +{requests}"
        if self.served is not None:
            asked = [
                r
                for r in self.served.requests
                if r.kind in (MANIFEST_BY_TAG, MANIFEST_BY_DIGEST) and _answered(r.status)
            ]
            if asked:
                proof = proof or f"{self.access_log}: {asked[0].method} {asked[0].path}"
            else:
                bypassed.append(
                    f"{self.access_log} shows no manifest of {self.repository} served during "
                    f"{self.node}'s pull"
                )
        return proof

    def _blob_evidence(self, bypassed: list[str], unproven: list[str]) -> str:
        if not self.result.ok:
            return ""
        if self.node_had_image:
            return f"{self.node} held {self.reference} before the pull: no blob to fetch"
        if self.blobs is None:
            unproven.append(
                f"the blobs of {self.reference} are unknown: {self.blobs_problem}"
                if self.blobs_problem
                else self._no_blob_evidence()
            )
            return ""
        proof, need = "", len(self.blobs)
        counted = self.delta(BLOB_REQUESTS)
        if counted is not None and counted < need:
            bypassed.append(
                f"the mirror served at most {counted} of the {need} blobs of {self.reference} "
                f"({BLOB_REQUESTS} +{counted})"
            )
        elif counted is not None:
            proof = f"{BLOB_REQUESTS} +{counted} for {need} blobs"
        if self.served is not None:
            got = {
                r.reference
                for r in self.served.requests
                if r.kind == BLOB and r.method == "GET" and _answered(r.status)
            }
            missing = [d for d in self.blobs if d not in got]
            if missing:
                bypassed.append(
                    f"{self.access_log} shows no GET of {len(missing)} of the {need} blobs of "
                    f"{self.reference} during {self.node}'s pull: {', '.join(missing[:3])}"
                )
            else:
                proof = proof or f"{self.access_log}: a GET of each of the {need} blobs"
        if not proof and counted is None and self.served is None:
            unproven.append(self._no_blob_evidence())
        return proof

    def _no_blob_evidence(self) -> str:
        return (
            f"nothing shows where {self.node} got the blobs of {self.reference}: "
            f"{self.blob_counters_problem or 'the blob counters were not read'}; and no access "
            "log of the mirror was given"
        )

    def route(self, mirror_url: str) -> PullRoute:
        """The judgement on the recorded evidence (pure: no request is made here)."""
        entry = mirror_entry(mirror_url)
        bypassed: list[str] = []
        unproven: list[str] = []
        listed = entry in self.mirrors
        if not listed:
            bypassed.append(
                f"its running dockerd does not list {entry} among its mirrors "
                f"(docker info RegistryConfig.Mirrors: {self.mirrors or 'none'})"
            )
        if self.fallbacks:
            bypassed.append(
                "its daemon log shows the fallback past the mirror: " + self.fallbacks[0][-400:]
            )
        if self.registry is not None and self.registry.unanswered:
            unproven.append(self.registry.describe())
        elif self.registry is not None and not self.registry.is_registry:
            bypassed.append(self.registry.describe())
        if self.digest_problem:
            bypassed.append(self.digest_problem)
        manifest = self._manifest_evidence(bypassed, unproven)
        blobs = self._blob_evidence(bypassed, unproven)
        if self.log_problem:
            unproven.append(self.log_problem)
        elif self.log_level in QUIET_LOG_LEVELS:
            unproven.append(
                f"{self.node}'s dockerd logs at level {self.log_level!r}, which hides the "
                f"{FALLBACK_WORDS} lines (info): set log-level info in {DAEMON_JSON_PATH} "
                "to see them"
            )
        unproven.extend(self.notes)
        proofs = [p for p in (manifest, blobs) if p]
        proven = bool(manifest and blobs and not bypassed)
        return PullRoute(bypassed, proofs, [u for u in unproven if u], proven)

    def figures(self) -> dict[str, object]:
        """What reports record of this pull (JSON-ready)."""
        return {
            "node": self.node,
            "image": self.reference,
            "ok": self.result.ok,
            "seconds": round(self.result.seconds, 3),
            "digest": self.result.digest,
            "node_had_image": self.node_had_image,
            "mirror_was_cold": self.mirror_was_cold,
            "counter_deltas": self.deltas,
            "pulled_at_once_with": list(self.together),
            "counter_deltas_together": self.together_deltas,
            "billable_manifest_gets": self.billable,
            "fallbacks": len(self.fallbacks),
            "blobs": len(self.blobs) if self.blobs is not None else None,
            "mirror_judged": self.registry.describe() if self.registry else None,
            "served_by_access_log": (
                self.served.by_method_and_kind() if self.served is not None else None
            ),
            "access_log_client": self.client.figures() if self.client is not None else None,
        }

"""Pulls of the probe image, observed from the mirror's side, within a pull budget.

Live checks make nodes pull ``--probe-image`` (a small Docker Hub image)
through the mirror and judge each pull by what the mirror and the node show:
the mirror's manifest counters before and after, the node's daemon log since
the pull (``Attempting next endpoint`` means the daemon fell back past the
mirror), and the mirrors the running daemon lists. Whether a node's first
pull is cold or warm cannot be known beforehand; each pull records what it was.

Every pull counts against ``--max-pulls`` (default: one cold and one warm
pull per node), which caps what a run costs against Docker Hub's limits; a
check that would go over it is told so (``PullBudgetExhausted``) and skips.
Manifest fetches from upstream (``registry.proxy.manifests.Misses``, trusted
from 2.8 on) are the requests Docker Hub bills: each pull records them.

The hermetic lab gets the same treatment: a synthetic image under the probe
image's name is pushed to its upstream, so the same checks run in both modes.

Usage::

    from mirrorcheck.targets.probe_pulls import PullBudgetExhausted

    probe = deployment.probe_pulls()
    observed = probe.pull(node)             # PullBudgetExhausted when over --max-pulls
    route = observed.route(deployment.mirror_url)
    route.bypassed, route.proofs, route.unproven
    probe.billable_total()                  # manifest GETs upstream, when trusted
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from mirrorcheck.probes.mirror_metrics import MetricsError
from mirrorcheck.rules.image_reference import ImageReference
from mirrorcheck.targets.evidence import (
    MANIFEST_MISSES,
    MANIFEST_REQUESTS,
    EvidenceUnavailable,
    MirrorEvidence,
)
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH, Node, NodeError, PullResult

FALLBACK = "Attempting next endpoint"
PULL_TIMEOUT = 300.0
# dockerd logs fallbacks at info level: a daemon set to log less shows none of them.
QUIET_LOG_LEVELS = frozenset({"warn", "warning", "error", "fatal", "panic"})


class PullBudgetExhausted(Exception):
    """A pull would go over --max-pulls; the message says what was spent and how to allow more."""


@dataclass
class PullBudget:
    """At most ``limit`` pulls (None: no limit); ``spent`` names each one."""

    limit: int | None
    spent: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, what: str) -> None:
        with self._lock:
            if self.limit is not None and len(self.spent) >= self.limit:
                raise PullBudgetExhausted(
                    f"the pull budget (--max-pulls {self.limit}) is spent: "
                    f"{'; '.join(self.spent)}. "
                    f"This check would pull {what}. Fix: raise --max-pulls if Docker Hub's "
                    "limits allow it"
                )
            self.spent.append(what)


def mirror_entry(mirror_url: str) -> str:
    """The mirror as ``docker info`` lists it: normalised with a trailing slash."""
    return mirror_url.rstrip("/") + "/"


@dataclass(frozen=True)
class PullRoute:
    """Which way a pull went, by the evidence: signs of a bypass, proofs, what stayed unknown."""

    bypassed: list[str]
    proofs: list[str]
    unproven: list[str]


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

    def delta(self, name: str) -> int | None:
        """The counter's change over the pull, when read and trusted."""
        if self.deltas is None or name not in self.trusted:
            return None
        return self.deltas.get(name)

    @property
    def billable(self) -> int | None:
        """Manifest GETs the mirror sent upstream for this pull: what Docker Hub bills."""
        return self.delta(MANIFEST_MISSES)

    @property
    def mirror_was_cold(self) -> bool | None:
        misses = self.delta(MANIFEST_MISSES)
        return None if misses is None else misses > 0

    def route(self, mirror_url: str) -> PullRoute:
        entry = mirror_entry(mirror_url)
        bypassed, proofs, unproven = [], [], []
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
        requests = self.delta(MANIFEST_REQUESTS)
        if requests is None:
            unproven.append(self.counters_problem or self.counters_error)
        elif requests == 0:
            bypassed.append(f"the mirror's manifest counters did not move ({MANIFEST_REQUESTS} +0)")
        else:
            proofs.append(f"{MANIFEST_REQUESTS} +{requests}")
        if self.log_problem:
            unproven.append(self.log_problem)
        elif self.log_level in QUIET_LOG_LEVELS:
            unproven.append(
                f"{self.node}'s dockerd logs at level {self.log_level!r}, which hides the "
                f"'{FALLBACK}' lines (info): set log-level info in {DAEMON_JSON_PATH} to prove it"
            )
        elif listed and self.result.ok and not self.fallbacks:
            proofs.append(f"no '{FALLBACK}' in {self.node}'s daemon log since the pull")
        return PullRoute(bypassed, proofs, [u for u in unproven if u])

    def figures(self) -> dict[str, object]:
        return {
            "node": self.node,
            "image": self.reference,
            "ok": self.result.ok,
            "seconds": round(self.result.seconds, 3),
            "digest": self.result.digest,
            "node_had_image": self.node_had_image,
            "mirror_was_cold": self.mirror_was_cold,
            "counter_deltas": self.deltas,
            "billable_manifest_gets": self.billable,
            "fallbacks": len(self.fallbacks),
        }


def _node_clock(node: Node) -> float | None:
    """The node's own time, so that its log is read from the pull on, whatever the clock skew."""
    result = node.run("date", "+%s.%N", timeout=10)
    try:
        return float(result.output.strip().replace(".%N", ""))
    except ValueError:
        return None


def _log_level(node: Node) -> str:
    try:
        document = json.loads(node.read_file(DAEMON_JSON_PATH).decode("utf-8-sig"))
    except (NodeError, ValueError):
        return ""
    return str(document.get("log-level") or "") if isinstance(document, dict) else ""


class ProbePulls:
    """The run's pulls of the probe image: made within the budget, kept for later checks."""

    def __init__(
        self,
        image: ImageReference,
        evidence: Callable[[], MirrorEvidence],
        mirror_url: str,
        budget: PullBudget,
        pull_reference: str | None = None,
    ) -> None:
        self.image = image
        self.evidence = evidence
        self.mirror_url = mirror_url
        self.budget = budget
        self.reference = pull_reference or image.text
        self.pulls: list[ObservedPull] = []
        self._lock = threading.Lock()

    def _counters(self, evidence: MirrorEvidence) -> tuple[object | None, str, str]:
        try:
            return evidence.counters(), "", ""
        except EvidenceUnavailable as missing:
            return None, str(missing), ""
        except MetricsError as error:
            return None, "", f"the mirror's debug server: {error}"

    def pull(self, node: Node) -> ObservedPull:
        """Pull the probe image on ``node`` once, observing the mirror around it."""
        self.budget.take(f"{self.reference} on {node.name}")
        with self._lock:  # counters are global to the mirror: one observed pull at a time
            evidence = self.evidence()
            had = node.has_image(self.reference)
            try:
                mirrors = node.effective_mirrors()
            except (NodeError, ValueError):
                mirrors = []
            since = _node_clock(node)
            before, problem, error = self._counters(evidence)
            result = node.pull(self.reference, timeout=PULL_TIMEOUT)
            after, problem_after, error_after = self._counters(evidence)
            observed = ObservedPull(
                node=node.name,
                reference=self.reference,
                result=result,
                node_had_image=had,
                mirrors=mirrors,
                trusted=evidence.trusted(),
                counters_problem=problem or problem_after,
                counters_error=error or error_after,
                log_level=_log_level(node),
            )
            if before is not None and after is not None:
                observed.deltas = after.minus(before)
            try:
                log = node.daemon_log(since=since)
                observed.fallbacks = [line for line in log.splitlines() if FALLBACK in line]
            except NodeError as failure:
                observed.log_problem = str(failure)
            self.pulls.append(observed)
            return observed

    def served(self) -> ObservedPull | None:
        """The first pull the mirror is shown to have served (no sign of a bypass)."""
        for observed in self.pulls:
            route = observed.route(self.mirror_url)
            if observed.result.ok and route.proofs and not route.bypassed:
                return observed
        return None

    def billable_total(self) -> int | None:
        """Manifest GETs upstream over every pull, when each pull's counters were trusted."""
        counts = [p.billable for p in self.pulls]
        if not counts or any(c is None for c in counts):
            return None
        return sum(c for c in counts if c is not None)

    def describe(self) -> dict[str, object]:
        return {
            "probe_image": self.reference,
            "pulls": len(self.pulls),
            "max_pulls": self.budget.limit,
            "billable_manifest_gets": self.billable_total(),
        }

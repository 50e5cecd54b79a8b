"""Pulls of the probe image, observed from the mirror's side, within a pull budget.

Live checks make nodes pull ``--probe-image`` (a small Docker Hub image)
through the mirror and judge each pull by what the mirror shows. A pull went
through the mirror only on positive evidence, for its manifest AND its blobs:

- manifest: the mirror's trusted manifest counters moved
  (``registry.proxy.manifests.Requests``), or its access log shows the manifest
  request;
- blobs (when the node did not hold the image already): the trusted blob
  counters moved by at least the number of blobs, or the access log shows a GET
  of every blob of the pulled digest.

Signs of a bypass fail a pull whatever else is shown: the running daemon does
not list the mirror; its log shows ``Attempting next endpoint`` (the fallback
past the mirror); a trusted counter or the access log did not move; the mirror
does not behave like a registry (``registry_api.judge_registry``) or cannot
serve the manifest digest the node got. The absence of a fallback line proves
nothing (a daemon log can be empty, or set to a level that hides it). Whether a
node's first pull is cold or warm cannot be known beforehand; each pull records
what it was.

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
    probe.pull_each(nodes)                  # {name: ObservedPull}: the first alone, then at once
    route = observed.route(deployment.mirror_url)
    route.bypassed, route.proven, route.proofs, route.unproven
    probe.billable_total()                  # manifest GETs upstream, when trusted
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from mirrorcheck.at_once import at_once, side_by_side
from mirrorcheck.probes.mirror_metrics import MetricsError
from mirrorcheck.probes.registry_api import RegistryJudgement
from mirrorcheck.rules.image_reference import ImageReference
from mirrorcheck.targets.evidence import EvidenceUnavailable, MirrorEvidence
from mirrorcheck.targets.nodes.node import Node, PullResult
from mirrorcheck.targets.probe_evidence import NodeState, gather_evidence, mark_of
from mirrorcheck.targets.pull_route import ObservedPull

PULL_TIMEOUT = 300.0
# Why pulls made at once carry no counter deltas (``ProbePulls.pull_each``).
AT_ONCE = (
    "the nodes pulled at once: the mirror's counters, global to it, cannot tell their pulls "
    "apart; each pull is judged by the access log, by the node's address"
)


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
        self._registry: RegistryJudgement | None = None

    def _counters(self, evidence: MirrorEvidence) -> tuple[object | None, str, str]:
        try:
            return evidence.counters(), "", ""
        except EvidenceUnavailable as missing:
            return None, str(missing), ""
        except MetricsError as error:
            return None, "", f"the mirror's debug server: {error}"

    def _identify(self, evidence: MirrorEvidence) -> RegistryJudgement:
        """The mirror judged once per run (asked again while it gives no answer)."""
        if self._registry is None or self._registry.unanswered:
            self._registry = evidence.identify(self.image.repository)
        return self._registry

    def pull(self, node: Node) -> ObservedPull:
        """Pull the probe image on ``node`` once, observing the mirror around it."""
        self.budget.take(f"{self.reference} on {node.name}")
        with self._lock:  # counters are global to the mirror: one observed pull at a time
            evidence = self.evidence()
            registry = self._identify(evidence)
            access = evidence.access_log
            state, mark = side_by_side(
                partial(NodeState.read, node, self.reference), partial(mark_of, access)
            )
            before, problem, error = self._counters(evidence)
            result = node.pull(self.reference, timeout=PULL_TIMEOUT)
            after, problem_after, error_after = self._counters(evidence)
            observed = self._observed(node, state, result, evidence, registry)
            observed.counters_problem = problem or problem_after
            observed.counters_error = error or error_after
            if before is not None and after is not None:
                observed.deltas = after.minus(before)
            gather_evidence(observed, evidence, mark, state.since, node, state.platform)
            self.pulls.append(observed)
            return observed

    def pull_each(self, nodes: Sequence[Node]) -> dict[str, ObservedPull | PullBudgetExhausted]:
        """Every node's pull: the first node's alone, then the others' at once.

        At once only where the access log tells each node's requests apart (by
        its address): the mirror's counters are global to it and cannot, so
        those pulls are judged by the access log alone (``AT_ONCE``), and the
        counters' change over them together is kept on each
        (``ObservedPull.together_deltas``). Without
        such a log the others pull one after another (``pull``). Returns
        ``{node name: ObservedPull}``, or the ``PullBudgetExhausted`` of a node
        over ``--max-pulls``.
        """
        found: dict[str, ObservedPull | PullBudgetExhausted] = {}

        def one(node: Node) -> None:
            try:
                found[node.name] = self.pull(node)
            except PullBudgetExhausted as spent:
                found[node.name] = spent

        if not nodes:
            return found
        one(nodes[0])
        evidence = self.evidence()
        access = evidence.access_log
        if access is None or not all(access.client_of(node) for node in nodes[1:]):
            for node in nodes[1:]:
                one(node)
            return found
        taken = []
        for node in nodes[1:]:
            try:
                self.budget.take(f"{self.reference} on {node.name}")
                taken.append(node)
            except PullBudgetExhausted as spent:
                found[node.name] = spent
        with self._lock:
            registry = self._identify(evidence)
            states = at_once(lambda node: NodeState.read(node, self.reference), taken)
            mark = mark_of(access)
            before, _, _ = self._counters(evidence)
            results = at_once(lambda n: n.pull(self.reference, timeout=PULL_TIMEOUT), taken)
            after, _, _ = self._counters(evidence)
            together = tuple(node.name for node in taken)
            deltas = after.minus(before) if before is not None and after is not None else None

            def observe(node: Node, state: NodeState, result: PullResult) -> ObservedPull:
                observed = self._observed(node, state, result, evidence, registry)
                observed.counters_problem = AT_ONCE
                observed.together, observed.together_deltas = together, deltas
                gather_evidence(observed, evidence, mark, state.since, node, state.platform)
                return observed

            pulled = list(zip(taken, states, results, strict=True))
            for observed in at_once(lambda each: observe(*each), pulled):
                self.pulls.append(observed)
                found[observed.node] = observed
        return found

    def _observed(
        self,
        node: Node,
        state: NodeState,
        result: PullResult,
        evidence: MirrorEvidence,
        registry: RegistryJudgement,
    ) -> ObservedPull:
        return ObservedPull(
            node=node.name,
            reference=self.reference,
            result=result,
            node_had_image=state.had,
            mirrors=state.mirrors,
            trusted=evidence.trusted(),
            log_level=state.log_level,
            repository=self.image.repository,
            registry=registry,
        )

    def served(self) -> ObservedPull | None:
        """The first pull the mirror is shown to have served (``PullRoute.proven``)."""
        for observed in self.pulls:
            if observed.result.ok and observed.route(self.mirror_url).proven:
                return observed
        return None

    def later_pull_of(self, node: Node) -> ObservedPull | None:
        """The node's last pull that worked, made after a pull the mirror is shown to have served.

        Such a pull is already a pull after the first: a check about those
        judges it instead of pulling again (each pull costs against the budget
        and Docker Hub's limits). None when the node made none.
        """
        first = self.served()
        if first is None:
            return None
        after = self.pulls[self.pulls.index(first) + 1 :]
        made = [p for p in after if p.node == node.name and p.result.ok]
        return made[-1] if made else None

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

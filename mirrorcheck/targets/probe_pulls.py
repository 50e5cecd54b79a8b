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
    route = observed.route(deployment.mirror_url)
    route.bypassed, route.proven, route.proofs, route.unproven
    probe.billable_total()                  # manifest GETs upstream, when trusted
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from mirrorcheck.probes.access_log import BLOB, AccessLogError, Traffic
from mirrorcheck.probes.image_content import blob_digests, platform_of
from mirrorcheck.probes.mirror_metrics import MetricsError
from mirrorcheck.probes.registry_api import CONTENT_DIGEST_HEADER, RegistryError, RegistryJudgement
from mirrorcheck.rules.image_reference import ImageReference
from mirrorcheck.targets.evidence import (
    BLOB_REQUESTS,
    AccessLog,
    EvidenceUnavailable,
    MirrorEvidence,
)
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH, Node, NodeError
from mirrorcheck.targets.pull_route import ObservedPull
from mirrorcheck.versions import fallback_lines
from mirrorcheck.waiting import WaitTimeout, wait_until

PULL_TIMEOUT = 300.0
# A proxy writes its log line as each answer completes; the last ones may land
# just after the client is done.
ACCESS_LOG_SETTLE = 5.0
# What goes wrong reading evidence: Docker/HTTP errors (OSError), nodes, log lines.
READ_ERRORS = (OSError, RuntimeError, AccessLogError)


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


def _node_clock(node: Node) -> float | None:
    """The node's own time, so that its log is read from the pull on, whatever the clock skew."""
    result = node.run("date", "+%s.%N", timeout=10)
    try:
        return float(result.output.strip().replace(".%N", ""))
    except ValueError:
        return None


def _effective_mirrors(node: Node) -> list[str]:
    """The mirrors the node's running daemon uses; none when they cannot be read."""
    try:
        return node.effective_mirrors()
    except (NodeError, ValueError):
        return []


def _log_level(node: Node) -> str:
    try:
        document = json.loads(node.read_file(DAEMON_JSON_PATH).decode("utf-8-sig"))
    except (NodeError, ValueError):
        return ""
    return str(document.get("log-level") or "") if isinstance(document, dict) else ""


def mark_of(access: AccessLog | None) -> int | None:
    """A point in the access log before the pull; None without a log or when it cannot be read."""
    if access is None:
        return None
    try:
        return access.mark()
    except READ_ERRORS:
        return None


def read_served(
    observed: ObservedPull,
    access: AccessLog | None,
    mark: int | None,
    node: Node,
    wait_for: list[str] | None = None,
) -> None:
    """Record the access log's requests for the repository since ``mark``.

    Only this node's requests when the log can tell nodes apart. With
    ``wait_for`` (blob digests) the log is read again for a bounded while until
    each blob's GET has landed; only blob lines are added then, since what this
    run asked the mirror after the pull (manifests by digest) is not the node's.
    """
    if access is None:
        return
    observed.access_log = access.where
    if mark is None:
        observed.notes.append(f"{access.where} could not be read before the pull")
        return
    client = access.client_of(node)
    first = observed.served

    def read() -> Traffic:
        traffic = access.traffic(mark).for_repository(observed.repository)
        traffic = traffic.from_client(client) if client else traffic
        if first is None:
            return traffic
        later = traffic.requests[len(first) :]
        return Traffic([*first.requests, *(r for r in later if r.kind == BLOB)])

    def complete() -> bool:
        observed.served = read()
        return set(wait_for or ()) <= set(observed.served.blob_gets())

    try:
        if wait_for:
            wait_until(complete, timeout=ACCESS_LOG_SETTLE, interval=0.25, what=access.where)
        else:
            observed.served = read()
    except WaitTimeout:
        pass  # what is still missing is judged by the route
    except READ_ERRORS as error:
        observed.served = None
        observed.notes.append(f"{access.where} could not be read: {error}")


def gather_mirror_side(observed: ObservedPull, evidence: MirrorEvidence, node: Node) -> None:
    """Ask the mirror, after the pull, for the digest the node got and for its blobs.

    A HEAD by digest (Docker Hub bills no HEAD): a mirror that served the pull
    holds that manifest, so a 404 (or another digest) is a sign of a bypass.
    The blobs (config and layers for the node's platform) are read only when
    the node had to fetch them and something can show them served: the trusted
    blob counters or an access log.
    """
    digest = observed.result.digest
    if not observed.result.ok or not digest:
        return
    client = evidence.client()
    where = client.url(f"/v2/{observed.repository}/manifests/{digest}")
    try:
        held = client.fetch_manifest(observed.repository, digest, method="HEAD")
    except requests.RequestException as error:
        observed.notes.append(f"HEAD {where}: no answer ({type(error).__name__})")
    else:
        headers = {name.lower(): value for name, value in held.headers.items()}
        answered = headers.get(CONTENT_DIGEST_HEADER.lower(), digest)
        if held.status == 404 or (held.status == 200 and answered != digest):
            observed.digest_problem = (
                f"the mirror does not serve the manifest {observed.node} got: HEAD {where} "
                f"answered HTTP {held.status}"
                + (f" with {CONTENT_DIGEST_HEADER}: {answered}" if answered != digest else "")
            )
        elif held.status != 200:  # 401, 403, 5xx: nothing either way
            observed.notes.append(f"HEAD {where} answered HTTP {held.status}")
    try:
        evidence.require_trusted(
            BLOB_REQUESTS, instead="an access log of the mirror, or distribution 3 (registry:3)"
        )
    except EvidenceUnavailable as missing:
        observed.blob_counters_problem = str(missing)
    counted = observed.delta(BLOB_REQUESTS) is not None
    if observed.node_had_image or (evidence.access_log is None and not counted):
        return
    try:
        platform = platform_of(node.docker_info())
        observed.blobs = blob_digests(client, observed.repository, digest, platform)
    except (RegistryError, NodeError, ValueError, requests.RequestException) as error:
        observed.blobs_problem = f"reading them from the mirror: {error}"


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
            # What the node holds and runs, and where the access log stands: read at once
            # (none of it asks the mirror anything).
            with ThreadPoolExecutor(max_workers=5) as pool:
                had_f = pool.submit(node.has_image, self.reference)
                mirrors_f = pool.submit(_effective_mirrors, node)
                since_f = pool.submit(_node_clock, node)
                level_f = pool.submit(_log_level, node)
                mark_f = pool.submit(mark_of, access)
            had, mirrors, since = had_f.result(), mirrors_f.result(), since_f.result()
            mark = mark_f.result()
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
                log_level=level_f.result(),
                repository=self.image.repository,
                registry=registry,
            )
            if before is not None and after is not None:
                observed.deltas = after.minus(before)
            # The access log first: what this run asks the mirror next is not the node's pull.
            read_served(observed, access, mark, node)
            gather_mirror_side(observed, evidence, node)
            if access is not None and access.client_of(node) and observed.blobs:
                read_served(observed, access, mark, node, wait_for=observed.blobs)
            try:
                log = node.daemon_log(since=since)
                observed.fallbacks = fallback_lines(log)
            except NodeError as failure:
                observed.log_problem = str(failure)
            self.pulls.append(observed)
            return observed

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

"""What a probe pull is judged by, read around it: the node's state, the access log, the
mirror's side and the node's daemon log (``probe_pulls.ProbePulls`` makes the pulls).

Usage::

    state = NodeState.read(node, "busybox:latest")     # before the pull
    mark = mark_of(evidence.access_log)
    ...                                                # the pull
    gather_evidence(observed, evidence, mark, state.since, node)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial

import requests

from mirrorcheck.at_once import side_by_side
from mirrorcheck.probes.access_log import BLOB, AccessLogError, Traffic
from mirrorcheck.probes.image_content import blob_digests, platform_of
from mirrorcheck.probes.registry_api import CONTENT_DIGEST_HEADER, RegistryError
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

# A proxy writes its log line as each answer completes; the last ones may land
# just after the client is done.
ACCESS_LOG_SETTLE = 5.0
# What goes wrong reading evidence: Docker/HTTP errors (OSError), nodes, log lines.
READ_ERRORS = (OSError, RuntimeError, AccessLogError)


def _docker_info(node: Node) -> dict:
    """The node's ``docker info``; {} when it cannot be read."""
    try:
        return node.docker_info()
    except (NodeError, ValueError):
        return {}


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


def gather_mirror_side(
    observed: ObservedPull,
    evidence: MirrorEvidence,
    node: Node,
    platform: tuple[str, str, str] | None = None,
) -> None:
    """Ask the mirror, after the pull, for the digest the node got and for its blobs.

    A HEAD by digest (Docker Hub bills no HEAD): a mirror that served the pull
    holds that manifest, so a 404 (or another digest) is a sign of a bypass.
    The blobs (config and layers for the node's platform) are read only when
    the node had to fetch them and something can show them served: the trusted
    blob counters or an access log. ``platform``: the node's (``platform_of``),
    read from the node when not given.
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
        platform = platform or platform_of(node.docker_info())
        observed.blobs = blob_digests(client, observed.repository, digest, platform)
    except (RegistryError, NodeError, ValueError, requests.RequestException) as error:
        observed.blobs_problem = f"reading them from the mirror: {error}"


@dataclass(frozen=True)
class NodeState:
    """What a node holds and runs before a pull, read at once (none of it asks the mirror)."""

    had: bool
    mirrors: list[str]  # the running daemon's (``docker info``); none when unreadable
    since: float | None  # the node's clock: its daemon log is read from here
    log_level: str
    platform: tuple[str, str, str] | None = None  # ``platform_of`` its docker info

    @classmethod
    def read(cls, node: Node, reference: str) -> NodeState:
        """One ``docker info`` gives the mirrors and the platform; the clock, the image
        and daemon.json's log level are read beside it."""
        had, info, since, level = side_by_side(
            partial(node.has_image, reference),
            partial(_docker_info, node),
            node.clock,
            partial(_log_level, node),
        )
        mirrors = list((info.get("RegistryConfig") or {}).get("Mirrors") or [])
        return cls(had, mirrors, since, level, platform_of(info) if info else None)


def gather_evidence(
    observed: ObservedPull,
    evidence: MirrorEvidence,
    mark: int | None,
    since: float | None,
    node: Node,
    platform: tuple[str, str, str] | None = None,
) -> None:
    """After the pull: the access log first (what this run asks the mirror next is not the
    node's pull), the mirror's side, the blobs' lines, the node's daemon log.

    The blobs' lines are awaited (``ACCESS_LOG_SETTLE``) only when the log
    already holds a request of this node for the image: a node the log shows
    nothing of after its pull ended never reached the mirror (its manifest
    line lands as that answer completes, before any blob), so no blob line is
    coming.
    """
    access = evidence.access_log
    read_served(observed, access, mark, node)
    gather_mirror_side(observed, evidence, node, platform)
    reached = observed.served is not None and observed.served.count() > 0
    if access is not None and access.client_of(node) and observed.blobs and reached:
        read_served(observed, access, mark, node, wait_for=observed.blobs)
    try:
        observed.fallbacks = fallback_lines(node.daemon_log(since=since))
    except NodeError as failure:
        observed.log_problem = str(failure)

"""Single fetch, both modes: what the mirror kept after the first pull of the probe image.

Live, upstream is out of sight: what the mirror kept after the first pull of
``--probe-image`` is what can be proved. Its catalog must list the repository
and the mirror must serve the very manifest digest the node got (a name in a
catalog is not the image), and its storage (``--mirror-storage``) must hold
every blob of the image. The blob counters cannot stand in for the storage
where the limitations table says the version gets them wrong (2.8:
``blob-counters-wrong``). In the hermetic lab the same checks run against the
lab's mirror; the exact upstream counts are in ``test_single_fetch.py``.
"""

from __future__ import annotations

import contextlib
import time

import pytest

from mirrorcheck.probes.image_content import blob_digests, platform_of
from mirrorcheck.targets.evidence import (
    BLOB_MISSES,
    STORAGE_HINT,
    EvidenceUnavailable,
)
from mirrorcheck.targets.nodes.node import NodeError
from mirrorcheck.targets.probe_pulls import PullBudgetExhausted
from mirrorcheck.targets.pull_route import ObservedPull
from mirrorcheck.waiting import WaitTimeout, wait_until

# distribution 2.8 writes a fetched blob to storage in the background, after serving it.
STORED_TIMEOUT = 15.0


def _stored_wait(first: ObservedPull) -> float:
    """Seconds left of ``STORED_TIMEOUT`` after the first pull ended (0: look once).

    The background copy follows its pull: a pull made long before (by an
    earlier check) has nothing left to wait for.
    """
    if not first.result.finished:
        return STORED_TIMEOUT
    return max(0.0, first.result.finished + STORED_TIMEOUT - time.monotonic())


def _require_the_mirror(deployment) -> None:
    """Fail at once, with the cause, when the mirror cannot be reached from here (live)."""
    problem = deployment.mirror_problem()
    if problem:
        pytest.fail(problem, pytrace=False)


def _first_pull_through_the_mirror(request, record_property) -> ObservedPull:
    """The run's first pull of the probe image the mirror is shown to have served.

    When no check has pulled it yet, the first node pulls it here; a node not
    known to use the mirror stops the check at once (``healthy_nodes``), naming
    its cause, instead of a pull that would fall back. When earlier pulls
    exist and the mirror is shown to have served none, the first of them is
    judged: pulling again would wait for the same answer.
    """
    deployment = request.getfixturevalue("deployment")
    probe = deployment.probe_pulls()
    served = probe.served()
    if served is not None:
        return served
    if probe.pulls:
        pulled = probe.pulls[0]
    else:
        node = request.getfixturevalue("healthy_nodes")[0]
        try:
            pulled = probe.pull(node)
        except PullBudgetExhausted as spent:
            pytest.skip(str(spent))
        record_property("probe_pull", pulled.figures())
        if pulled.billable is not None:
            record_property("billable_manifest_gets", pulled.billable)
    route = pulled.route(deployment.mirror_url)
    if not pulled.result.ok or route.bypassed:
        pytest.fail(
            f"{pulled.node} could not pull {pulled.reference} through the mirror, so what the "
            f"mirror kept cannot be judged: {'; '.join(route.bypassed) or pulled.result.output}",
            pytrace=False,
        )
    if not route.proven:
        pytest.skip(
            f"nothing shows that the mirror served all of {pulled.reference}: "
            + "; ".join(route.unproven)
        )
    return pulled


def test_mirror_catalog_lists_the_probe_image_after_its_first_pull(
    request, deployment, record_property
):
    _require_the_mirror(deployment)
    first = _first_pull_through_the_mirror(request, record_property)
    repository = deployment.probe_pulls().image.repository
    evidence = deployment.evidence()
    try:
        listed = wait_until(
            lambda: evidence.catalog_has(repository),
            timeout=_stored_wait(first),
            interval=0.5,
            what=f"the mirror's catalog to list {repository}",
        )
    except EvidenceUnavailable as missing:
        pytest.skip(str(missing))
    except WaitTimeout:
        listed = False
    record_property("catalog_lists_repository", bool(listed))
    if not listed:
        pytest.fail(
            f"{first.node} pulled {first.reference} through {deployment.mirror_url}, yet the "
            f"mirror's catalog (/v2/_catalog) does not list {repository}: the mirror served the "
            "image without keeping it, so every pull goes upstream again. Fix: give the registry "
            "writable, persistent storage (storage.filesystem.rootdirectory on a volume)",
            pytrace=False,
        )
    digest = first.result.digest
    if not digest:
        pytest.skip(f"{first.node}'s pull printed no digest: {first.result.output.strip()[-300:]}")
    kept = evidence.kept_manifest(repository, digest)
    record_property("kept_manifest", f"HTTP {kept.status}, {kept.size} bytes, {kept.sha256}")
    if not kept.verified:
        pytest.fail(
            f"the mirror's catalog lists {repository}, yet GET {kept.url} answered HTTP "
            f"{kept.status} with {kept.size} bytes hashing to {kept.sha256}, not the manifest "
            f"{digest} that {first.node} pulled: the catalog names a repository the mirror "
            "cannot serve. Fix: point --mirror-url at the registry (proxy mode) itself, with "
            "persistent storage",
            pytrace=False,
        )


def test_mirror_storage_holds_every_blob_of_the_probe_image_after_its_first_pull(
    request, deployment, record_property
):
    evidence = deployment.evidence()
    try:
        storage = evidence.storage()
    except EvidenceUnavailable as missing:
        counters_word = (
            "the blob counters are no substitute on registry "
            + (evidence.registry_version or "of an unknown version (give --registry-version)")
            if BLOB_MISSES not in evidence.trusted()
            else "the blob counters show fetches, not what was kept"
        )
        pytest.skip(f"{missing} ({counters_word})")
    try:
        storage.check_reachable()
    except NodeError as error:
        pytest.fail(f"{error}. {STORAGE_HINT}", pytrace=False)
    _require_the_mirror(deployment)
    first = _first_pull_through_the_mirror(request, record_property)
    node = next(n for n in deployment.nodes if n.name == first.node)
    repository = deployment.probe_pulls().image.repository
    digests = blob_digests(
        deployment.mirror_client(), repository, first.result.digest, platform_of(node.docker_info())
    )
    state: dict[str, list[str]] = {"missing": digests}

    def all_stored() -> bool:
        state["missing"] = [d for d in state["missing"] if not storage.has_blob(d)]
        return not state["missing"]

    with contextlib.suppress(WaitTimeout):  # what is still missing is reported below
        wait_until(
            all_stored, timeout=_stored_wait(first), interval=0.5, what="the blobs to be stored"
        )
    record_property("blobs_checked", len(digests))
    record_property("blobs_missing_from_storage", state["missing"])
    if state["missing"]:
        pytest.fail(
            f"{STORED_TIMEOUT:g} s after {first.node}'s pull of {first.reference}, the mirror's "
            f"storage ({storage.url}) lacks {len(state['missing'])} of its {len(digests)} blobs: "
            f"{', '.join(storage.blob_path(d) for d in state['missing'][:3])}. The mirror does "
            "not keep what it fetches (or --mirror-storage is not its storage folder). Fix: "
            "mount the registry's rootdirectory on persistent, writable storage",
            pytrace=False,
        )

"""Single fetch: the cluster fetches each blob from upstream for the first pull only.

What distribution really does (DOMAIN.md, FINDINGS.md): a cold pull by tag
GETs the manifest upstream and each blob once, or twice on 2.8 (the blob is
streamed to the client while a second download stores it); every later pull
by tag costs one tag HEAD and nothing else; concurrent cold pulls are not
shared and each may go upstream. These checks state those truths exactly,
from upstream's own log, in the hermetic lab.

Live, upstream is out of sight: what the mirror kept after the first pull of
``--probe-image`` is what can be proved. Its catalog must list the repository,
and its storage (``--mirror-storage``) must hold every blob of the image. The
blob counters cannot stand in for the storage where the limitations table says
the version gets them wrong (2.8: ``blob-counters-wrong``).
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from mirrorcheck.probes.access_log import BLOB
from mirrorcheck.probes.image_content import blob_digests, platform_of
from mirrorcheck.rules.limitations import (
    COLD_PULL_COST,
    CONCURRENT_COLD_PULLS,
    max_fetches_per_blob,
)
from mirrorcheck.targets.evidence import (
    BLOB_MISSES,
    STORAGE_HINT,
    EvidenceUnavailable,
)
from mirrorcheck.targets.lab.accounting import measure_pull
from mirrorcheck.targets.nodes.node import NodeError
from mirrorcheck.targets.probe_pulls import ObservedPull, PullBudgetExhausted
from mirrorcheck.waiting import WaitTimeout, wait_until

# distribution 2.8 writes a fetched blob to storage in the background, after serving it.
STORED_TIMEOUT = 15.0


@pytest.mark.hermetic_only
def test_nodes_pulling_one_after_another_fetch_blobs_only_for_the_first(
    lab, healthy_nodes, unique_name, record_property
):
    image = lab.push_image(unique_name)
    pulls = [measure_pull(lab, node, image) for node in healthy_nodes]
    for pull in pulls:
        assert pull.result.ok, f"{pull.result.node} could not pull: {pull.result.output[-600:]}"
    first, rest = pulls[0], pulls[1:]
    record_property("upstream_blob_gets_per_digest", first.upstream.blob_gets())
    # Per node, in pull order: the report's chart shows the first (cold) pull against the rest.
    record_property(
        "upstream_requests_per_pull", {p.result.node: p.upstream.count() for p in pulls}
    )
    record_property(
        "upstream_blob_gets_per_pull", {p.result.node: p.upstream.count("GET", BLOB) for p in pulls}
    )
    record_property("cold_pull_seconds", {first.result.node: round(first.result.seconds, 3)})
    record_property("warm_pull_seconds", {p.result.node: round(p.result.seconds, 3) for p in rest})
    record_property("upstream_bytes", sum(p.upstream.total_bytes() for p in pulls))
    record_property("bytes_served_to_nodes", sum(p.served.total_bytes() for p in pulls))

    later = {p.result.node: p.upstream.blob_gets() for p in rest if p.upstream.blob_gets()}
    assert not later, (
        f"after {first.result.node}'s pull, later nodes still fetched blobs upstream: {later}. "
        "The mirror did not serve them from its cache: check that its storage persists and "
        "that every node lists the mirror first in registry-mirrors"
    )
    total_gets = {d: sum(p.upstream.blob_gets().get(d, 0) for p in pulls) for d in image.blobs}
    total_bytes = {d: sum(p.upstream.blob_bytes().get(d, 0) for p in pulls) for d in image.blobs}
    assert total_gets == {d: first.upstream.blob_gets().get(d, 0) for d in image.blobs}
    assert total_bytes == {d: first.upstream.blob_bytes().get(d, 0) for d in image.blobs}, (
        f"upstream blob bytes for {len(pulls)} pulls {total_bytes} differ from the first pull's"
    )


@pytest.mark.hermetic_only
def test_cold_pull_fetches_each_blob_within_the_bound(
    lab, healthy_nodes, unique_name, record_property, verdict, settings
):
    image = lab.push_image(unique_name)
    pull = measure_pull(lab, healthy_nodes[0], image)
    assert pull.result.ok, f"{pull.result.node} could not pull: {pull.result.output[-600:]}"
    gets = {digest: pull.upstream.blob_gets().get(digest, 0) for digest in image.blobs}
    record_property("upstream_blob_gets_per_digest", gets)
    record_property("upstream_manifest_gets", pull.upstream.manifest_gets())
    record_property("billable_manifest_gets", pull.upstream.billable())
    record_property("upstream_bytes", pull.upstream.total_bytes())

    missing = [digest for digest, count in gets.items() if count == 0]
    assert not missing, (
        f"the node got {image.reference}, yet the mirror never fetched {missing} upstream: "
        "the pull did not go through this mirror"
    )
    explicit = settings.max_fetches_per_blob
    bound = int(explicit) if explicit else max_fetches_per_blob(lab.registry_version or None)
    worst = max(gets.values())
    measured = f"upstream GETs per blob {sorted(gets.values())}, bound {bound}"
    if explicit:
        assert worst <= bound, f"a cold pull fetched a blob {worst} times ({measured})"
        return
    verdict.judge(
        COLD_PULL_COST,
        ideal=worst == 1,
        tolerated=worst <= bound,
        measured=measured,
        failure="a cold pull fetched a blob from upstream more than once",
    )


@pytest.mark.hermetic_only
def test_concurrent_cold_pulls_stay_within_what_the_mirror_guarantees(
    lab, healthy_nodes, unique_name, record_property, verdict, settings, pytestconfig
):
    image = lab.push_image(unique_name)
    upstream_mark = lab.upstream_mark()
    with ThreadPoolExecutor(max_workers=len(healthy_nodes)) as pool:
        results = list(pool.map(lambda node: node.pull(image.reference), healthy_nodes))
    lab.settle(image)
    upstream = lab.upstream_traffic(upstream_mark).for_repository(image.name)
    gets = {digest: upstream.blob_gets().get(digest, 0) for digest in image.blobs}
    record_property("concurrent_nodes", len(healthy_nodes))
    record_property("upstream_blob_gets_per_digest", gets)
    record_property("upstream_manifest_gets", upstream.manifest_gets())

    for result in results:
        assert result.ok, f"{result.node} could not pull {image.reference}: {result.output[-600:]}"
        assert result.digest == image.manifest_digest, (
            f"{result.node} got {result.digest}, the upstream holds {image.manifest_digest}"
        )
    nodes = len(healthy_nodes)
    assert min(gets.values()) >= 1, f"blobs never fetched upstream: {gets}"
    assert max(gets.values()) <= 2 * nodes, (
        f"{nodes} concurrent cold pulls fetched a blob {max(gets.values())} times, more than "
        f"2 x {nodes}: {gets}"
    )
    # Once the pulls are done the image is cached: a further pull costs no blob.
    again = healthy_nodes[0]
    again.remove_image(image.reference)
    after = measure_pull(lab, again, image)
    assert after.result.ok and not after.upstream.blob_gets(), (
        f"after the concurrent pulls, {again.name}'s pull still fetched blobs upstream: "
        f"{after.upstream.blob_gets()}"
    )
    if settings.strict_single_fetch:
        verdict = verdict.strictly()
    verdict.judge(
        CONCURRENT_COLD_PULLS,
        ideal=max(gets.values()) == 1,
        tolerated=True,
        measured=f"{nodes} nodes at once, upstream GETs per blob {sorted(gets.values())}",
        failure=(
            "concurrent cold pulls fetched a blob more than once for the whole cluster "
            "(the reference guide's promise of a single fetch): in-flight requests are "
            "not shared"
        ),
    )


# -- both modes: what the mirror kept after the first pull --------------------------


def _require_the_mirror(deployment) -> None:
    """Fail at once, with the cause, when the mirror cannot be reached from here (live)."""
    problem = deployment.mirror_problem()
    if problem:
        pytest.fail(problem, pytrace=False)


def _first_pull_through_the_mirror(deployment, settings, record_property) -> ObservedPull:
    """The run's first pull of the probe image the mirror is shown to have served."""
    probe = deployment.probe_pulls()
    served = probe.served()
    if served is not None:
        return served
    usable = [n for n in deployment.nodes if not n.startup_error]
    if not usable:
        pytest.fail(
            "no node could be reached to pull the probe image: "
            + "; ".join(n.startup_error for n in deployment.nodes),
            pytrace=False,
        )
    try:
        pulled = probe.pull(usable[0])
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
    if not route.proofs:
        pytest.skip(
            f"nothing shows that the mirror served {pulled.reference}: " + "; ".join(route.unproven)
        )
    return pulled


def test_mirror_catalog_lists_the_probe_image_after_its_first_pull(
    deployment, settings, record_property
):
    _require_the_mirror(deployment)
    first = _first_pull_through_the_mirror(deployment, settings, record_property)
    repository = deployment.probe_pulls().image.repository
    evidence = deployment.evidence()
    try:
        listed = wait_until(
            lambda: evidence.catalog_has(repository),
            timeout=STORED_TIMEOUT,
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


def test_mirror_storage_holds_every_blob_of_the_probe_image_after_its_first_pull(
    deployment, settings, record_property
):
    evidence = deployment.evidence()
    try:
        storage = evidence.storage()
    except EvidenceUnavailable as missing:
        counters_word = (
            f"the blob counters are no substitute on registry {evidence.registry_version}"
            if BLOB_MISSES not in evidence.trusted()
            else "the blob counters show fetches, not what was kept"
        )
        pytest.skip(f"{missing} ({counters_word})")
    try:
        storage.check_reachable()
    except NodeError as error:
        pytest.fail(f"{error}. {STORAGE_HINT}", pytrace=False)
    _require_the_mirror(deployment)
    first = _first_pull_through_the_mirror(deployment, settings, record_property)
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
        wait_until(all_stored, timeout=STORED_TIMEOUT, interval=0.5, what="the blobs to be stored")
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

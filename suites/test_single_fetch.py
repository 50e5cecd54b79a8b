"""Single fetch: the cluster fetches each blob from upstream for the first pull only.

What distribution really does (DOMAIN.md, FINDINGS.md): a cold pull by tag
GETs the manifest upstream and each blob once, or twice on 2.8 (the blob is
streamed to the client while a second download stores it); every later pull
by tag costs one tag HEAD and nothing else; concurrent cold pulls are not
shared and each may go upstream. These checks state those truths exactly,
from upstream's own log, in the hermetic lab. What the mirror kept after a
first pull, provable in both modes, is in ``test_single_fetch_kept.py``.
The nodes' pulls of one fresh image (``node_pulls``, suites/conftest.py), the
first node's alone and then the others' at once, are made once: the first is
the cold pull.
"""

from __future__ import annotations

import pytest

from mirrorcheck.at_once import at_once
from mirrorcheck.probes.access_log import BLOB
from mirrorcheck.rules.limitations import (
    COLD_PULL_COST,
    CONCURRENT_COLD_PULLS,
    max_fetches_per_blob,
)
from mirrorcheck.targets.lab.accounting import measure_pull


@pytest.mark.hermetic_only
def test_nodes_pulling_after_the_first_fetch_no_blob_upstream(node_pulls, record_property):
    image, pulls = node_pulls.image, node_pulls.pulls
    for pull in pulls:
        assert pull.result.ok, f"{pull.result.node} could not pull: {pull.result.output[-600:]}"
    bypassed = {p.result.node: p.bypass.by_method_and_kind() for p in pulls if p.bypass.count()}
    assert not bypassed, (
        f"nodes fetched {image.reference} from Docker Hub themselves, around the mirror: "
        f"{bypassed}. Fix: every node must reach and trust the mirror (registry-mirrors, CA)"
    )
    first, later, rest = node_pulls.first, node_pulls.later_upstream, node_pulls.later
    record_property("upstream_blob_gets_per_digest", first.upstream.blob_gets())
    # In pull order: the report's chart shows the first (cold) pull against the later ones,
    # which were made at once (the mirror's fetches for them cannot be told apart by node).
    together = f"{', '.join(rest)} (at once)"
    record_property(
        "upstream_requests_per_pull",
        {first.result.node: first.upstream.count(), together: later.count()},
    )
    record_property(
        "upstream_blob_gets_per_pull",
        {first.result.node: first.upstream.count("GET", BLOB), together: later.count("GET", BLOB)},
    )
    record_property("cold_pull_seconds", {first.result.node: round(first.result.seconds, 3)})
    record_property("warm_pull_seconds", {n: round(p.result.seconds, 3) for n, p in rest.items()})
    record_property("upstream_bytes", node_pulls.upstream().total_bytes())
    record_property("bytes_served_to_nodes", sum(p.served.total_bytes() for p in pulls))

    assert not later.blob_gets(), (
        f"after {first.result.node}'s pull, the pulls of {together} still made the mirror fetch "
        f"blobs upstream: {later.blob_gets()}. The mirror did not serve them from its cache: "
        "check that its storage persists and that every node lists the mirror first in "
        "registry-mirrors"
    )
    everything = node_pulls.upstream()
    assert everything.blob_gets() == first.upstream.blob_gets()
    assert everything.blob_bytes() == first.upstream.blob_bytes(), (
        f"upstream blob bytes for {len(pulls)} pulls {everything.blob_bytes()} differ from the "
        "first pull's"
    )


@pytest.mark.hermetic_only
def test_cold_pull_fetches_each_blob_within_the_bound(
    lab, node_pulls, record_property, verdict, settings
):
    image, pull = node_pulls.image, node_pulls.first  # cold: the mirror never saw it
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
    results = at_once(lambda node: node.pull(image.reference), healthy_nodes)
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

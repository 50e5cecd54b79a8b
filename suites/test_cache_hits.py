"""Cache hits: after the first pull, the mirror answers from its cache.

A warm pull by tag asks upstream one tag HEAD (distribution checks every tag
upstream; Docker Hub does not bill HEADs) and nothing else; a pull by digest
asks upstream nothing at all.

Hermetic checks count upstream's own log. The check that runs in both modes
sees the mirror's side only: once one pull of ``--probe-image`` went through
the mirror, every node's pull must move the mirror's manifest counters (it was
served there) and fetch no manifest upstream (``registry.proxy.manifests.Misses``
+0, what Docker Hub bills). It needs the counters (``--mirror-debug-url``) and a
registry version whose manifest counters are trusted (``--registry-version``);
without them it skips, saying so. A node's pull made after the first one (the
bypass check's) is judged as it is, not made again.

The hermetic checks pull again, on every node at once, the image each node
pulled first through the mirror (``first_pulls``, suites/conftest.py); a node
whose first pull did not go through the mirror fails them at once, naming that.
"""

from __future__ import annotations

import pytest

from mirrorcheck.report.causes import known_cause_message
from mirrorcheck.targets.evidence import (
    DEBUG_URL_HINT,
    MANIFEST_MISSES,
    MANIFEST_REQUESTS,
    EvidenceUnavailable,
)
from mirrorcheck.targets.lab.accounting import MeasuredPull, PullOrder, measure_pulls
from mirrorcheck.targets.probe_pulls import PullBudgetExhausted


def _again_at_once(lab, usable_nodes, first_pulls, by_digest: bool) -> dict[str, MeasuredPull]:
    """Each node whose first pull went through the mirror pulls its image again, all at once.

    Every reference goes first, the digest's too: a node holding the layers
    would fetch no blob.
    """
    orders = []
    for node in usable_nodes:
        if first_pulls.first_pull_problem(node.name) is None:
            image = first_pulls.images[node.name]
            by_digest_reference = f"{image.name}@{image.manifest_digest}"
            node.remove_image(image.reference, by_digest_reference)
            orders.append(PullOrder(node, image, by_digest_reference if by_digest else None))
    return measure_pulls(lab, orders)


# Session scope: the nodes' items interleave with other modules' (``node_name`` is a session
# parameter), and a module fixture would be made again each time the module comes back.
@pytest.fixture(scope="session")
def warm_pulls_by_tag(lab, usable_nodes, first_pulls) -> dict[str, MeasuredPull]:
    """``{node name: MeasuredPull}``: each node's second pull of its first image, by tag."""
    return _again_at_once(lab, usable_nodes, first_pulls, by_digest=False)


@pytest.fixture(scope="session")
def warm_pulls_by_digest(lab, usable_nodes, first_pulls) -> dict[str, MeasuredPull]:
    """``{node name: MeasuredPull}``: each node's next pull of its first image, by digest."""
    return _again_at_once(lab, usable_nodes, first_pulls, by_digest=True)


def _warm_pull_of(node, first_pulls, pulls: dict[str, MeasuredPull]) -> MeasuredPull:
    """The node's warm pull; fails at once when its first pull did not warm the mirror."""
    cause = first_pulls.first_pull_problem(node.name)
    if cause is not None:
        pytest.fail(known_cause_message({node.name: cause}), pytrace=False)
    return pulls[node.name]


@pytest.mark.hermetic_only
def test_warm_pull_by_tag_fetches_nothing_upstream_but_a_tag_head(
    node, first_pulls, warm_pulls_by_tag, record_property
):
    pull = _warm_pull_of(node, first_pulls, warm_pulls_by_tag)
    assert pull.result.ok, f"{node.name} could not pull: {pull.result.output[-600:]}"
    record_property("warm_pull_seconds", round(pull.result.seconds, 3))
    record_property("upstream_requests", pull.upstream.by_method_and_kind())
    record_property("billable_manifest_gets", pull.upstream.billable())
    assert not pull.upstream.blob_gets(), (
        f"{node.name}'s warm pull fetched blobs upstream: {pull.upstream.blob_gets()}"
    )
    assert pull.upstream.manifest_gets() == 0, (
        f"{node.name}'s warm pull GOT manifests upstream ({pull.upstream.by_method_and_kind()}): "
        "each counts against Docker Hub's pull limit"
    )
    assert pull.served.count() > 0, f"{node.name} did not pull through the mirror"
    _no_bypass(node, pull)


def _no_bypass(node, pull) -> None:
    """A pull the node took from Docker Hub itself says nothing about the mirror's cache."""
    assert pull.bypass.count() == 0, (
        f"{node.name} asked Docker Hub itself ({pull.bypass.by_method_and_kind()}): the pull "
        "bypassed the mirror, so its cache cannot be judged; see the bypass checks"
    )


@pytest.mark.hermetic_only
def test_pull_by_digest_asks_upstream_nothing(
    node, first_pulls, warm_pulls_by_digest, record_property
):
    pull = _warm_pull_of(node, first_pulls, warm_pulls_by_digest)
    image = first_pulls.images[node.name]
    reference = f"{image.name}@{image.manifest_digest}"
    assert pull.result.ok, f"{node.name} could not pull {reference}: {pull.result.output[-600:]}"
    record_property("upstream_requests", pull.upstream.by_method_and_kind())
    assert pull.upstream.count() == 0, (
        f"{node.name}'s pull by digest asked upstream {pull.upstream.by_method_and_kind()}"
    )
    assert pull.served.count() > 0, f"{node.name} did not pull through the mirror"
    _no_bypass(node, pull)


def test_pull_after_the_first_fetches_no_manifest_upstream(
    node, deployment, settings, record_property
):
    evidence = deployment.evidence()
    try:
        evidence.require_trusted(MANIFEST_REQUESTS, MANIFEST_MISSES, instead=DEBUG_URL_HINT)
    except EvidenceUnavailable as missing:
        pytest.skip(str(missing))
    probe = deployment.probe_pulls()
    try:
        first = probe.served()
        if first is None:  # no earlier check pulled through the mirror: warm it here
            warming = probe.pull(node)
            bypassed = warming.route(deployment.mirror_url).bypassed
            if bypassed or not warming.result.ok:
                pytest.fail(
                    f"the first pull of {warming.reference} ({node.name}) did not go through "
                    f"the mirror ({'; '.join(bypassed) or warming.result.output[-300:]}), so "
                    "the cache cannot be judged; see the bypass checks",
                    pytrace=False,
                )
        # A pull this node made after the first (the bypass check's) is judged as it is.
        pulled = probe.later_pull_of(node) or probe.pull(node)
    except PullBudgetExhausted as spent:
        pytest.skip(str(spent))
    record_property("probe_pull", pulled.figures())
    if pulled.billable is not None:
        record_property("billable_manifest_gets", pulled.billable)
    if not pulled.result.ok:
        pytest.fail(
            f"{node.name} could not pull {pulled.reference}: {pulled.result.output.strip()[-600:]}",
            pytrace=False,
        )
    # A pull made at once with other nodes' is judged with them: the counters are global.
    together = pulled.together
    who = f"the pulls of {', '.join(together)} made at once" if together else f"{node.name}'s pull"
    delta = pulled.delta_together if together else pulled.delta
    requests, misses = delta(MANIFEST_REQUESTS) or 0, delta(MANIFEST_MISSES)
    if requests < max(1, len(together)):
        pytest.fail(
            f"{who} of {pulled.reference} moved the mirror's manifest counters by "
            f"{MANIFEST_REQUESTS} +{requests}, less than one per pull: a pull went around the "
            "mirror, straight to Docker Hub, where every pull is billed. Fix: list the mirror "
            "first in the node's registry-mirrors and make it reachable and trusted from there",
            pytrace=False,
        )
    if misses:
        pytest.fail(
            f"after an earlier pull through the mirror, {who} of {pulled.reference} still made "
            f"the mirror fetch {misses} manifest(s) upstream ({MANIFEST_MISSES} +{misses}; each "
            "is a pull Docker Hub bills). The mirror did not keep what it fetched: check that "
            "its storage persists and that nothing expires it",
            pytrace=False,
        )

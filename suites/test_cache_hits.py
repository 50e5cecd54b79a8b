"""Cache hits: after the first pull, the mirror answers from its cache.

A warm pull by tag asks upstream one tag HEAD (distribution checks every tag
upstream; Docker Hub does not bill HEADs) and nothing else; a pull by digest
asks upstream nothing at all.
"""

from __future__ import annotations

import pytest

from fixtures.targets.lab.accounting import measure_pull

pytestmark = [pytest.mark.lab, pytest.mark.hermetic_only]


@pytest.fixture(scope="module")
def warmed_image(lab, healthy_nodes):
    """An image one node has already pulled, so the mirror holds it."""
    from fixtures.probes.synthetic_image import make_image

    image = lab.push_image("", image=make_image("mirrorcheck/cache-hits", "warm"))
    first = measure_pull(lab, healthy_nodes[0], image)
    assert first.result.ok, f"the warming pull failed: {first.result.output[-600:]}"
    return image


def test_warm_pull_by_tag_fetches_nothing_upstream_but_a_tag_head(node, lab, warmed_image, figures):
    node.remove_image(warmed_image.reference)
    pull = measure_pull(lab, node, warmed_image)
    assert pull.result.ok, f"{node.name} could not pull: {pull.result.output[-600:]}"
    figures("warm_pull_seconds", round(pull.result.seconds, 3))
    figures("upstream_requests", pull.upstream.by_method_and_kind())
    figures("billable_manifest_gets", pull.upstream.billable())
    assert not pull.upstream.blob_gets(), (
        f"{node.name}'s warm pull fetched blobs upstream: {pull.upstream.blob_gets()}"
    )
    assert pull.upstream.manifest_gets() == 0, (
        f"{node.name}'s warm pull GOT manifests upstream ({pull.upstream.by_method_and_kind()}): "
        "each counts against Docker Hub's pull limit"
    )
    assert pull.served.count() > 0, f"{node.name} did not pull through the mirror"


def test_pull_by_digest_asks_upstream_nothing(node, lab, warmed_image, figures):
    reference = f"{warmed_image.name}@{warmed_image.manifest_digest}"
    node.remove_image(warmed_image.reference)
    node.remove_image(reference)
    pull = measure_pull(lab, node, warmed_image, reference=reference)
    assert pull.result.ok, f"{node.name} could not pull {reference}: {pull.result.output[-600:]}"
    figures("upstream_requests", pull.upstream.by_method_and_kind())
    assert pull.upstream.count() == 0, (
        f"{node.name}'s pull by digest asked upstream {pull.upstream.by_method_and_kind()}"
    )
    assert pull.served.count() > 0, f"{node.name} did not pull through the mirror"

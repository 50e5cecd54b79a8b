"""Integrity: every manifest and blob served through the TLS proxy hashes to its digest.

Also under concurrent fetches of a cold image, when distribution streams
upstream bytes to several clients while storing them.
"""

from __future__ import annotations

import pytest

from mirrorcheck.at_once import at_once
from mirrorcheck.probes.synthetic_image import make_index

pytestmark = [pytest.mark.hermetic_only]


def _fetch_everything(client, image) -> list[str]:
    """Fetch every manifest and blob of ``image``; return what did not verify."""
    problems = []
    for reference in (image.tag, image.manifest_digest):
        fetched = client.fetch_manifest(image.name, reference)
        if not fetched.verified or fetched.sha256 != image.manifest_digest:
            problems.append(f"manifest {reference}: HTTP {fetched.status}, got {fetched.sha256}")
    for manifest in image.manifests:
        if image.index is not None:
            fetched = client.fetch_manifest(image.name, manifest.digest)
            if not fetched.verified:
                problems.append(f"manifest {manifest.digest}: HTTP {fetched.status}")
    for digest in image.blobs:
        fetched = client.fetch_blob(image.name, digest)
        if not fetched.verified:
            problems.append(
                f"blob {digest}: HTTP {fetched.status}, {fetched.size} bytes, {fetched.sha256}"
            )
    return problems


def test_everything_served_through_the_proxy_hashes_to_its_digest(
    lab, serving_mirror, unique_name, record_property
):
    image = lab.push_image(unique_name)
    client = lab.mirror_client()
    cold = _fetch_everything(client, image)
    warm = _fetch_everything(client, image)
    record_property("blobs_checked", len(image.blobs))
    assert not cold and not warm, f"corrupt content through {lab.mirror_url}: {cold + warm}"


def test_multi_platform_index_is_served_intact(lab, unique_name, healthy_nodes):
    image = lab.push_image("", image=make_index(unique_name, "v1"))
    problems = _fetch_everything(lab.mirror_client(), image)
    assert not problems, f"corrupt index content through {lab.mirror_url}: {problems}"
    result = healthy_nodes[0].pull(image.reference)
    assert result.ok, f"{healthy_nodes[0].name} could not pull the index: {result.output[-600:]}"
    assert result.digest == image.manifest_digest


def test_concurrent_fetches_of_a_cold_image_are_intact(
    lab, serving_mirror, unique_name, record_property
):
    image = lab.push_image(unique_name, layer_sizes=[4_000_000, 2_000_000])
    clients = 4
    results = at_once(lambda _: _fetch_everything(lab.mirror_client(), image), range(clients))
    lab.settle(image)
    record_property("concurrent_clients", clients)
    problems = [problem for result in results for problem in result]
    assert not problems, f"concurrent fetches through {lab.mirror_url} were corrupt: {problems}"

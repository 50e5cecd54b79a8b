"""Smoke: the topology is real.

A node pulls a test image by tag through ``https://<fqdn>``; the mirror's own
access log and the upstream's accounting both show that pull (the mirror
fetched every blob, the node asked Docker Hub's stand-in for nothing itself),
and every node's running daemon lists the mirror.
"""

from __future__ import annotations

import pytest

from mirrorcheck.probes.access_log import BLOB, MANIFEST_BY_TAG


def test_node_pulls_a_test_image_by_tag_through_the_mirror(lab, unique_name, record_property):
    image = lab.push_image(unique_name)
    node = next((n for n in lab.nodes if not n.startup_error), None)
    assert node is not None, "no node started: " + "; ".join(n.startup_error for n in lab.nodes)
    upstream_mark, mirror_mark = lab.upstream_mark(), lab.mirror_mark()

    result = node.pull(image.reference)
    assert result.ok, f"{node.name} could not pull {image.reference}:\n{result.output[-800:]}"
    lab.settle(image)
    record_property("pull_seconds", round(result.seconds, 3))

    assert result.digest == image.manifest_digest, (
        f"{node.name} got {result.digest or 'no digest'}, "
        f"the upstream holds {image.manifest_digest}"
    )
    served = lab.mirror_traffic(mirror_mark).for_repository(image.name)
    # dockerd resolves the tag (HEAD by tag), then GETs the manifest by digest.
    assert served.count(kind=MANIFEST_BY_TAG) >= 1 and served.count("GET", BLOB) >= 1, (
        f"the mirror's log shows no pull of {image.name} (saw {served.by_method_and_kind()}): "
        f"{node.name} did not go through {lab.mirror_url}"
    )
    fetched = lab.upstream_traffic(upstream_mark).for_repository(image.name)
    bypass = lab.bypass_traffic(node, upstream_mark)
    record_property("upstream_requests", fetched.by_method_and_kind())
    record_property("node_to_docker_hub", bypass.by_method_and_kind())
    assert not bypass.count(), (
        f"{node.name} asked Docker Hub itself for {bypass.by_method_and_kind()} while pulling "
        f"{image.reference}: part of the pull bypassed {lab.mirror_url}"
    )
    assert set(fetched.blob_gets()) == set(image.blobs), (
        f"the upstream did not see the mirror fetch every blob of {image.reference}: "
        f"fetched {sorted(fetched.blob_gets())}, expected {sorted(image.blobs)}"
    )


@pytest.mark.own_evidence
def test_node_daemon_lists_the_mirror(node, deployment):
    mirrors = node.effective_mirrors()
    assert f"{deployment.mirror_url}/" in mirrors, (
        f"{node.name}: docker info lists mirrors {mirrors}, not {deployment.mirror_url}/"
    )

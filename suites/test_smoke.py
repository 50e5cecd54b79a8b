"""Smoke: the topology is real.

A node pulls a test image by tag through ``https://<fqdn>``; the mirror's own
access log and the upstream's accounting both show that pull (the mirror
fetched every blob, the node asked Docker Hub's stand-in for nothing itself),
and every node's running daemon lists the mirror. The pull is the first of
the nodes' pulls of one fresh image (``node_pulls``, suites/conftest.py),
which the single-fetch checks judge too.
"""

from __future__ import annotations

import pytest

from mirrorcheck.probes.access_log import BLOB, MANIFEST_BY_TAG


def test_node_pulls_a_test_image_by_tag_through_the_mirror(lab, node_pulls, record_property):
    # The first node's pull of a fresh image: a node not known to use the mirror has stopped
    # this check before it (``healthy_nodes``).
    image, first, served = node_pulls.image, node_pulls.first, node_pulls.first_mirror_log
    result = first.result
    assert result.ok, f"{result.node} could not pull {image.reference}:\n{result.output[-800:]}"
    record_property("pull_seconds", round(result.seconds, 3))

    assert result.digest == image.manifest_digest, (
        f"{result.node} got {result.digest or 'no digest'}, "
        f"the upstream holds {image.manifest_digest}"
    )
    # dockerd resolves the tag (HEAD by tag), then GETs the manifest by digest.
    assert served.count(kind=MANIFEST_BY_TAG) >= 1 and served.count("GET", BLOB) >= 1, (
        f"the mirror's log shows no pull of {image.name} (saw {served.by_method_and_kind()}): "
        f"{result.node} did not go through {lab.mirror_url}"
    )
    record_property("upstream_requests", first.upstream.by_method_and_kind())
    record_property("node_to_docker_hub", first.bypass.by_method_and_kind())
    assert not first.bypass.count(), (
        f"{result.node} asked Docker Hub itself for {first.bypass.by_method_and_kind()} while "
        f"pulling {image.reference}: part of the pull bypassed {lab.mirror_url}"
    )
    assert set(first.upstream.blob_gets()) == set(image.blobs), (
        f"the upstream did not see the mirror fetch every blob of {image.reference}: "
        f"fetched {sorted(first.upstream.blob_gets())}, expected {sorted(image.blobs)}"
    )


@pytest.mark.own_evidence
def test_node_daemon_lists_the_mirror(node, node_readings, deployment):
    mirrors = node_readings[node.name].running_mirrors()
    assert f"{deployment.mirror_url}/" in mirrors, (
        f"{node.name}: docker info lists mirrors {mirrors}, not {deployment.mirror_url}/"
    )

"""A measured pull is evidence of a cold fetch through the mirror only when the logs show one."""

from __future__ import annotations

from mirrorcheck.probes.access_log import BLOB, MANIFEST_BY_TAG, Request, Traffic
from mirrorcheck.probes.synthetic_image import make_image
from mirrorcheck.targets.lab.accounting import MeasuredPull
from mirrorcheck.targets.nodes.node import PullResult

IMAGE = make_image("mirrorcheck/counted", "v1", layer_sizes=[10])
MIRROR, NODE = "10.0.0.2", "10.0.0.5"


def _manifest_get(client: str, agent: str = "") -> Request:
    path = f"/v2/{IMAGE.name}/manifests/v1"
    return Request("GET", path, 200, 500, client, "", MANIFEST_BY_TAG, IMAGE.name, "v1", agent)


def _blob_get(client: str, agent: str = "") -> Request:
    digest = IMAGE.layer_digests[0]
    path = f"/v2/{IMAGE.name}/blobs/{digest}"
    return Request("GET", path, 200, 10, client, "", BLOB, IMAGE.name, digest, agent)


def _pull(upstream: list[Request], bypass: list[Request] = (), ok: bool = True) -> MeasuredPull:
    result = PullResult("node-1", IMAGE.reference, ok, 0.4, "" if ok else "Error: EOF\n")
    return MeasuredPull(result, Traffic(upstream), Traffic([]), Traffic(bypass))


def test_a_pull_whose_manifest_and_blob_the_mirror_fetched_is_a_cold_fetch():
    assert _pull([_manifest_get(MIRROR), _blob_get(MIRROR)]).not_a_cold_fetch() is None


def test_a_pull_the_mirror_fetched_nothing_for_is_no_evidence():
    problem = _pull([]).not_a_cold_fetch()
    assert problem is not None and "fetched no manifest and blob" in problem
    assert "nothing" in problem


def test_a_pull_served_from_the_mirrors_cache_is_no_cold_fetch():
    problem = _pull([_manifest_get(MIRROR)]).not_a_cold_fetch()
    assert problem is not None and "{'GET manifest-by-tag': 1}" in problem


def test_a_pull_with_a_request_to_docker_hub_by_the_node_names_the_bypass():
    bypass = [_manifest_get(NODE, "docker/28.5.2")]
    problem = _pull([_manifest_get(MIRROR), _blob_get(MIRROR)], bypass).not_a_cold_fetch()
    assert problem is not None and "bypassed the mirror" in problem and "node-1" in problem


def test_a_failed_pull_gives_its_output():
    problem = _pull([], ok=False).not_a_cold_fetch()
    assert problem is not None and "Error: EOF" in problem

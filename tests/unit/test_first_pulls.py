"""Each node's first pull, made at once: when it warms the mirror, and how pulls are told apart."""

from __future__ import annotations

import pytest

from mirrorcheck.probes.access_log import BLOB, Request, Traffic
from mirrorcheck.probes.synthetic_image import make_image
from mirrorcheck.targets.lab.accounting import MeasuredPull, PullOrder, measure_pulls
from mirrorcheck.targets.lab.first_pulls import FirstPulls
from mirrorcheck.targets.nodes.node import PullResult

IMAGE = make_image("mirrorcheck/first-abc-node-1", "v1", layer_sizes=[10])


def _blob_get(client: str, agent: str = "") -> Request:
    digest = IMAGE.layer_digests[0]
    path = f"/v2/{IMAGE.name}/blobs/{digest}"
    return Request("GET", path, 200, 10, client, "", BLOB, IMAGE.name, digest, agent)


def _first(served: list[Request], bypass: list[Request], ok: bool = True) -> FirstPulls:
    result = PullResult("node-1", IMAGE.reference, ok, 0.4, "")
    pull = MeasuredPull(result, Traffic([]), Traffic(served), Traffic(bypass))
    return FirstPulls({"node-1": IMAGE}, {"node-1": pull}, 0.0)


def test_a_first_pull_the_mirror_served_whole_warms_it():
    assert _first([_blob_get("10.0.0.5")], []).first_pull_problem("node-1") is None


def test_a_first_pull_with_a_request_to_docker_hub_names_it_and_the_bypass_check():
    problem = _first([_blob_get("10.0.0.5")], [_blob_get("10.0.0.5", "docker/28.5.2")])
    text = problem.first_pull_problem("node-1")
    assert text is not None and "{'GET blob': 1}" in text
    assert "test_node_pull_goes_through_the_mirror" in text


def test_a_first_pull_the_mirror_never_saw_says_so():
    text = _first([], [], ok=False).first_pull_problem("node-1")
    assert text is not None and "the mirror served nothing" in text and "pull ok: False" in text


class _Node:
    def __init__(self, name: str) -> None:
        self.name = name


def test_two_pulls_on_one_node_or_of_one_repository_cannot_be_told_apart():
    other = make_image("mirrorcheck/first-abc-node-2", "v1", layer_sizes=[10])
    with pytest.raises(ValueError, match="one pull per node and repository"):
        measure_pulls(None, [PullOrder(_Node("node-1"), IMAGE), PullOrder(_Node("node-1"), other)])
    with pytest.raises(ValueError, match="one pull per node and repository"):
        measure_pulls(None, [PullOrder(_Node("node-1"), IMAGE), PullOrder(_Node("node-2"), IMAGE)])

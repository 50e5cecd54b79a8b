"""Rate limits: what Docker Hub would bill with the mirror, against without it.

Docker Hub counts manifest GETs as pulls (HEADs and blobs are free). Without a
mirror, each node's pull would send Docker Hub the manifest GETs the node sent
the mirror; with the mirror, Docker Hub sees only the mirror's own GETs. The
pulls judged are the nodes' pulls of one fresh image, the first node's alone and
then the others' at once (``node_pulls``, suites/conftest.py).
"""

from __future__ import annotations

import pytest

from mirrorcheck.rules.limitations import pull_cost

pytestmark = [pytest.mark.hermetic_only]


def test_n_node_pulls_cost_docker_hub_one_cold_pull(lab, node_pulls, record_property):
    # Every node's pull of one fresh image (node_pulls, suites/conftest.py).
    image, pulls = node_pulls.image, node_pulls.pulls
    assert all(p.result.ok for p in pulls), [
        p.result.output[-300:] for p in pulls if not p.result.ok
    ]
    # Docker Hub bills whatever reaches it: the mirror's fetches and any node's own requests.
    with_mirror = node_pulls.upstream().billable() + sum(p.bypass.billable() for p in pulls)
    without_mirror = sum(p.served.billable() for p in pulls)
    record_property("billable_manifest_gets", with_mirror)
    record_property("billable_without_mirror", without_mirror)
    record_property("billable_saved", without_mirror - with_mirror)
    cold = pull_cost(lab.registry_version or None, warm=False)
    assert with_mirror <= cold.manifest_gets * len(image.manifests), (
        f"{len(pulls)} pulls cost Docker Hub {with_mirror} billable manifest GETs; one cold pull "
        f"should cost {cold.manifest_gets} ({cold.source})"
    )
    assert without_mirror >= len(pulls), (
        f"the nodes sent only {without_mirror} manifest GETs for {len(pulls)} pulls: "
        "some pulls did not go through the mirror"
    )

"""Checks that record the figures the real suites record, with fixed values and no Docker.

The report controls run this file in a child pytest (it is not collected on its
own: its name does not start with ``test_``) to watch every figure reach
junit.xml, summary.json and report.html, under xdist too. Node 3's daemon.json
check fails on purpose, so the reports have a failing check to name.
"""

from __future__ import annotations

import pytest

from mirrorcheck.pytest_plugin.reports import record_target

ENGINE = "20.10.24+dfsg1"
MIRROR = "https://mirror.test"


@pytest.fixture(scope="session", autouse=True)
def described_target(pytestconfig: pytest.Config) -> None:
    """What the lab fixture tells the reports about itself."""
    record_target(
        pytestconfig,
        {
            "mode": "hermetic",
            "mirror_url": MIRROR,
            "fqdn": "mirror.test",
            "registry_version": "2.8.2+ds1",
            "nodes": [
                {"name": f"node-{i}", "engine_version": ENGINE, "startup_error": ""}
                for i in (1, 2, 3)
            ],
        },
    )


def test_node_daemon_json_keeps_the_mirror(node_name, record_property):
    broken = node_name == "node-3"
    mirrors = [] if broken else [f"{MIRROR}/"]
    record_property("effective_mirrors", mirrors)
    record_property(
        "daemon_json_verdict", "missing comma before registry-mirrors" if broken else "ok"
    )
    assert not broken, f"{node_name}: daemon.json lost registry-mirrors (recorded failure)"


def test_warm_pull_by_tag_costs_no_billable_request(node_name, record_property):
    record_property("warm_pull_seconds", 0.25 + int(node_name[-1]) / 100)
    record_property("billable_manifest_gets", 0)


def test_nodes_pulling_one_after_another_fetch_blobs_only_for_the_first(record_property):
    record_property("upstream_requests_per_pull", {"node-1": 9, "node-2": 1, "node-3": 1})
    record_property("upstream_blob_gets_per_pull", {"node-1": 6, "node-2": 0, "node-3": 0})
    record_property(
        "upstream_blob_gets_per_digest", {"sha256:aa": 2, "sha256:bb": 2, "sha256:cc": 2}
    )
    record_property("cold_pull_seconds", {"node-1": 1.5})
    record_property("upstream_bytes", 6_291_456)
    record_property("bytes_served_to_nodes", 18_874_368)
    record_property("billable_manifest_gets", 1)
    record_property("billable_without_mirror", 3)

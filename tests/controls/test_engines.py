"""A mixed fleet: node-1 on Engine 28.5 with the containerd store, node-2 on 20.10 (classic).

One small lab of the default topology (a swarm deploying the example stack)
through the smoke suite, as a user runs it with ``--nodes 2 --engine
28.5,20.10``; the per-node table of summary.json must
show each node's engine and image store (``docker info``: ServerVersion and
DriverStatus ``driver-type``), and the pull through the mirror must pass.
"""

from __future__ import annotations

from mirrorcheck.pytest_plugin.options import fail_or_skip
from mirrorcheck.targets.lab.images.supply import ImageSupply, ImageSupplyError
from tests.suite_runner import run_suites

SMOKE = "suites/test_smoke.py"


def test_a_mixed_fleet_runs_each_node_on_its_engine_and_store(engine, tmp_path):
    try:
        ImageSupply(engine).resolve_all(["28.5", "20.10"])
    except ImageSupplyError as error:
        fail_or_skip(str(error))
    run = run_suites(
        SMOKE, "--nodes", "2", "--engine", "28.5,20.10", "--topology", "swarm", tmp_path=tmp_path
    )
    run.expect("test_node_pulls_a_test_image_by_tag_through_the_mirror", "passed")
    nodes = {node["name"]: node for node in run.summary()["nodes"]}
    seen = {
        name: (str(node.get("engine_version", "")).split(".")[:2], node.get("image_store"))
        for name, node in nodes.items()
    }
    assert seen == {
        "node-1": (["28", "5"], "containerd"),
        "node-2": (["20", "10"], "classic"),
    }, f"per-node engine and image store in summary.json: {seen}\n{run.output[-2000:]}"

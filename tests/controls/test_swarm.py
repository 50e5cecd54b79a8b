"""The swarm topology (``--topology swarm``): the example stack passes, broken stacks fail.

Each control runs the suites in a child pytest on a swarm of its own; the
broken ones use one node (a swarm of one manager) to stay cheap. What each
broken stack must fail, with its cause named:

- the storage volume left out: the restarted mirror fetches everything
  again (its storage did not survive the new task);
- the Traefik labels on the container instead of under ``deploy:``: Traefik
  (reading service labels in swarm mode) has no route for the mirror;
- the registry on a network Traefik does not join: Traefik cannot reach it.

The last two stop the lab before any pull, naming what Traefik answered and
the Traefik lint's finding.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorcheck.options import EXAMPLES
from tests.suite_runner import run_suites

REFERENCE = (EXAMPLES / "registry-stack.yml").read_text()
CORE = ("suites/test_smoke.py", "suites/test_single_fetch.py", "suites/test_cache_hits.py")
CORE_BYPASS = "suites/test_bypass.py"
SMOKE = "test_node_pulls_a_test_image_by_tag_through_the_mirror"
RESTART = "test_restarted_mirror_keeps_its_cache"

pytestmark = pytest.mark.usefixtures("engine")


def on_swarm(tmp_path: Path, stack: str, *suites: str, nodes: int = 1):
    path = tmp_path / "registry-stack.yml"
    path.write_text(stack)
    return run_suites(
        *suites,
        "--topology",
        "swarm",
        "--stack-file",
        str(path),
        "--nodes",
        str(nodes),
        tmp_path=tmp_path,
        timeout=600,
    )


def test_the_example_stack_on_a_swarm_passes_the_core_suites(tmp_path):
    run = on_swarm(tmp_path, REFERENCE, *CORE, CORE_BYPASS, nodes=2)
    assert run.exit_code == 0, run.output[-3000:]
    target = run.summary().get("target") or {}
    text = str(target)
    assert "'topology': 'swarm'" in text and "host mode" in text, text[:2000]


def test_a_stack_without_its_storage_volume_loses_the_cache_on_restart(tmp_path):
    broken = REFERENCE.replace(
        "      - /var/data/registry/registry-mirror-data:/var/lib/registry\n", ""
    )
    assert broken != REFERENCE
    run = on_swarm(tmp_path, broken, f"suites/test_outages.py::{RESTART}")
    run.expect(RESTART, "failed", "storage did not survive")


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        (
            lambda s: s.replace("    deploy:\n      labels:", "    labels:"),
            "traefik/container-labels",
        ),
        (
            lambda s: s.replace("      - traefik_public\n", "      - backend\n").replace(
                "networks:\n  traefik_public:\n    external: true",
                "networks:\n  backend:\n    driver: overlay",
            ),
            "traefik/network-not-joined",
        ),
    ],
    ids=["labels-outside-deploy", "network-traefik-does-not-share"],
)
def test_a_stack_traefik_cannot_route_fails_the_pulls_naming_the_cause(tmp_path, change, cause):
    broken = change(REFERENCE)
    assert broken != REFERENCE
    run = on_swarm(tmp_path, broken, f"suites/test_smoke.py::{SMOKE}")
    # The lab stops at the route, as it stops at a mirror that does not start: the checks
    # that need it error out with the cause (Traefik's answer, the lint's finding).
    run.expect(SMOKE, "error", "Traefik does not serve the mirror", cause)

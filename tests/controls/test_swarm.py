"""The swarm topology: broken stacks fail, a stack configured another way passes.

The example stack passing every suite on the swarm is the reference control
(``test_suite_controls.py``). Each control here runs the suites in a child
pytest on a swarm of its own, of one node (a swarm of one manager) to stay
cheap. What each broken stack must fail, with its cause named:

- the storage volume left out: the restarted mirror fetches everything
  again (its storage did not survive the new task);
- the Traefik labels on the container instead of under ``deploy:``: Traefik
  (reading service labels in swarm mode) has no route for the mirror;
- the registry on a network Traefik does not join: Traefik cannot reach it;
- a ``Host`` rule for another name, and the guide's Traefik 1.x labels: no
  router matches the mirror's name.

These four stop the lab before any pull, naming what Traefik answered and the
Traefik lint's finding; their child runs start together. And a positive
control: a registry configured through the stack's environment
(``REGISTRY_PROXY_REMOTEURL``, the storage root at the volume), with a config
file that has no proxy section, passes: distribution applies the environment
over the file, and so does the swarm.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from mirrorcheck.options import EXAMPLES
from tests.suite_runner import SuiteRun, run_suites, suites_together

REFERENCE = (EXAMPLES / "registry-stack.yml").read_text()
CORE_BYPASS = "suites/test_bypass.py"
SMOKE = "test_node_pulls_a_test_image_by_tag_through_the_mirror"
RESTART = "test_restarted_mirror_keeps_its_cache"

pytestmark = pytest.mark.usefixtures("engine")


def swarm_args(folder: Path, stack: str, *suites: str, nodes: int = 1) -> list[str]:
    """The child run's arguments for ``suites`` on a swarm deploying ``stack`` (written to
    ``folder``)."""
    folder.mkdir(exist_ok=True)
    path = folder / "registry-stack.yml"
    path.write_text(stack)
    return [*suites, "--topology", "swarm", "--stack-file", str(path), "--nodes", str(nodes)]


def on_swarm(tmp_path: Path, stack: str, *suites: str, nodes: int = 1):
    return run_suites(
        *swarm_args(tmp_path, stack, *suites, nodes=nodes), tmp_path=tmp_path, timeout=600
    )


def test_a_stack_without_its_storage_volume_loses_the_cache_on_restart(tmp_path):
    broken = REFERENCE.replace(
        "      - /var/data/registry/registry-mirror-data:/var/lib/registry\n", ""
    )
    assert broken != REFERENCE
    run = on_swarm(tmp_path, broken, f"suites/test_outages.py::{RESTART}")
    run.expect(RESTART, "failed", "storage did not survive")


# Each unroutable stack: how it is made from the example, and the lint finding that names it.
NO_ROUTE = {
    "labels-outside-deploy": (
        lambda s: s.replace("    deploy:\n      labels:", "    labels:"),
        "traefik/container-labels",
    ),
    "network-traefik-does-not-share": (
        lambda s: s.replace("      - traefik_public\n", "      - backend\n").replace(
            "networks:\n  traefik_public:\n    external: true",
            "networks:\n  backend:\n    driver: overlay",
        ),
        "traefik/network-not-joined",
    ),
    "host-rule-for-another-name": (
        lambda s: s.replace("Host(`<your mirror FQDN>`)", "Host(`other.example.com`)"),
        "traefik/host-mismatch",
    ),
    "the-guides-traefik-1-labels": (
        lambda s: (EXAMPLES / "guide" / "registry-stack.yml").read_text(),
        "traefik/v1-labels",
    ),
}


@pytest.fixture(scope="module")
def no_route_runs(engine, tmp_path_factory) -> Iterator[dict[str, Future[SuiteRun]]]:
    """The smoke check on each unroutable stack, every child run started at once (one-node
    swarms, own run ids so that none sweeps another's lab); each test waits for its own."""
    tmp = tmp_path_factory.mktemp("no-route")
    args = {
        name: swarm_args(tmp / name, change(REFERENCE), f"suites/test_smoke.py::{SMOKE}")
        for name, (change, _) in NO_ROUTE.items()
    }
    with suites_together(args, tmp, workers=len(args), timeout=600) as started:
        yield started


@pytest.mark.parametrize("case", list(NO_ROUTE))
def test_a_stack_traefik_cannot_route_fails_the_pulls_naming_the_cause(no_route_runs, case):
    change, cause = NO_ROUTE[case]
    assert change(REFERENCE) != REFERENCE
    run = no_route_runs[case].result()
    # The lab stops at the route, as it stops at a mirror that does not start: the checks
    # that need it error out with the cause (Traefik's answer, the lint's finding).
    run.expect(SMOKE, "error", "Traefik does not serve the mirror", cause)
    # What the lab had changed in the stack is reported, though the lab stopped.
    substitutions = (run.summary().get("target") or {}).get("substitutions") or []
    assert any("extra_hosts of service" in line for line in substitutions), substitutions
    assert "changed by the lab: extra_hosts of service" in run.output, run.output[-3000:]


def test_a_registry_configured_through_the_stacks_environment_passes(tmp_path):
    config = (EXAMPLES / "registry-config.yml").read_text()
    without_proxy = config.replace("proxy:\n  remoteurl: https://registry-1.docker.io\n", "")
    assert "proxy:" not in without_proxy
    config_file = tmp_path / "config" / "registry-config.yml"
    config_file.parent.mkdir()
    config_file.write_text(without_proxy)
    stack = REFERENCE.replace(
        "      - /var/data/registry/registry-mirror-data:/var/lib/registry\n",
        "      - /var/data/registry/registry-mirror-data:/data\n",
    ).replace(
        "    volumes:\n",
        "    environment:\n"
        "      - REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io\n"
        "      - REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/data\n"
        "    volumes:\n",
        1,
    )
    assert "REGISTRY_PROXY_REMOTEURL" in stack and ":/data\n" in stack
    run = on_swarm(
        tmp_path,
        stack,
        "suites/test_registry_config.py",
        f"suites/test_smoke.py::{SMOKE}",
        CORE_BYPASS,
        "--registry-config",
        str(config_file),
    )
    assert run.exit_code == 0, run.output[-3000:]
    assert run.outcome(SMOKE) == "passed"

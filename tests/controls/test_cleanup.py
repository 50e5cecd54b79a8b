"""Nothing leaks: every lab resource is removed after a pass, a failure, a broken lab and Ctrl-C.

Each control runs a child pytest on a small test file using the ``lab``
fixture, under a known run id, then asks Docker for anything labelled with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker.errors
import pytest

from mirrorcheck.targets.lab import sweeper
from mirrorcheck.targets.lab.images.supply import ImageSupply
from mirrorcheck.targets.lab.labels import RUN_LABEL, RunLabels, new_run_id, owner_of
from mirrorcheck.targets.lab.sweeper import leftovers, sweep_run, sweep_stale
from mirrorcheck.targets.nodes import engine_api
from mirrorcheck.waiting import wait_until
from tests.suite_runner import PROJECT_ROOT

pytestmark = [pytest.mark.docker]

PASSING = """
def test_lab_is_up(lab):
    assert lab.nodes and not lab.nodes[0].startup_error
"""
FAILING = """
def test_lab_then_fail(lab):
    assert lab.nodes
    raise AssertionError("a check failed on purpose")
"""
HANGING = """
import time
def test_lab_then_wait(lab):
    time.sleep(600)
"""
# Every node pulls an image its mirror cannot fetch: the upstream is paused, and
# distribution sets no timeout on its upstream fetch (FINDINGS.md, Network), so each
# node's pull (its request to dockerd through curl) hangs until its 300 s bound. Each step
# writes "<node container> <reference>" to {pulls} as it starts; {wait} waits on the nodes.
BLOCKED_PULLS = """
from concurrent.futures import ThreadPoolExecutor
from mirrorcheck.at_once import at_once

def test_pulls_blocked_then_interrupted(lab):
    image = lab.push_image("mirrorcheck/blocked-pull")
    lab.upstream.pause()

    def pull(node):
        with open({pulls!r}, "a") as pulls:
            pulls.write(f"{{node.container.name}} {{image.reference}}\\n")
        return node.pull(image.reference)

    {wait}
"""
AT_ONCE = "at_once(pull, lab.nodes)"
POOL_MAP = (  # the pattern at_once replaced: its `with` joins the blocked workers on Ctrl-C
    "with ThreadPoolExecutor(len(lab.nodes)) as pool:\n        list(pool.map(pull, lab.nodes))"
)
BLOCKED_NODES = 3
INTERRUPTED_BOUND = 30.0  # seconds from Ctrl-C to the child's exit, its lab removed


def run_child(tmp_path: Path, body: str, run_id: str, *args: str, wait: bool = True):
    test_file = tmp_path / "test_child.py"
    test_file.write_text(body)
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(test_file),
        # The checkout's fixtures, as its root conftest.py loads them.
        *("-p", "fixtures.run", "-p", "fixtures.lab"),
        "-p",
        "no:cacheprovider",
        "-q",
        "--nodes",
        "1",
        "--rootdir",
        str(tmp_path),
        "--testrunuid",
        run_id,
        *args,
    ]
    env = {"MIRRORCHECK_TOPOLOGY": "plain", **os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    if wait:
        return subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
    return subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_a_passing_run_leaves_nothing(engine, tmp_path):
    run_id = new_run_id()
    done = run_child(tmp_path, PASSING, run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert leftovers(engine, run_id) == []


def test_a_failing_run_leaves_nothing(engine, tmp_path):
    run_id = new_run_id()
    done = run_child(tmp_path, FAILING, run_id)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "a check failed on purpose" in done.stdout
    assert leftovers(engine, run_id) == []


def test_a_lab_that_fails_to_start_leaves_nothing(engine, tmp_path):
    broken = tmp_path / "config.yml"
    broken.write_text("version: 0.1\nhttp:\n  addr: [unclosed\n")
    run_id = new_run_id()
    done = run_child(tmp_path, PASSING, run_id, "--registry-config", str(broken))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "registry-config/yaml-syntax" in done.stdout, done.stdout[-2000:]
    assert leftovers(engine, run_id) == []


def test_an_interrupted_run_leaves_nothing(engine, tmp_path):
    run_id = new_run_id()
    child = run_child(tmp_path, HANGING, run_id, wait=False)
    try:
        wait_until(
            lambda: any("node-1" in item for item in leftovers(engine, run_id)),
            timeout=120,
            interval=0.5,
            what="the child run's lab to start its node",
            give_up=lambda: (
                f"the child exited early:\n{child.stdout.read()}"
                if child.poll() is not None
                else None
            ),
        )
        time.sleep(1)  # inside the test body now
        child.send_signal(signal.SIGINT)
        output, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 2, output
    assert leftovers(engine, run_id) == [], output


def _pulls_running(engine, run_id: str, reference: str) -> set[str]:
    """The run's containers in which a pull of ``reference`` runs now: ``docker pull``, or
    the same request through curl on the node's socket (``engine_api``)."""
    asked = (f"docker pull {reference}", engine_api.pull_argv(reference)[-1])
    running = set()
    for container in engine.containers.list(filters={"label": [f"{RUN_LABEL}={run_id}"]}):
        try:
            processes = container.top(ps_args="-eo pid,args").get("Processes") or []
        except docker.errors.APIError:
            continue  # paused (the upstream) or gone
        if any(pull in " ".join(p) for p in processes for pull in asked):
            running.add(str(container.name))
    return running


def interrupt_blocked_pulls(
    engine, tmp_path: Path, wait: str, exit_within: float = INTERRUPTED_BOUND
) -> tuple[str, float, int, str]:
    """A child run interrupted while every node's pull hangs: its run id, the seconds from
    Ctrl-C to its exit, its exit code and output.

    Fails unless every node's pull is seen running, and still running 3 s
    later, before the Ctrl-C; fails when the child has not exited
    ``exit_within`` seconds after it (the child is then killed, its run swept).
    """
    run_id, pulls = new_run_id(), tmp_path / "pulls"
    body = BLOCKED_PULLS.format(pulls=str(pulls), wait=wait)
    child = run_child(tmp_path, body, run_id, "--nodes", str(BLOCKED_NODES), wait=False)
    try:

        def started() -> list[str]:
            lines = pulls.read_text().splitlines() if pulls.exists() else []
            return lines if len(lines) == BLOCKED_NODES else []

        lines = wait_until(
            started,
            timeout=240,
            interval=0.5,
            what=f"the child run's {BLOCKED_NODES} nodes to start their pulls",
            give_up=lambda: (
                f"the child exited early:\n{child.stdout.read()}"
                if child.poll() is not None
                else None
            ),
        )
        nodes = {line.split()[0] for line in lines}
        reference = lines[0].split()[1]
        wait_until(
            lambda: _pulls_running(engine, run_id, reference) == nodes,
            timeout=30,
            what=f"the pull of {reference} to run on {sorted(nodes)}",
        )
        time.sleep(3)
        still = _pulls_running(engine, run_id, reference)
        assert still == nodes, f"pulls not blocked: after 3 s only {sorted(still)} still pull"
        interrupted = time.monotonic()
        child.send_signal(signal.SIGINT)
        try:
            output, _ = child.communicate(timeout=exit_within)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the interrupted run had not exited {exit_within:g} s after Ctrl-C")
        return run_id, time.monotonic() - interrupted, child.returncode, output
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
            sweep_run(engine, run_id)


def test_an_interrupted_run_is_not_held_by_blocked_pulls(engine, tmp_path):
    """Ctrl-C while every node's pull hangs: the run ends now and removes its lab."""
    run_id, seconds, returncode, output = interrupt_blocked_pulls(engine, tmp_path, AT_ONCE)
    assert returncode == 2, output
    assert seconds < INTERRUPTED_BOUND, f"exited {seconds:.0f} s after Ctrl-C:\n{output}"
    assert leftovers(engine, run_id) == [], output


def test_leftovers_of_a_dead_run_are_swept_at_start(engine):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    labels = RunLabels(run_id=new_run_id(), owner=owner_of(dead.pid).rsplit("/", 1)[0] + "/1")
    volume = engine.volumes.create(
        f"mirrorcheck-{labels.run_id}-orphan", labels=labels.as_dict("orphan")
    )
    network = engine.networks.create(
        f"mirrorcheck-{labels.run_id}-orphan", internal=True, labels=labels.as_dict("orphan")
    )
    try:
        removed = sweep_stale(engine).removed
        assert f"volume {volume.name}" in removed and f"network {network.name}" in removed
        assert leftovers(engine, labels.run_id) == []
    finally:
        for resource in (volume, network):
            with contextlib.suppress(docker.errors.NotFound):
                resource.remove()


def test_a_network_the_engine_keeps_is_reported_with_its_fix_and_the_sweep_goes_on(
    engine, monkeypatch
):
    """A dead run's network the engine refuses to remove ("has active endpoints") does not
    stop the sweep: it is named, with the fix, and the rest is removed."""
    monkeypatch.setattr(sweeper, "NETWORK_RELEASE_TIMEOUT", 1.0)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    labels = RunLabels(run_id=new_run_id(), owner=owner_of(dead.pid).rsplit("/", 1)[0] + "/1")
    network = engine.networks.create(
        f"mirrorcheck-{labels.run_id}-held", internal=True, labels=labels.as_dict("held")
    )
    volume = engine.volumes.create(
        f"mirrorcheck-{labels.run_id}-orphan", labels=labels.as_dict("orphan")
    )
    # An endpoint the sweep may not remove: a container of a live run, this one (the engine's
    # phantom endpoint of a removed container answers the same, and cannot be made on purpose).
    holder = engine.containers.run(
        ImageSupply(engine).resolve("node").image,
        entrypoint=["sleep", "600"],
        detach=True,
        network=network.name,
        labels=RunLabels.for_this_process().as_dict("network-holder"),
    )
    try:
        sweep = sweep_stale(engine)
        assert f"volume {volume.name}" in sweep.removed
        [kept] = [k for k in sweep.kept if network.name in k]
        assert "active endpoints" in kept and "Fix: restart dockerd" in kept
    finally:
        holder.remove(force=True)
        for resource in (volume, network):
            with contextlib.suppress(docker.errors.NotFound):
                resource.remove()

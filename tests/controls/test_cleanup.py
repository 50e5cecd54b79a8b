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

from mirrorcheck.targets.lab.labels import RunLabels, new_run_id, owner_of
from mirrorcheck.targets.lab.sweeper import leftovers, sweep_stale
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
        removed = sweep_stale(engine)
        assert f"volume {volume.name}" in removed and f"network {network.name}" in removed
        assert leftovers(engine, labels.run_id) == []
    finally:
        for resource in (volume, network):
            with contextlib.suppress(docker.errors.NotFound):
                resource.remove()

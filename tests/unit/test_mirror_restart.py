"""A swarm mirror's restart, read from its task history: it ends at the new task's first failure.

The task histories are ``docker service ps`` as recorded on the lab's swarm
during a restart while Docker Hub's stand-in was down (distribution 2.8.2
panics at start, exit 2) and after it came back.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from mirrorcheck.targets.lab.swarm import service_mirror
from mirrorcheck.targets.lab.swarm.service_mirror import SwarmMirror, new_failures
from mirrorcheck.targets.lab.swarm.tasks import Task, parse_tasks
from mirrorcheck.waiting import WaitTimeout

PANIC = 'panic: Get "https://registry-1.docker.io/v2/": dial tcp 172.28.0.3:443: connection refused'


def ps(*rows: tuple[str, str, str, str, str]) -> str:
    """``docker service ps --format '{{json .}}'`` lines: (id, node, desired, current, error)."""
    keys = ("ID", "Node", "DesiredState", "CurrentState", "Error")
    name = {"Name": "mirror_registry-mirror.1"}
    return "\n".join(json.dumps({**name, **dict(zip(keys, row, strict=True))}) for row in rows)


OLD_RUNNING = ("old", "node-3", "Running", "Running 5 minutes ago", "")
OLD_STOPPING = ("old", "node-3", "Shutdown", "Running 5 minutes ago", "")
OLD_STOPPED = ("old", "node-3", "Shutdown", "Shutdown 1 second ago", "")
NEW_READY = ("new", "node-2", "Ready", "Ready 1 second ago", "")
NEW_STARTING = ("new", "node-2", "Running", "Starting 1 second ago", "")
NEW_RUNNING = ("new", "node-2", "Running", "Running 1 second ago", "")
NEW_FAILED = ("new", "node-2", "Shutdown", "Failed 1 second ago", '"task: non-zero exit (2)"')
RETRY_READY = ("retry", "node-3", "Ready", "Assigned 1 second ago", "")


def test_only_a_task_started_since_the_restart_counts_as_its_failure():
    before = {"old", "new"}  # the restart after the outage: the failed task is history
    history = parse_tasks(ps(RETRY_READY, NEW_FAILED, OLD_STOPPED))
    assert new_failures(history, before) == []
    (failed,) = new_failures(history, {"old"})
    assert failed.id == "new" and "non-zero exit (2)" in failed.describe()
    assert new_failures(parse_tasks(ps(NEW_READY, OLD_STOPPING)), {"old"}) == []


class ScriptedSwarm:
    """A swarm whose task history moves on at each ``tasks()`` call, then stays."""

    def __init__(self, *histories: str) -> None:
        self.histories = [parse_tasks(h) for h in histories]
        self.logs_read: list[str] = []

    def force_update(self, service: str) -> set[str]:
        return {t.id for t in self.histories[0]}

    def tasks(self, service: str) -> list[Task]:
        return self.histories.pop(0) if len(self.histories) > 1 else self.histories[0]

    def task_log(self, task: Task) -> str:
        self.logs_read.append(task.id)
        return f"level=info version=2.8.2+ds1\n{PANIC}\n"

    def service_logs(self, service: str) -> str:
        return "every task's log"


def mirror_on(swarm: ScriptedSwarm, answering: set[str]) -> SwarmMirror:
    prepared = SimpleNamespace(registry_service="registry-mirror")
    mirror = SwarmMirror(swarm, prepared, "version: 0.1\n", [], None, {})  # type: ignore[arg-type]
    mirror._started = True  # deployed: the next start is a restart
    mirror._answers = lambda task: task.id in answering  # type: ignore[method-assign]
    mirror.log = lambda: "level=info version=2.8.2+ds1\n"  # type: ignore[method-assign]
    return mirror


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setattr(service_mirror, "POLL_SECONDS", 0.01)


def test_a_restart_whose_new_task_panics_ends_at_that_failure_with_its_log():
    swarm = ScriptedSwarm(
        ps(OLD_RUNNING), ps(NEW_READY, OLD_STOPPING), ps(NEW_STARTING, OLD_STOPPED),
        ps(RETRY_READY, NEW_FAILED, OLD_STOPPED),
    )  # fmt: skip
    started = time.monotonic()
    outcome = mirror_on(swarm, answering=set()).start()
    assert time.monotonic() - started < 1  # not the 45 s bound, nor the swarm's retry
    assert not outcome.up
    assert "non-zero exit (2)" in outcome.log and PANIC in outcome.log
    assert swarm.logs_read == ["new"]
    assert "task" in outcome.timings


def test_a_restart_is_up_once_its_new_task_answers_not_the_old_one():
    swarm = ScriptedSwarm(
        ps(OLD_RUNNING), ps(NEW_READY, OLD_STOPPING), ps(NEW_RUNNING, OLD_STOPPED)
    )
    mirror = mirror_on(swarm, answering={"old", "new"})
    outcome = mirror.start()
    assert outcome.up and mirror.node == "node-2"
    assert outcome.version == "2.8.2+ds1"


def test_a_restart_that_never_answers_runs_out_its_bound_saying_what_it_awaited(monkeypatch):
    monkeypatch.setattr(service_mirror, "RESTART_TIMEOUT", 0.05)
    swarm = ScriptedSwarm(ps(OLD_RUNNING), ps(NEW_RUNNING, OLD_STOPPED))
    outcome = mirror_on(swarm, answering=set()).start()
    assert not outcome.up
    assert "a new task of service mirror_registry-mirror to answer" in outcome.log
    assert "every task's log" in outcome.log  # no task failed: the service's log


def test_a_restart_is_up_for_the_nodes_only_once_the_proxy_routes_to_its_task():
    histories = (ps(OLD_RUNNING), ps(NEW_RUNNING, OLD_STOPPED))
    routed = mirror_on(ScriptedSwarm(*histories), answering={"new"}).start(route=lambda: None)
    assert routed.up and "route" in routed.timings

    def no_route() -> None:
        raise WaitTimeout("answered 502 (waited 30 s for Traefik to route https://mirror.test/v2/)")

    unrouted = mirror_on(ScriptedSwarm(*histories), answering={"new"}).start(route=no_route)
    assert not unrouted.up
    assert "Traefik does not route to it: answered 502" in unrouted.log

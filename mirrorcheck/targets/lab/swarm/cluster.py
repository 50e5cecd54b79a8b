"""The lab's nodes as a Docker swarm: forming it, loading images, deploying stacks, waiting.

node-1 is the manager (one manager: a swarm of 2 managers loses its quorum
with either, FINDINGS "Swarm inside the lab"); the other nodes join as
workers. Images are saved from the host's engine once and loaded into every
node in parallel, then tagged with the names the stacks use (``registry:2``):
no node pulls anything. Services are deployed with the manager's own docker
CLI, and judged by their task history (``tasks``).

Usage::

    swarm = Swarm(manager, {"node-1": "172.18.0.5", ...})
    swarm.form(workers)                             # 1 manager, the rest join
    swarm.load_images(nodes, {"registry:2": "mirrorcheck/registry:abc"})
    swarm.create_networks(["traefik_public"])       # attachable overlays
    swarm.deploy("mirror", stack_text)              # docker stack deploy
    swarm.wait_running("mirror_registry-mirror", ready=lambda task: ..., timeout=30)
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urlencode
from weakref import WeakKeyDictionary

from docker.models.containers import Container

from mirrorcheck.at_once import at_once
from mirrorcheck.targets.lab.swarm.tasks import (
    Task,
    failures,
    parse_api_tasks,
    parse_tasks,
    running,
)
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.waiting import WaitTimeout, wait_until

SWARM_PORT = 2377
LOAD_TIMEOUT = 120.0
SERVICE_TIMEOUT = 45.0
CONTAINER_TIMEOUT = 10.0  # a task seen running, until its node lists its container
# Tasks try to pull their image first; dockerd skips that with this in its environment
# (moby daemon/cluster/executor/container/controller.go). The commands that create
# services are given it too (OFFLINE, as ``env`` takes it).
OFFLINE = "DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1"
OFFLINE_TASKS = dict([OFFLINE.split("=", 1)])
FAILURES_TO_GIVE_UP = 2


@dataclass
class HostForced:
    """What the lab's nodes force on every stack deployed on one swarm, and what it changed.

    ``rewrite(text, stack)`` returns the copy to deploy and one line per
    change (``stack.host_forced``); ``changes`` gathers them for the reports.
    """

    rewrite: Callable[[str, str], tuple[str, list[str]]]
    changes: list[str] = field(default_factory=list)


# Per manager node: every Swarm over that node (the lab's, the edge's) applies it.
_FORCED: WeakKeyDictionary[DockerExecNode, HostForced] = WeakKeyDictionary()


def force_on_stacks(manager: DockerExecNode, forced: HostForced) -> None:
    """Apply ``forced`` to every stack deployed through ``manager`` from now on."""
    _FORCED[manager] = forced


class SwarmError(RuntimeError):
    """A swarm step failed; the message names the step, the node and docker's words."""


def put_file(container: Container, path: str, content: bytes) -> None:
    """Write ``content`` at ``path`` in a (running) container, making its folder."""
    target = PurePosixPath(path)
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        info = tarfile.TarInfo(target.name)
        info.size = len(content)
        info.mtime = int(time.time())
        archive.addfile(info, io.BytesIO(content))
    container.exec_run(["mkdir", "-p", str(target.parent)])
    if not container.put_archive(str(target.parent), data.getvalue()):
        raise SwarmError(f"{container.name}: cannot write {path}")


def _stream(source: subprocess.Popen, sinks: list[subprocess.Popen]) -> None:
    """Copy ``source``'s output into every sink's input; SwarmError when a sink died."""
    assert source.stdout is not None
    try:
        while chunk := source.stdout.read(1 << 20):
            for sink in sinks:
                assert sink.stdin is not None
                sink.stdin.write(chunk)
    except BrokenPipeError:
        raise SwarmError("a node stopped reading the image archive (docker load ended)") from None
    finally:
        for sink in sinks:
            if sink.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    sink.stdin.close()


class Swarm:
    """One swarm: its manager node, and the address of every node on the lab network."""

    def __init__(self, manager: DockerExecNode, addresses: dict[str, str]) -> None:
        self.manager = manager
        self.addresses = addresses
        self.managers = [manager.name]
        self.members: dict[str, DockerExecNode] = {manager.name: manager}  # by node name
        self._containers: dict[str, str] = {}  # task id -> its container's id
        self._hostnames: dict[str, str] = {}  # swarm node id -> hostname (the lab's node name)
        self.timings: dict[str, float] = {}  # seconds per step: "images loaded into node-1"

    def run(self, *argv: str, node: DockerExecNode | None = None, timeout: float = 60) -> str:
        """Run a docker command on ``node`` (default: the manager); SwarmError when it fails."""
        where = node or self.manager
        if argv[:2] == ("docker", "run") and "--log-driver" not in argv:
            # The lab's own containers on a node log where every lab node can (no journal there).
            argv = ("docker", "run", "--log-driver", "json-file", *argv[2:])
        result = where.run(*argv, timeout=timeout)
        if not result.ok:
            raise SwarmError(f"{where.name}: `{' '.join(argv)}` failed: {result.output.strip()}")
        return result.output

    def form(self, workers: list[DockerExecNode]) -> None:
        """``docker swarm init`` on the manager; the ``workers`` join in parallel."""
        address = self.addresses[self.manager.name]
        self.run("docker", "swarm", "init", "--advertise-addr", address)
        token = self.run("docker", "swarm", "join-token", "-q", "worker").strip()

        def join(node: DockerExecNode) -> None:
            self.run(
                "docker", "swarm", "join", "--advertise-addr", self.addresses[node.name],
                "--token", token, f"{address}:{SWARM_PORT}", node=node,
            )  # fmt: skip

        at_once(join, workers)
        self.members.update({node.name: node for node in workers})

    def load_images(self, nodes: list[DockerExecNode], names: dict[str, str]) -> None:
        """Stream the host's images into every node at once, tag them as ``names`` say.

        ``names`` maps the name a stack uses (``registry:2``) to the host's
        image tag: ``docker save`` streams into every node's ``docker load`` at
        once (the swarm lab loads archive files instead: ``image_archives``).
        Raises SwarmError naming the step or node that failed.
        """
        self._load_streamed(nodes, names)
        for node in nodes:
            for name, source in names.items():
                self.run("docker", "tag", source, name, node=node)

    def _load_streamed(self, nodes: list[DockerExecNode], names: dict[str, str]) -> None:
        sources = sorted(set(names.values()))
        started = time.monotonic()
        save = subprocess.Popen(
            ["docker", "save", *sources], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        loads = {
            node.name: subprocess.Popen(
                ["docker", "exec", "-i", node.container.id, "docker", "load", "-q"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for node in nodes
        }
        try:
            _stream(save, list(loads.values()))
            if save.wait(timeout=LOAD_TIMEOUT) != 0:
                assert save.stderr is not None
                problem = save.stderr.read().decode(errors="replace").strip()
                raise SwarmError(f"docker save {' '.join(sources)} failed: {problem}")
            for name, process in loads.items():
                if process.wait(timeout=LOAD_TIMEOUT) != 0:
                    assert process.stdout is not None
                    problem = process.stdout.read().decode(errors="replace").strip()
                    raise SwarmError(f"{name}: docker load failed: {problem}")
        finally:
            for process in [save, *loads.values()]:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        group = ", ".join(node.name for node in nodes)
        self.timings[f"images loaded into {group}"] = round(time.monotonic() - started, 3)

    def create_networks(self, names: list[str]) -> None:
        """Each external network a stack declares, as an attachable overlay network."""
        for name in names:
            self.run("docker", "network", "create", "--driver", "overlay", "--attachable", name)

    def deploy(self, stack: str, text: str, path: str) -> None:
        """``docker stack deploy`` of ``text`` (written at ``path`` on the manager) as ``stack``.

        What the nodes force (``force_on_stacks``) is applied to the copy first.
        """
        forced = _FORCED.get(self.manager)
        if forced is not None:
            text, changes = forced.rewrite(text, stack)
            forced.changes.extend(c for c in changes if c not in forced.changes)
        put_file(self.manager.container, path, text.encode())
        self.run(
            "env", OFFLINE, "docker", "stack", "deploy", "--resolve-image", "never",
            "-c", path, stack, timeout=120,
        )  # fmt: skip

    def tasks(self, service: str) -> list[Task]:
        """The service's tasks, newest first, as ``docker service ps --no-trunc`` lists them.

        Asked of the manager's Engine API (``GET /tasks`` filtered by service,
        node names from ``GET /nodes``) where curl can ask it: the waits poll
        this every 0.3 s, and the CLI's start alone costs 70-90 ms of CPU
        (``engine_api``). SwarmError when the manager refuses (no such service).
        """
        query = urlencode({"filters": json.dumps({"service": [service]})})
        answer = self.manager.engine_request("GET", f"/tasks?{query}")
        if answer is None:
            output = self.run(
                "docker", "service", "ps", "--no-trunc", "--format", "{{json .}}", service
            )  # fmt: skip
            return parse_tasks(output)
        if not answer.ok:
            problem = answer.daemon_message()
            raise SwarmError(f"{self.manager.name}: the tasks of {service}: {problem}")
        entries = json.loads(answer.body)
        if {str(e.get("NodeID") or "") for e in entries} - {""} - set(self._hostnames):
            self._hostnames = self._node_hostnames()
        return parse_api_tasks(entries, service, self._hostnames)

    def _node_hostnames(self) -> dict[str, str]:
        """Every swarm node's ID and hostname (the node's name in the lab), from the manager."""
        answer = self.manager.engine_request("GET", "/nodes")
        if answer is None or not answer.ok:
            return dict(self._hostnames)
        return {
            str(n.get("ID")): str((n.get("Description") or {}).get("Hostname") or n.get("ID"))
            for n in json.loads(answer.body)
        }

    def wait_running(
        self,
        service: str,
        *,
        ready: Callable[[Task], bool] | None = None,
        before: frozenset[str] | set[str] = frozenset(),
        timeout: float = SERVICE_TIMEOUT,
    ) -> Task:
        """Wait until a task of ``service`` (not one of ``before``) runs and is ``ready``.

        Gives up at once after 2 failed tasks, or after ``timeout`` seconds,
        raising WaitTimeout with each failed task's error (a crash-looping
        task that the replica count shows as ``1/1`` is caught here).
        """
        seen: dict[str, list[str]] = {"failures": []}

        def up() -> Task | None:
            tasks = self.tasks(service)
            seen["failures"] = failures(tasks, before)
            for task in running(tasks, before):
                if ready is None or ready(task):
                    return task
            return None

        def crash_looping() -> str | None:
            if len(seen["failures"]) >= FAILURES_TO_GIVE_UP:
                return f"{len(seen['failures'])} tasks failed:\n" + "\n".join(seen["failures"])
            return None

        try:
            return wait_until(
                up, timeout=timeout, interval=0.3, what=f"a task of service {service} to run",
                give_up=crash_looping,
            )  # fmt: skip
        except WaitTimeout as error:
            detail = "\n".join(seen["failures"]) or "no task failed"
            raise WaitTimeout(f"{error}\ntask history:\n{detail}") from None

    def force_update(self, service: str) -> set[str]:
        """Replace the service's task (``docker service update --force``); the old task ids."""
        before = {t.id for t in self.tasks(service)}
        self.run("docker", "service", "update", "--force", "--detach", service)
        return before

    def task_log(self, task: Task) -> str:
        """The log of ``task``'s container, read at its node with ``docker logs``.

        Complete and in the order the container wrote it, as counting marks
        needs: ``docker service logs`` streams through the swarm's log broker,
        which was measured here giving a task's lines late and out of order
        (a pull's HEAD missing from the slice after a mark, its blob GETs in
        the next one). stdout and stderr together. SwarmError when the node is
        not a member or the task's container is not listed there within 10 s.
        """
        node, container = self.task_container(task)
        return container_log(node, container)

    def task_container(self, task: Task) -> tuple[DockerExecNode, str]:
        """The lab node ``task`` runs on and its container's id there.

        SwarmError when the node is not a member or the task's container is
        not listed there within 10 s.
        """
        node = self.members.get(task.node)
        if node is None:
            raise SwarmError(f"task {task.name.strip()} runs on {task.node!r}, not a lab node")
        if task.id not in self._containers:  # a task keeps its one container

            def container() -> str:
                return self.run(
                    "docker", "ps", "-a", "-q", "--no-trunc",
                    "--filter", f"label=com.docker.swarm.task.id={task.id}", node=node,
                ).strip().split("\n")[0]  # fmt: skip

            try:  # a task seen running may be listed by its node a moment later, under load
                found = wait_until(
                    container,
                    timeout=CONTAINER_TIMEOUT,
                    interval=0.3,
                    what=f"{node.name} to list the container of task {task.name.strip()}",
                )
            except WaitTimeout as error:
                listed = self.run(
                    "docker", "ps", "-a", "--format", "{{.Names}} {{.Status}}", node=node
                ).strip()  # fmt: skip
                raise SwarmError(
                    f"{node.name}: {error}; its containers: {listed or 'none'}"
                ) from None
            self._containers[task.id] = found
        return node, self._containers[task.id]

    def service_logs(self, service: str) -> str:
        """The log of ``service`` (every task's) or of one task (by id): ``docker service logs``.

        stdout and stderr together.
        """
        result = self.manager.run(
            "docker", "service", "logs", "--raw", "--no-task-ids", service, timeout=30
        )  # fmt: skip
        return result.output


def container_log(node: DockerExecNode, container: str, timeout: float = 30) -> str:
    """``docker logs`` of ``container`` on ``node``, stdout and stderr in the order written.

    Both go to one descriptor in the node (``2>&1``): copied from two, the
    exec stream may reorder them.
    """
    return node.run("sh", "-c", 'docker logs "$0" 2>&1', container, timeout=timeout).output

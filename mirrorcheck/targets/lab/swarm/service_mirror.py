"""The mirror as the user's stack runs it: a swarm service, restarted the way a swarm does it.

The interface is the plain lab's ``Mirror`` (``mirrorcheck.targets.lab.mirror``):
``start()`` forces a new task (``docker service update --force``) and reports
how it went, read from the service's task history; ``log()`` is the
service's log (every task's); the debug counters are read at the task's
node, where the lab publishes the debug port in host mode; the storage is
the shared storage folder on this host, when the stack binds the storage
root there.

Usage::

    mirror = SwarmMirror(swarm, prepared, config_text, changes, shared_dir, addresses)
    started = mirror.start()       # MirrorStart(up, log, version): the first task, or a new one
    mirror.debug_url               # http://<task node>:5001
    mirror.node                    # the node running the task ("node-2")
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import requests

from mirrorcheck.at_once import side_by_side
from mirrorcheck.probes.access_log import Traffic, parse_log
from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.probes.synthetic_image import SyntheticImage
from mirrorcheck.rules.registry.config import RegistryConfig
from mirrorcheck.rules.registry.environment import effective_config, settings_of
from mirrorcheck.targets.evidence import MirrorEvidence
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.mirror import STORED_TIMEOUT, MirrorStart, start_version
from mirrorcheck.targets.lab.swarm.cluster import Swarm, SwarmError
from mirrorcheck.targets.lab.swarm.stack import PreparedStack
from mirrorcheck.targets.lab.swarm.tasks import Task, running
from mirrorcheck.targets.mirror_storage import MirrorStorage
from mirrorcheck.waiting import WaitTimeout, wait_until

STACK_NAME = "mirror"
# A restart's bound: its new task was scheduled, started and answered in 3-9 s here (2 cores,
# load 4-15), the old task's stop included.
RESTART_TIMEOUT = 45.0
POLL_SECONDS = 0.2


class RestartFailed(WaitTimeout):
    """A forced restart whose new task failed (``tasks``), or did not answer in time."""

    def __init__(self, message: str, tasks: list[Task]) -> None:
        super().__init__(message)
        self.tasks = tasks


def _timed(step: Callable[[], None]) -> float:
    """Run ``step``; the seconds it took."""
    started = time.monotonic()
    step()
    return round(time.monotonic() - started, 2)


def _route_timed(route: Callable[[], None] | None) -> float | WaitTimeout | None:
    """The seconds ``route`` took, or the ``WaitTimeout`` it raised; None without a route."""
    if route is None:
        return None
    try:
        return _timed(route)
    except WaitTimeout as error:
        return error


def new_failures(tasks: list[Task], before: set[str] | frozenset[str]) -> list[Task]:
    """The tasks not in ``before`` (those of before a restart) that failed, newest first."""
    return [t for t in tasks if t.failed and t.id not in before]


class SwarmMirror:
    """The registry service of the user's stack on the lab's swarm.

    ``addresses`` are the lab-network addresses of the nodes by name; the
    ``changes`` are what the lab changed in the registry config (reported).
    ``shared_dir`` is the host folder every node mounts as the stack's shared disk.
    """

    container = None  # no container of its own: tasks come and go

    def __init__(
        self,
        swarm: Swarm,
        prepared: PreparedStack,
        config_text: str,
        changes: list[str],
        shared_dir: Path,
        addresses: dict[str, str],
    ) -> None:
        self.swarm = swarm
        self.prepared = prepared
        self.config_text = config_text
        self.changes = changes
        self.shared_dir = shared_dir
        self.node_addresses = addresses
        self.service = f"{STACK_NAME}_{prepared.registry_service}"
        self.version = ""
        self.task: Task | None = None
        self._started = False
        self._effective: RegistryConfig | None = None

    # -- where it runs -------------------------------------------------------

    @property
    def node(self) -> str:
        """The node running the current task ("" before the first start)."""
        return self.task.node if self.task else ""

    @property
    def address(self) -> str:
        """The address of the current task's node on the lab network."""
        return self.node_addresses.get(self.node, "")

    @property
    def addresses(self) -> set[str]:
        """Every node's address: a task reaches Docker Hub from its node's (NAT)."""
        return set(self.node_addresses.values())

    def effective_config(self) -> RegistryConfig:
        """The config the task runs: the file with the service's ``REGISTRY_*`` environment
        applied over it, as distribution applies it (``rules.registry.environment``).

        Read once: neither the file nor the stack changes while the lab runs.
        """
        if self._effective is None:
            config = registry_configs.parse_config(self.config_text, "registry config")
            self._effective = effective_config(config, settings_of(self.prepared.registry))
        return self._effective

    @property
    def listen_port(self) -> int:
        return self.effective_config().listen_port

    @property
    def debug_port(self) -> int | None:
        return debug_port_of(self.config_text)

    @property
    def debug_url(self) -> str:
        """The registry's debug server (expvar counters), published in host mode by the lab."""
        return f"http://{self.address}:{self.debug_port or registry_configs.DEBUG_PORT}"

    # -- lifecycle -----------------------------------------------------------

    def _answers(self, task: Task) -> bool:
        """The task's registry answers at its node: its port when published, else its debug port."""
        address = self.node_addresses.get(task.node, "")
        if self.prepared.registry.publishes(self.listen_port):
            url = f"http://{address}:{self.listen_port}/v2/"
        else:
            url = f"http://{address}:{self.debug_port}/debug/vars"
        try:
            return requests.get(url, timeout=2).status_code in (200, 401)
        except requests.RequestException:
            return False

    def start(self, route: Callable[[], None] | None = None) -> MirrorStart:
        """The first task (after deploy), or a new one (``--force``); how it went.

        Never raises for a mirror that does not come up: ``up`` is False and
        ``log`` holds the task history's errors and the failed task's log (the
        service's, every task's, when no task failed). A restart ends at its
        new task's first failure (a panic exits at once; the swarm's retry
        comes 5 s later, swarmkit's default restart delay); the first start,
        at the second (``Swarm.wait_running``). A restart costs at least 2 s
        before the old task stops: moby's task controller takes a task on an
        overlay network out of the service's load balancing and sleeps
        ``defaultGossipConvergeDelay`` (2 s, hard-coded in
        daemon/cluster/executor/container/controller.go) before its stop signal.
        ``route`` waits until Traefik routes to the new task
        (``links.wait_routed``); it runs while the task's log is read, and its
        ``WaitTimeout`` makes the start fail (the nodes cannot reach the task).
        ``timings``: "task", seconds until the task answered or failed;
        "route", the route's wait.
        """
        started, restart, self._started = time.monotonic(), self._started, True
        try:
            if restart:
                self.task = self._restart()
            else:
                self.task = self.swarm.wait_running(self.service, ready=self._answers)
        except (WaitTimeout, SwarmError) as error:
            timings = {"task": round(time.monotonic() - started, 2)}
            return MirrorStart(False, f"{error}\n{self._failure_log(error)}", timings=timings)
        timings = {"task": round(time.monotonic() - started, 2)}
        log, routed = side_by_side(self.log, lambda: _route_timed(route))
        self.version = start_version(log) or self.version
        if isinstance(routed, WaitTimeout):
            problem = f"the new task runs, Traefik does not route to it: {routed}"
            return MirrorStart(False, problem, timings=timings)
        if routed is not None:
            timings["route"] = routed
        return MirrorStart(True, log, self.version, timings)

    def _restart(self) -> Task:
        """Force a new task and wait until it answers; ``RestartFailed`` at its first failure."""
        before = self.swarm.force_update(self.service)
        seen: dict[str, list[Task]] = {"failed": []}

        def answering() -> Task | None:
            tasks = self.swarm.tasks(self.service)
            seen["failed"] = new_failures(tasks, before)
            return next((t for t in running(tasks, before) if self._answers(t)), None)

        def failed() -> str | None:
            return "\n".join(t.describe() for t in seen["failed"]) or None

        try:
            return wait_until(
                answering, timeout=RESTART_TIMEOUT, interval=POLL_SECONDS, give_up=failed,
                what=f"a new task of service {self.service} to answer",
            )  # fmt: skip
        except WaitTimeout as error:
            raise RestartFailed(str(error), seen["failed"]) from None

    def _failure_log(self, error: Exception) -> str:
        """The failed task's own log (its container's, at its node), else the service's."""
        failed = error.tasks if isinstance(error, RestartFailed) else []
        for task in failed:
            with contextlib.suppress(SwarmError):
                return f"--- log of {task.describe()} ---\n{self.swarm.task_log(task)}"
        return f"--- service log, every task ---\n{self.swarm.service_logs(self.service)}"

    def log(self) -> str:
        """The current task's log (its container's, since its start); before a task runs,
        all tasks' (``docker service logs``).

        One container's, read at its node (``Swarm.task_log``): marks count
        lines, so the log must be complete and in order, which the service's
        log, streamed by the swarm, is not.
        """
        if self.task is None:
            return self.swarm.service_logs(self.service)
        return self.swarm.task_log(self.task)

    def mark(self) -> int:
        """A point in the service's request history; pass it to :meth:`traffic`."""
        return len(parse_log(self.log()))

    def traffic(self, since: int = 0) -> Traffic:
        """What the registry logged as served after ``since``."""
        return Traffic(parse_log(self.log())[since:])

    # -- storage and evidence ------------------------------------------------

    def storage_root(self) -> str | None:
        """The storage folder the registry writes (in the task); None for other drivers."""
        return self.effective_config().rootdirectory

    def host_storage(self) -> str | None:
        """The storage folder on this host (the shared disk); None when not bound there."""
        root = self.storage_root()
        host = self.prepared.registry.host_path_for(root) if root else None
        return str(self.shared_dir / host.lstrip("/")) if host else None

    def evidence(self, client: Callable[[], RegistryClient]) -> MirrorEvidence:
        """Debug server, catalog (through ``client``) and the storage on the shared disk."""
        host = self.host_storage()
        storage = MirrorStorage(host, host) if host else None
        return MirrorEvidence(
            client=client,
            registry_version=self.version,
            debug_url=self.debug_url if self.task is not None else None,
            storage_location=storage,
        )

    def wait_stored(self, image: SyntheticImage, layers: list[str] | None = None) -> bool:
        """Wait until ``layers`` (default: all) of ``image`` are files in the mirror's storage.

        Looked at on the shared disk, or, for a filesystem storage the stack
        keeps inside the task, in the task's container at its node. True once
        they are there or nothing is awaited; False at once when the storage
        is not a filesystem or the task is not known (nothing to look at);
        ``WaitTimeout`` after 30 s.
        """
        digests = image.layer_digests if layers is None else layers
        if not digests:
            return True
        host, root = self.host_storage(), self.storage_root()
        what = f"the mirror to store the {len(digests)} layers of {image.reference}"
        if host is not None:
            paths = [f"{host}/{blob_data_path(d)}" for d in digests]
            wait_until(
                lambda: all(os.path.isfile(p) for p in paths), timeout=STORED_TIMEOUT, what=what
            )
            return True
        if not root or self.task is None:
            return False
        try:
            node, container = self.swarm.task_container(self.task)
        except SwarmError:
            return False
        every_file_there = 'for p; do test -f "$p" || exit 1; done'
        paths = [f"{root}/{blob_data_path(d)}" for d in digests]
        check = ["docker", "exec", container, "sh", "-c", every_file_there, "-", *paths]
        first = node.run(*check, timeout=10)
        if "exec failed" in first.output or "executable file not found" in first.output:
            return False  # an image without a shell: nothing to look at
        if not first.ok:
            wait_until(lambda: node.run(*check, timeout=10).ok, timeout=STORED_TIMEOUT, what=what)
        return True


def blob_data_path(digest: str) -> str:
    """Where distribution's filesystem storage keeps a blob, under its root directory."""
    return f"docker/registry/v2/blobs/sha256/{digest[7:9]}/{digest[7:]}/data"


def debug_port_of(config_text: str) -> int | None:
    """The port of ``http.debug.addr`` in a registry config (``:5001`` -> 5001); None if unset."""
    document = registry_configs.parse_config(config_text, "registry config")
    http = document.doc.value(document.doc.root).get("http") or {}
    debug = http.get("debug") if isinstance(http, dict) else None
    addr = str(debug.get("addr") or "") if isinstance(debug, dict) else ""
    port = addr.rsplit(":", 1)[-1]
    return int(port) if port.isdigit() else None

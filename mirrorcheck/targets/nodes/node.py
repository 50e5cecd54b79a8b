"""What every node under test can do, however it is reached.

A node is a Docker host: the lab's Docker-in-Docker containers, a container on
this host (``docker://name``), this host (``local``) or a machine over ssh.
Subclasses implement three primitives (``run``, ``read_file``, ``daemon_log``);
everything else is built on them here, once.

Usage::

    node = lab.nodes[0]
    info = node.docker_info()                 # the Engine's /info as a dict
    result = node.pull("mirrorcheck/smoke:1")
    assert result.ok, result.output
    text = node.read_file("/etc/docker/daemon.json").decode()
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mirrorcheck.findings import Severity, render_all
from mirrorcheck.rules.daemon_json.assess import assess
from mirrorcheck.rules.daemon_json.document import DaemonJson
from mirrorcheck.rules.daemon_json.engine import engine_or_default
from mirrorcheck.rules.daemon_json.reader import parse_daemon_json
from mirrorcheck.rules.hosts_toml.lint import NODE_PATHS, lint_node_files
from mirrorcheck.versions import image_store_of

DAEMON_JSON_PATH = "/etc/docker/daemon.json"


class NodeError(RuntimeError):
    """A node could not be reached or did not do what was asked; the message names the node."""


@dataclass(frozen=True)
class CommandResult:
    """The outcome of a command run on a node."""

    exit_code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class PullResult:
    """The outcome of ``docker pull`` on a node, with how long it took.

    ``finished``: ``time.monotonic()`` when the pull returned (0.0: not known).
    """

    node: str
    image: str
    ok: bool
    seconds: float
    output: str
    digest: str = ""
    finished: float = 0.0


class Node(ABC):
    """A Docker host under test. ``name`` is what reports show (``node-1``, ``ssh://...``)."""

    name: str
    startup_error: str = ""
    # True where the node's clock is this process's: a container of a local engine, this host.
    shares_clock: bool = False

    @abstractmethod
    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        """Run a command on the node (argv, no shell) and return its exit code and output."""

    @abstractmethod
    def read_file(self, path: str) -> bytes:
        """The bytes of a file on the node; NodeError if it cannot be read."""

    @abstractmethod
    def daemon_log(self, since: float | None = None) -> str:
        """The Docker daemon's log, from ``since`` (epoch seconds) on when given."""

    def docker_info(self) -> dict:
        """``docker info`` as the Engine API returns it."""
        result = self.run("docker", "info", "--format", "{{json .}}", timeout=30)
        if not result.ok:
            raise NodeError(f"{self.name}: docker info failed: {result.output.strip()[:300]}")
        return json.loads(result.output)

    def effective_mirrors(self) -> list[str]:
        """The mirrors the running daemon uses (``RegistryConfig.Mirrors``)."""
        return list(self.docker_info().get("RegistryConfig", {}).get("Mirrors") or [])

    def pull(self, image: str, timeout: float = 300.0) -> PullResult:
        """``docker pull image`` on the node, timed."""
        started = time.monotonic()
        ok, output, digest = self._pulled(image, timeout)
        finished = time.monotonic()
        return PullResult(self.name, image, ok, finished - started, output, digest, finished)

    def _pulled(self, image: str, timeout: float) -> tuple[bool, str, str]:
        """``docker pull image``: whether it worked, its output, the digest it printed."""
        result = self.run("docker", "pull", image, timeout=timeout)
        digest = ""
        for line in result.output.splitlines():
            if line.startswith("Digest: "):
                digest = line.split(" ", 1)[1].strip()
        return result.ok, result.output, digest

    def clock(self) -> float | None:
        """The node's time (epoch seconds), so that its logs are read from a moment on
        whatever the clock skew; None when ``date`` prints no number.

        A node that ``shares_clock`` answers with this process's time, with no command.
        Raises NodeError when the command cannot run.
        """
        if self.shares_clock:
            return time.time()
        result = self.run("date", "+%s.%N", timeout=10)
        try:
            return float(result.output.strip().replace(".%N", ""))
        except ValueError:
            return None

    def present(self, paths: Sequence[str], timeout: float = 10.0) -> list[str]:
        """Those of ``paths`` that exist on the node, in order: one command for all of them.

        Raises NodeError when the command cannot run.
        """
        script = 'for p; do [ -e "$p" ] && echo "$p"; done; true'
        listing = self.run("sh", "-c", script, "-", *paths, timeout=timeout)
        listed = set(listing.output.splitlines())
        return [path for path in paths if path in listed]

    def remove_image(self, *images: str) -> None:
        """Forget pulled images, so that the next pull goes to the registry again.

        ``images``: references (by tag or by digest). One ``docker image rm`` for
        all of them: it removes what is there and names what was not, which is
        no error here.
        """
        self.run("docker", "image", "rm", "--force", *images, timeout=60)

    def has_image(self, image: str) -> bool:
        return self.run("docker", "image", "inspect", image, timeout=30).ok


def node_accounts(nodes: list[Node]) -> list[dict[str, object]]:
    """What the reports show per node: its name, engine and mirrors, or why it is down.

    Returns one dict per node: ``name``, ``startup_error`` (empty when up) and,
    for a node that answers, ``engine_version`` and ``effective_mirrors`` (the
    Engine API's ``/info`` ``ServerVersion`` and ``RegistryConfig.Mirrors``).
    """
    accounts: list[dict[str, object]] = []
    for each in nodes:
        account: dict[str, object] = {"name": each.name, "startup_error": each.startup_error}
        if not each.startup_error:
            try:
                info = each.docker_info()
            except NodeError as error:
                account["startup_error"] = str(error)
            else:
                account["engine_version"] = info.get("ServerVersion")
                account["image_store"] = image_store_of(info.get("DriverStatus"))
                account["effective_mirrors"] = (info.get("RegistryConfig") or {}).get(
                    "Mirrors"
                ) or []
        accounts.append(account)
    return accounts


def read_node_daemon_json(node: Node, info: Mapping[str, object] | None = None) -> DaemonJson:
    """The node's /etc/docker/daemon.json, read as its own dockerd reads it.

    Placed as ``<node>:/etc/docker/daemon.json`` in findings; the engine is the
    node's ``docker info`` ServerVersion (``info`` when already fetched), or
    the lab's engine when the node reports none. Raises NodeError when the
    file or docker info cannot be read.
    """
    data = node.read_file(DAEMON_JSON_PATH)
    return parse_node_daemon_json(node.name, data, node.docker_info() if info is None else info)


def parse_node_daemon_json(name: str, data: bytes, info: Mapping[str, object]) -> DaemonJson:
    """The bytes of node ``name``'s daemon.json, parsed as its dockerd (``info``) parses them.

    Placed as ``<name>:/etc/docker/daemon.json``; the engine is ``info``'s
    ServerVersion, or the lab's engine when it names none.
    """
    engine = engine_or_default(info.get("ServerVersion"))
    return parse_daemon_json(data, path=f"{name}:{DAEMON_JSON_PATH}", engine=engine)


def mirror_problem_of(node: Node, mirror_url: str) -> str | None:
    """Why ``node`` is not known to pull through ``mirror_url``, or None when it may.

    Known when the node did not start (its ``startup_error``), when ``docker
    info`` does not answer, or when the running daemon's ``RegistryConfig.Mirrors``
    (which dockerd normalises to ``https://host/``) does not list ``mirror_url``;
    the text then adds the errors the reader finds in the node's daemon.json,
    each as ``<node>:/etc/docker/daemon.json:line:column: error [code] ...``.
    A daemon that lists the mirror is also known not to use it when a
    containerd hosts.toml for Docker Hub gives hosts of its own
    (``hosts_toml_problem``); otherwise None: only a pull can tell more.
    The text does not start with the node's name; the caller places it. Runs
    ``docker info`` and reads a file or two on the node; raises nothing.
    """
    if node.startup_error:
        return node.startup_error
    try:
        info = node.docker_info()
    except (NodeError, ValueError) as error:
        return str(error)
    running = list((info.get("RegistryConfig") or {}).get("Mirrors") or [])
    if mirror_url.rstrip("/") + "/" in running:
        return hosts_toml_problem(node, info)
    problem = (
        f"the running daemon does not list {mirror_url.rstrip('/')}/ in registry-mirrors "
        f"(docker info, RegistryConfig.Mirrors: {running})"
    )
    try:
        doc = read_node_daemon_json(node, info)
        found = assess(doc, mirror_url=mirror_url, allow_other_mirrors=True).errors
    except (NodeError, ValueError) as error:
        return f"{problem}; {error}"
    if found:
        problem += "; its daemon.json:\n" + "\n".join(f.render() for f in found)
    return problem


def hosts_toml_problem(node: Node, info: Mapping) -> str | None:
    """The errors ``lint_hosts_toml`` finds in the node's hosts.toml for Docker Hub, or None.

    On the containerd image store such a file with a ``[host]`` of its own
    makes dockerd ignore ``registry-mirrors`` while ``docker info`` still lists
    them (moby daemon/hosts.go; ``mirrorcheck.versions.HOSTS_TOML``). ``info``
    is the node's ``docker info``. One command lists the files of
    ``NODE_PATHS`` present (``Node.present``); each is read. A file that cannot
    be read, or a node that cannot list them, is left to the hosts.toml check;
    raises nothing.
    """
    try:
        present = node.present(NODE_PATHS)
    except NodeError:
        return None
    files = []
    for path in present:
        try:
            files.append((path, node.read_file(path)))
        except NodeError:
            continue
    store = image_store_of(info.get("DriverStatus"))
    errors = [f for f in lint_node_files(files, store) if f.severity is Severity.ERROR]
    if not errors:
        return None
    return (
        f"its dockerd ({store} image store) ignores registry-mirrors because of hosts.toml:\n"
        + render_all(errors)
    )

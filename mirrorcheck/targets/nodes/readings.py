"""What a node's configuration reads as, read on every node at once.

The per-node checks of a node's configuration judge the same few readings:
``docker info``, /etc/docker/daemon.json, Docker Hub's hosts.toml files,
``dockerd --validate`` (Engine 23.0 and later) and the addresses the mirror's
name resolves to on the node. Each is a command or a file read on the node
(0.1-0.3 s through ``docker exec`` or ssh). ``read_nodes`` takes them once per
node, on every node at the same time (a thread per node), so the checks only
judge. A reading that failed keeps its exception and raises it again to each
check that asks for it: one node's failure is that node's alone.

Usage::

    readings = read_nodes(deployment.nodes, mirror_host="mirror.test")
    info = readings["node-1"].info.get()      # raises what docker info raised
    doc = readings["node-1"].daemon_json()    # NodeError when the file cannot be read
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Generic, TypeVar

from mirrorcheck.at_once import at_once
from mirrorcheck.rules.daemon_json.document import DaemonJson
from mirrorcheck.rules.daemon_json.engine import VALIDATE_FROM, engine_or_default
from mirrorcheck.rules.hosts_toml.lint import NODE_PATHS
from mirrorcheck.targets.nodes.node import (
    DAEMON_JSON_PATH,
    CommandResult,
    Node,
    NodeError,
    parse_node_daemon_json,
)

T = TypeVar("T")

VALIDATE_TIMEOUT = 60
"""Seconds ``dockerd --validate`` may take on a node."""
LOOKUP_TIMEOUT = 15
"""Seconds ``getent ahosts`` may take: a resolver that times out waits 5 s per try."""
PROBE_TIMEOUT = 30
"""Seconds the listing of the hosts.toml files present (``Node.present``) may take on a node."""


@dataclass(frozen=True)
class Reading(Generic[T]):
    """One reading of a node: its value, or the exception taking it raised."""

    value: T | None = None
    error: Exception | None = None
    trace: TracebackType | None = None

    @classmethod
    def of(cls, read: Callable[[], T]) -> Reading[T]:
        """``read()``'s value, or the exception it raised (kept with its traceback)."""
        try:
            return cls(value=read())
        except Exception as error:  # kept, and raised again to each check that asks
            return cls(error=error, trace=error.__traceback__)

    @classmethod
    def failed(cls, error: Exception) -> Reading[T]:
        """A reading that was not taken, raising ``error`` when asked."""
        return cls(error=error)

    def get(self) -> T:
        """The value; raises the exception the reading raised, with its original traceback."""
        if self.error is not None:
            raise self.error.with_traceback(self.trace)
        return self.value  # type: ignore[return-value]  # None only where T admits it


@dataclass(frozen=True)
class HostsTomlFile:
    """One of Docker Hub's hosts.toml paths on a node: is it there (``Node.present``), its bytes.

    ``content`` is None when the file is not there or ``present`` could not be told.
    """

    path: str
    present: Reading[bool]
    content: Reading[bytes] | None = None


@dataclass(frozen=True)
class NodeReadings:
    """What one node's configuration reads as, taken once.

    ``info``: ``docker info`` as a dict (the Engine API's /info); ``daemon_json_bytes``:
    /etc/docker/daemon.json as on disk; ``hosts_toml``: one entry per path of
    ``mirrorcheck.rules.hosts_toml.lint.NODE_PATHS``; ``validate``: ``dockerd --validate
    --config-file /etc/docker/daemon.json``, None when not run (docker info or the file
    could not be read, or the engine is older than 23.0); ``mirror_addresses``: what
    ``getent ahosts <mirror host>`` gives on the node (sorted, [] when it fails).
    """

    name: str
    info: Reading[dict]
    daemon_json_bytes: Reading[bytes]
    hosts_toml: tuple[HostsTomlFile, ...]
    validate: Reading[CommandResult] | None
    mirror_addresses: Reading[list[str]]

    def daemon_json(self) -> DaemonJson:
        """The node's daemon.json, read as its own dockerd (``info``'s ServerVersion) reads it.

        Placed as ``<node>:/etc/docker/daemon.json`` in findings, as
        ``mirrorcheck.targets.nodes.node.read_node_daemon_json`` places it. Raises
        NodeError when the file could not be read, else what ``docker info`` raised.
        """
        return parse_node_daemon_json(self.name, self.daemon_json_bytes.get(), self.info.get())

    def running_mirrors(self) -> list[str]:
        """The mirrors the running daemon uses (``RegistryConfig.Mirrors``); raises as ``info``."""
        return list((self.info.get().get("RegistryConfig") or {}).get("Mirrors") or [])


def addresses_on(node: Node, host: str) -> list[str]:
    """The addresses ``host`` resolves to on ``node`` (``getent ahosts``, as dockerd's lookup).

    Sorted and distinct; [] when the name does not resolve there. Raises NodeError
    when the node cannot run the command.
    """
    result = node.run("getent", "ahosts", host, timeout=LOOKUP_TIMEOUT)
    if not result.ok:
        return []
    return sorted({line.split()[0] for line in result.output.splitlines() if line.strip()})


def validate_on(node: Node) -> CommandResult:
    """``dockerd --validate --config-file /etc/docker/daemon.json`` on ``node`` (Engine 23.0+)."""
    return node.run(
        "dockerd", "--validate", "--config-file", DAEMON_JSON_PATH, timeout=VALIDATE_TIMEOUT
    )


def _hosts_toml_file(node: Node, path: str, listed: Reading[list[str]]) -> HostsTomlFile:
    """``path``'s entry, told present by ``listed`` (``Node.present``, one command for all)."""
    if listed.error is not None:
        present: Reading[bool] = Reading(error=listed.error, trace=listed.trace)
    else:
        present = Reading(value=path in (listed.value or []))
    if present.error is not None or not present.value:
        return HostsTomlFile(path, present)
    return HostsTomlFile(path, present, Reading.of(lambda: node.read_file(path)))


def _validate_reading(
    node: Node, info: Reading[dict], data: Reading[bytes]
) -> Reading[CommandResult] | None:
    if info.error is not None or data.error is not None:
        return None
    try:
        engine = engine_or_default((info.value or {}).get("ServerVersion"))
    except AttributeError:  # docker info answered something other than an object
        return None
    if engine < VALIDATE_FROM:
        return None
    return Reading.of(lambda: validate_on(node))


def read_node(node: Node, mirror_host: str) -> NodeReadings:
    """Every reading of ``node``, one after another; raises nothing.

    A node that did not start (``startup_error``) is not asked: each of its
    readings raises NodeError with that error.
    """
    if node.startup_error:
        down: Reading = Reading.failed(NodeError(node.startup_error))
        files = tuple(HostsTomlFile(path, down) for path in NODE_PATHS)
        return NodeReadings(node.name, down, down, files, None, down)
    info = Reading.of(node.docker_info)
    data = Reading.of(lambda: node.read_file(DAEMON_JSON_PATH))
    listed = Reading.of(lambda: node.present(NODE_PATHS, timeout=PROBE_TIMEOUT))
    return NodeReadings(
        name=node.name,
        info=info,
        daemon_json_bytes=data,
        hosts_toml=tuple(_hosts_toml_file(node, path, listed) for path in NODE_PATHS),
        validate=_validate_reading(node, info, data),
        mirror_addresses=Reading.of(lambda: addresses_on(node, mirror_host)),
    )


def on_each_node(nodes: Sequence[Node], read: Callable[[Node], T]) -> dict[str, Reading[T]]:
    """``read(node)`` on every node at the same time (a thread per node), keyed by node name.

    What ``read`` raises on one node is that node's ``Reading.error``; the
    other nodes' readings are unaffected. Returns when every node has answered.
    """
    readings = at_once(lambda each: Reading.of(partial(read, each)), nodes)
    return {each.name: reading for each, reading in zip(nodes, readings, strict=True)}


def read_nodes(nodes: Sequence[Node], mirror_host: str) -> Mapping[str, NodeReadings]:
    """``read_node`` on every node at the same time, keyed by node name; raises nothing."""
    readings = on_each_node(nodes, lambda node: read_node(node, mirror_host))
    return {name: reading.get() for name, reading in readings.items()}

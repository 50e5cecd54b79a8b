"""The lab's Docker nodes: started in parallel, each with the daemon.json under test.

A node whose dockerd refuses the file is kept, with the reason: dockerd's own
words, then what mirrorcheck's daemon.json reader says about the file, then
the fix. The checks report it; the lab still comes up.

Usage::

    pool = NodePool(context, image, proxy, ca_cert=cert_files.ca_cert,   # after proxy.start()
                    daemon_json_source="daemon.json", hub_ca=hub_files.ca_cert)
    pool.add([NodeSpec("node-1", daemon_json), NodeSpec("node-2", daemon_json)])
    pool.nodes[0].pull("mirror.test/library/busybox")
    pool.timings                       # {"ready node-1": 0.41, ...} seconds
"""

from __future__ import annotations

import contextlib
import io
import re
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Protocol

import docker.errors

from mirrorcheck.at_once import at_once
from mirrorcheck.rules.daemon_json.oracle import explain_with_reader
from mirrorcheck.targets.lab.certs import SYSTEM_CA_BUNDLE, docker_ca_path
from mirrorcheck.targets.lab.lifecycle import LabContext
from mirrorcheck.targets.lab.nodes import NodeSpec, image_engine, start_node
from mirrorcheck.targets.lab.proxy import Proxy
from mirrorcheck.targets.lab.timeline import Timeline
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH
from mirrorcheck.versions import DEFAULT_ENGINE

DAEMON_FAILURE = re.compile(
    r"(unable to configure the Docker daemon[^\n]*|failed to start daemon[^\n]*|"
    r"invalid[^\n]*daemon\.json[^\n]*)",
    re.IGNORECASE,
)


def explain_node_failure(spec: NodeSpec, detail: str, source: str) -> str:
    """Why ``spec``'s dockerd did not start: its words, the reader on ``source``, the fix."""
    match = DAEMON_FAILURE.search(detail)
    cause = match.group(1) if match else detail
    # The reader judges the file as the node's own engine reads it.
    reader = explain_with_reader(
        spec.daemon_json, source, engine=spec.engine or DEFAULT_ENGINE, dockerd_flags=spec.command()
    )
    return (
        f"{spec.name}: dockerd did not start with {source} (mounted at {DAEMON_JSON_PATH}; "
        f"{spec.describe()}): "
        f"{cause}\n{reader}\nFix: correct the file as the reader says (`mirrorcheck lint "
        f"daemon-json {source}`); a node with this file leaves the swarm on restart"
    )


# The host whose certs.d directory holds a mirror's CA on the containerd store.
CONTAINERD_CA_HOST = "docker.io"


def ca_files(spec: NodeSpec, fqdn: str, ca_cert: bytes, hub_ca: bytes) -> dict[str, bytes]:
    """The CA files a node gets: Docker Hub's CA in its system store; the mirror's in certs.d.

    The mirror's CA (``ca_cert``) goes where each image store reads it
    (``versions.MIRROR_CA_DIRECTORY``): ``certs.d/<fqdn>/`` (classic) and
    ``certs.d/docker.io/`` (containerd), both on every node, since a
    daemon.json may choose the store itself. None of it when ``spec.trust_ca``
    is False: the node trusts Docker Hub only.
    """
    files = {SYSTEM_CA_BUNDLE: hub_ca}
    if spec.trust_ca:
        files[str(docker_ca_path(fqdn))] = ca_cert
        files[str(docker_ca_path(CONTAINERD_CA_HOST))] = ca_cert
    return files


def _write(node: DockerExecNode, files: dict[str, bytes]) -> None:
    """Write ``files`` (absolute path -> content) in a running node: one copy, no exec.

    The engine makes the folders a file needs that the node lacks (mode 755,
    owned by root: moby pkg/archive Unpack; seen on the host engine 20.10), so the
    archive holds the files alone and leaves existing folders as they are.
    """
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(str(PurePosixPath(path).relative_to("/")))
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    node.container.put_archive("/", data.getvalue())


class PinTarget(Protocol):
    """Where nodes reach the mirror's name: the TLS proxy (``Proxy``) or a ``NamePin``."""

    fqdn: str

    @property
    def address(self) -> str: ...


@dataclass
class NamePin:
    """The mirror's name and the address it is pinned to; "" until that address is known."""

    fqdn: str
    address: str = ""


class NodePool:
    """The nodes of one lab, all trusting the lab CA (unless told not to) and pinned to the proxy.

    Every node trusts Docker Hub's stand-in (``hub_ca``) through its system
    store, as nodes trust Docker Hub's public CA: a fallback succeeds.
    ``nodes`` is one list for the pool's life: the lab hands it out as its own.
    ``timings`` (shared with the lab when given) gets ``"ready <node>"`` in seconds.
    Nodes start only once ``proxy`` runs: each pins the mirror's name to its address.
    """

    def __init__(
        self,
        context: LabContext,
        image: str,
        proxy: Proxy | PinTarget,
        ca_cert: Path,
        daemon_json_source: str = "daemon.json",
        timings: dict[str, float] | None = None,
        hub_ca: Path | None = None,
    ) -> None:
        self.context = context
        self.image = image
        self.proxy = proxy
        self.ca_cert = ca_cert
        self.hub_ca = hub_ca
        self.daemon_json_source = daemon_json_source
        self.nodes: list[DockerExecNode] = []
        self.specs: dict[str, NodeSpec] = {}  # node name -> how it was started
        self.timings = timings if timings is not None else {}
        self.timeline: Timeline | None = None  # when given, each node's start is a step of it
        # Nodes started ahead (``start_aside``), by name: outside ``nodes`` until asked for.
        self._aside: dict[str, tuple[NodeSpec, Future[DockerExecNode]]] = {}
        self._background = ThreadPoolExecutor(max_workers=2)
        self._addresses: dict[str, str] = {}  # container id -> address on the lab network

    def add(self, specs: list[NodeSpec]) -> list[DockerExecNode]:
        """Start nodes in parallel; a node whose dockerd refused to start keeps the reason.

        A node started ahead for an equal spec (``start_aside``) is handed over
        instead of started. Each node's wait is bounded
        (``nodes.NODE_READY_TIMEOUT``) and ends at once when its container
        exits; the node is returned either way.
        """
        ahead = {}
        for spec in specs:
            kept = self._aside.get(spec.name)
            if kept is not None and kept[0] == spec:
                ahead[spec.name] = self._aside.pop(spec.name)[1]
        fresh = [spec for spec in specs if spec.name not in ahead]
        made = dict(zip([s.name for s in fresh], at_once(self._start, fresh), strict=True))
        made.update({name: future.result() for name, future in ahead.items()})
        started = [made[spec.name] for spec in specs]
        self.nodes.extend(started)
        return started

    def start_aside(self, specs: list[NodeSpec]) -> None:
        """Start nodes for later, in the background, outside ``nodes``; ``add`` hands each
        over when asked for an equal spec, and ``close_aside`` removes the others."""
        for spec in specs:
            self._aside[spec.name] = (spec, self._background.submit(self._start, spec))

    def close_aside(self) -> None:
        """Wait for the nodes still starting ahead and remove those never asked for."""
        aside, self._aside = self._aside, {}
        for _, future in aside.values():
            with contextlib.suppress(Exception):  # a node that could not start left nothing
                self.remove(future.result())
        self._background.shutdown(wait=True)

    def _start(self, spec: NodeSpec) -> DockerExecNode:
        image = spec.image or self.image
        # The image says which engine it runs; a spec without an engine takes it from there.
        spec = replace(
            spec, image=image, engine=image_engine(self.context.client, image) or spec.engine
        )
        self.specs[spec.name] = spec
        hub_ca = self.hub_ca.read_bytes() if self.hub_ca else b""
        files = ca_files(spec, self.proxy.fqdn, self.ca_cert.read_bytes(), hub_ca)
        started = time.monotonic()
        node = start_node(
            self.context.client,
            image,
            spec,
            network=self.context.network,
            labels=self.context.labels,
            container_name=self.context.name(spec.name),
            files=files,
            # The mirror's name is pinned to the proxy: name resolution is not under test,
            # and Docker's embedded resolver, slow under load, must not pass for a TLS failure.
            hosts={self.proxy.fqdn: self.proxy.address} if self.proxy.address else {},
        )
        if node.startup_error:
            node.startup_error = explain_node_failure(
                spec, node.startup_error, self.daemon_json_source
            )
        self.timings[f"ready {spec.name}"] = round(time.monotonic() - started, 3)
        if self.timeline is not None:
            self.timeline.add(f"ready {spec.name}", started)
        return node

    def trust(self, ca_cert: bytes) -> None:
        """Make every running node that trusts the mirror trust ``ca_cert`` for it from now on.

        For a CA known only after the nodes started (an ACME CA's issuing
        root); dockerd reads certs.d at each pull. Set ``ca_cert`` (the path)
        too, for nodes added later. The nodes are written in parallel.
        """
        hub_ca = self.hub_ca.read_bytes() if self.hub_ca else b""

        def write(node: DockerExecNode) -> None:
            spec = self.specs.get(node.name)
            if spec is None or node.startup_error:
                return
            files = ca_files(spec, self.proxy.fqdn, ca_cert, hub_ca)
            files.pop(SYSTEM_CA_BUNDLE, None)
            if files:
                _write(node, files)

        self._each_node(write)

    def pin(self, address: str) -> None:
        """Pin the mirror's name to ``address`` in every running node's /etc/hosts (in parallel).

        For a ``NamePin`` whose address became known after the nodes started
        (a swarm's manager); nodes added later get it at start.
        """
        if isinstance(self.proxy, NamePin):
            self.proxy.address = address
        command = ["sh", "-c", f'echo "{address}\t{self.proxy.fqdn}" >> /etc/hosts']

        def pin(node: DockerExecNode) -> None:
            if not node.startup_error:  # a node whose dockerd did not start pulls nothing
                node.run(*command, timeout=10)

        self._each_node(pin)

    def _each_node(self, step: Callable[[DockerExecNode], object]) -> None:
        """Run ``step`` on every node at once; the first node's error (in order) is raised."""
        at_once(step, list(self.nodes))

    def remove(self, node: DockerExecNode) -> None:
        """Remove the node's container (and its anonymous volumes) and forget it."""
        node.close()
        with contextlib.suppress(docker.errors.NotFound):
            node.container.remove(force=True, v=True)
        if node in self.nodes:
            self.nodes.remove(node)

    def address(self, node: DockerExecNode) -> str:
        """The node's address on the lab network: the client address in the proxy's log.

        Asked of the engine once per node: a node keeps its container, which
        keeps its address on the lab network while it runs.
        """
        known = self._addresses.get(node.container.id)
        if not known:
            known = self._addresses[node.container.id] = self.context.address(node.container)
        return known

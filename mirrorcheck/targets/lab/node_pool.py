"""The lab's Docker nodes: started in parallel, each with the daemon.json under test.

A node whose dockerd refuses the file is kept, with the reason: dockerd's own
words, then what mirrorcheck's daemon.json reader says about the file, then
the fix. The checks report it; the lab still comes up.

Usage::

    pool = NodePool(context, image, proxy, ca_cert=cert_files.ca_cert,
                    daemon_json_source="daemon.json")   # after proxy.start()
    pool.add([NodeSpec("node-1", daemon_json), NodeSpec("node-2", daemon_json)])
    pool.nodes[0].pull("mirror.test/library/busybox")
    pool.timings                       # {"ready node-1": 0.41, ...} seconds
"""

from __future__ import annotations

import contextlib
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import docker.errors

from mirrorcheck.rules.daemon_json.oracle import explain_with_reader
from mirrorcheck.targets.lab.certs import docker_ca_path
from mirrorcheck.targets.lab.lifecycle import LabContext
from mirrorcheck.targets.lab.nodes import NodeSpec, image_engine, start_node
from mirrorcheck.targets.lab.proxy import Proxy
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


class NodePool:
    """The nodes of one lab, all trusting the lab CA (unless told not to) and pinned to the proxy.

    ``nodes`` is one list for the pool's life: the lab hands it out as its own.
    ``timings`` (shared with the lab when given) gets ``"ready <node>"`` in seconds.
    Nodes start only once ``proxy`` runs: each pins the mirror's name to its address.
    """

    def __init__(
        self,
        context: LabContext,
        image: str,
        proxy: Proxy,
        ca_cert: Path,
        daemon_json_source: str = "daemon.json",
        timings: dict[str, float] | None = None,
    ) -> None:
        self.context = context
        self.image = image
        self.proxy = proxy
        self.ca_cert = ca_cert
        self.daemon_json_source = daemon_json_source
        self.nodes: list[DockerExecNode] = []
        self.specs: dict[str, NodeSpec] = {}  # node name -> how it was started
        self.timings = timings if timings is not None else {}

    def add(self, specs: list[NodeSpec]) -> list[DockerExecNode]:
        """Start nodes in parallel; a node whose dockerd refused to start keeps the reason.

        Each node's wait is bounded (``nodes.NODE_READY_TIMEOUT``) and ends at
        once when its container exits; the node is returned either way.
        """
        with ThreadPoolExecutor(max_workers=max(1, len(specs))) as pool:
            started = list(pool.map(self._start, specs))
        self.nodes.extend(started)
        return started

    def _start(self, spec: NodeSpec) -> DockerExecNode:
        image = spec.image or self.image
        # The image says which engine it runs; a spec without an engine takes it from there.
        spec = replace(
            spec, image=image, engine=image_engine(self.context.client, image) or spec.engine
        )
        self.specs[spec.name] = spec
        files = {}
        if spec.trust_ca:
            files[str(docker_ca_path(self.proxy.fqdn))] = self.ca_cert.read_bytes()
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
            hosts={self.proxy.fqdn: self.proxy.address},
        )
        if node.startup_error:
            node.startup_error = explain_node_failure(
                spec, node.startup_error, self.daemon_json_source
            )
        self.timings[f"ready {spec.name}"] = round(time.monotonic() - started, 3)
        return node

    def remove(self, node: DockerExecNode) -> None:
        """Remove the node's container (and its anonymous volumes) and forget it."""
        with contextlib.suppress(docker.errors.NotFound):
            node.container.remove(force=True, v=True)
        if node in self.nodes:
            self.nodes.remove(node)

    def address(self, node: DockerExecNode) -> str:
        """The node's address on the lab network: the client address in the proxy's log."""
        return self.context.address(node.container)

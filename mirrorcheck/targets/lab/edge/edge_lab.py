"""A small lab of the edge alone: one Docker node as swarm manager, Pebble, Traefik, a registry.

For what needs a Traefik and an ACME CA of its own (a short certificate
validity for the renewal check; broken Traefik setups for the negative
controls) without the whole topology. The registry service is routed by the
reference stack's labels (``registry_labels``), unless others are given.

Usage::

    with EdgeLab(client, images, RunLabels.for_this_process(), "mirrorcheck-x-edge",
                 acme_validity_seconds=120, certificates_duration=1) as edge:
        edge.wait_certificate()
        print(edge.served_certificate())
"""

from __future__ import annotations

import time

import docker
import yaml

from mirrorcheck.targets.lab.certs import DOCKER_HUB_NAMES
from mirrorcheck.targets.lab.edge.traefik import TraefikEdge
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.lifecycle import LabContext
from mirrorcheck.targets.lab.nodes import NodeSpec, start_node
from mirrorcheck.targets.lab.swarm.cluster import Swarm
from mirrorcheck.waiting import wait_until

NETWORK = "traefik_public"
REGISTRY_STACK = "mirror"
REGISTRY_SERVICE = "registry-mirror"
REGISTRY_STACK_PATH = "/srv/mirrorcheck-edge/registry-stack.yml"
ROUTE_TIMEOUT = 30.0


def registry_labels(fqdn: str, *, entrypoint: str = "websecure", tls: bool = True) -> list[str]:
    """The reference stack's Traefik v3 labels (examples/registry-stack.yml) for ``fqdn``.

    ``entrypoint="web", tls=False`` is the broken variant: a router on plain HTTP only.
    """
    router = f"traefik.http.routers.{REGISTRY_SERVICE}"
    labels = [
        "traefik.enable=true",
        f"{router}.rule=Host(`{fqdn}`)",
        f"{router}.entrypoints={entrypoint}",
        f"traefik.http.services.{REGISTRY_SERVICE}.loadbalancer.server.port=5000",
        f"traefik.swarm.network={NETWORK}",
    ]
    if tls:
        labels.insert(3, f"{router}.tls.certresolver=main")
    return labels


def registry_stack(labels: list[str]) -> str:
    """A registry service (no auth, storage in the task) on the shared network, with ``labels``."""
    service = {
        "image": "registry:2",
        "networks": [NETWORK],
        # Debian's registry package's own config asks for basic auth: none here.
        "environment": {"REGISTRY_AUTH": "{}"},
        "deploy": {"labels": labels},
    }
    document = {
        "version": "3.8",
        "services": {REGISTRY_SERVICE: service},
        "networks": {NETWORK: {"external": True}},
    }
    return yaml.safe_dump(document, sort_keys=False)


class EdgeLab:
    """One node, Pebble, the lab's Traefik stack and a labelled registry; removed on close.

    ``edge_options`` go to ``TraefikEdge`` (validity, certificatesDuration,
    acme.json placement). ``timings`` holds the seconds of each step.
    """

    def __init__(
        self,
        client: docker.DockerClient,
        images: dict[str, str],
        labels: RunLabels,
        prefix: str,
        *,
        fqdn: str = "mirror.test",
        **edge_options: object,
    ) -> None:
        self.client = client
        self.images = images
        self.fqdn = fqdn
        self.context = LabContext(client, labels, prefix)
        self.edge = TraefikEdge(self.context, images, fqdn, network=NETWORK, **edge_options)  # type: ignore[arg-type]
        self.swarm: Swarm | None = None
        self.timings: dict[str, float] = {}

    def _timed(self, step: str, started: float) -> None:
        self.timings[step] = round(time.monotonic() - started, 2)

    def start(self, labels: list[str] | None = None) -> TraefikEdge:
        """Everything up, the registry routed by ``labels``; the edge (certificate not awaited)."""
        self.context.create_network()
        started = time.monotonic()
        self.edge.start_acme()
        self._timed("acme up", started)
        started = time.monotonic()
        node = start_node(
            self.client,
            self.images["node"],
            NodeSpec("node-1", b"{}"),
            network=self.context.network,
            labels=self.context.labels,
            container_name=self.context.name("node-1"),
            # A task first tries to pull its image by tag: with Docker Hub's names refused at
            # once, it falls back to the loaded image without a lookup that times out.
            hosts=dict.fromkeys(DOCKER_HUB_NAMES, "127.0.0.1"),
        )
        if node.startup_error:
            raise RuntimeError(node.startup_error)
        address = self.context.address(node.container)
        self.swarm = Swarm(node, {node.name: address})
        self.swarm.form([])
        names = {"registry:2": self.images["registry"], **self.edge.images_for_nodes}
        self.swarm.load_images([node], names)
        self.swarm.create_networks([NETWORK])
        self._timed("node, swarm, images", started)
        started = time.monotonic()
        self.edge.deploy(node, address)
        self._timed("traefik deployed", started)
        self.route(labels or registry_labels(self.fqdn))
        return self.edge

    def route(self, labels: list[str]) -> None:
        """(Re)deploy the registry with ``labels``; wait until its task runs."""
        assert self.swarm is not None
        started = time.monotonic()
        self.swarm.deploy(REGISTRY_STACK, registry_stack(labels), REGISTRY_STACK_PATH)
        self.swarm.wait_running(f"{REGISTRY_STACK}_{REGISTRY_SERVICE}")
        self._timed("registry deployed", started)

    def wait_https_status(self, status: int, timeout: float = ROUTE_TIMEOUT) -> None:
        """Wait until ``https://<fqdn>/v2/`` answers ``status`` (unverified: any certificate)."""
        session = self.edge.session()
        session.verify = False
        wait_until(
            lambda: session.get(f"{self.edge.url}/v2/", timeout=5).status_code == status,
            timeout=timeout,
            what=f"{self.edge.url}/v2/ to answer {status} through Traefik",
        )

    def close(self) -> None:
        """Remove the node, Pebble and the network (with the stacks and volumes inside the node)."""
        try:
            self.context.remove_own()
        finally:
            self.edge.close()

    def __enter__(self) -> EdgeLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

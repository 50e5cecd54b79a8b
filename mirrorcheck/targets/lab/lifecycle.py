"""The lab's lifecycle core: one internal network, and the named, labelled containers on it.

Every role (upstream, mirror, proxy, nodes) starts its containers through one
``LabContext``, so that each carries the run's labels and the lab's name
prefix, and each can be found and removed by them. A role with an access log
derives from ``LoggedRole``, which turns the log into marks and ``Traffic``.

Usage::

    context = LabContext(client, RunLabels.for_this_process(), "mirrorcheck-20260101-ab12")
    context.create_network()
    container = context.start(ContainerSpec(image=..., name=context.name("upstream"), ...))
    wait_for_registry(context, container, 5000, "upstream")
    context.address(container)       # its address on the lab network, reachable from the host
    context.remove_own()             # every container, volume and the network of this prefix
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import docker
import docker.errors
from docker.models.containers import Container
from testcontainers.core.network import Network

from mirrorcheck.probes.access_log import Traffic, parse_log
from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.targets.lab.containers import (
    ContainerSpec,
    container_ip,
    exit_report,
    start_container,
)
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.sweeper import remove_containers
from mirrorcheck.waiting import wait_until

REGISTRY_CONFIG_PATH = "/etc/docker/registry/config.yml"
# Where registry 3.x's image reads its config (distribution v3 cmd/registry/config-*.yml).
REGISTRY_3_CONFIG_PATH = "/etc/distribution/config.yml"
START_TIMEOUT = 30.0


@dataclass
class LabContext:
    """What every role of one lab shares: the engine, the run's labels, a name prefix, a network."""

    client: docker.DockerClient
    labels: RunLabels
    prefix: str
    network: Network | None = None

    def create_network(self) -> None:
        """The lab's network: internal (no route out), so a fallback to Docker Hub fails loudly."""
        network = Network(
            docker_network_kw={"internal": True, "labels": self.labels.as_dict("network")}
        )
        network.name = self.name("net")
        self.network = network.create()

    @property
    def network_name(self) -> str:
        assert self.network is not None
        return self.network.name

    def name(self, part: str) -> str:
        """The name of one of this lab's resources: ``<prefix>-<part>``."""
        return f"{self.prefix}-{part}"

    def volume(self, purpose: str) -> str:
        """Create the labelled named volume ``<prefix>-<purpose>``; returns its name."""
        name = self.name(purpose)
        self.client.volumes.create(name, labels=self.labels.as_dict(purpose))
        return name

    def start(self, spec: ContainerSpec) -> Container:
        """Start ``spec`` on the lab network under the run's labels (see ``start_container``)."""
        return start_container(spec, self.network, self.labels)

    def address(self, container: Container) -> str:
        """The container's address on the lab network (the host reaches it there)."""
        return container_ip(container, self.network_name)

    def remove_own(self) -> None:
        """Remove the containers, volumes and network named with this prefix (idempotent).

        Used when several labs share one run id (one per xdist worker, or a
        control beside the main lab): removing by the run's label would take
        the others' too.
        """
        filters = {"name": [f"^{self.prefix}-"]}
        remove_containers(
            self.client.containers.list(all=True, filters=filters, ignore_removed=True)
        )
        if self.network is not None:
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                self.network.remove()
        for volume in self.client.volumes.list(filters=self.labels.run_filter):
            if volume.name.startswith(f"{self.prefix}-"):
                with contextlib.suppress(docker.errors.NotFound):
                    volume.remove(force=True)


def wait_for_registry(
    context: LabContext,
    container: Container,
    port: int,
    role: str,
    timeout: float = START_TIMEOUT,
    client: RegistryClient | None = None,
) -> None:
    """Wait until the registry in ``container`` answers ``GET /v2/`` (200 or 401).

    ``client`` reaches it another way (HTTPS by name); by default plain HTTP at
    its address and ``port``. Raises ``WaitTimeout`` after ``timeout`` seconds,
    or at once with the log tail when the container exits.
    """
    if client is None:
        client = RegistryClient(f"http://{context.address(container)}:{port}", timeout=2)
    pinged = client
    wait_until(
        lambda: pinged.ping().status_code in (200, 401),
        timeout=timeout,
        what=f"the {role} registry to answer GET {pinged.url('/v2/')}",
        give_up=lambda: exit_report(container),
    )


class LoggedRole:
    """A lab role whose container writes one access-log line per request.

    ``container`` is None until the role has started. ``stderr`` says whether
    the access log is on stderr too (distribution logs there; nginx writes its
    access log to stdout and its errors to stderr).
    """

    stderr = True

    def __init__(self, context: LabContext) -> None:
        self.context = context
        self.container: Container | None = None

    @property
    def address(self) -> str:
        """The role's address on the lab network."""
        assert self.container is not None
        return self.context.address(self.container)

    def log(self) -> str:
        """The container's log since its last (re)start."""
        assert self.container is not None
        return self.container.logs(stderr=self.stderr).decode(errors="replace")

    def mark(self) -> int:
        """A point in the request history; pass it to :meth:`traffic`."""
        return len(parse_log(self.log()))

    def traffic(self, since: int = 0) -> Traffic:
        """The requests logged after ``since``."""
        return Traffic(parse_log(self.log())[since:])

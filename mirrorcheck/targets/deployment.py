"""What both modes offer the checks: the ``Deployment`` Protocol.

The hermetic lab (``mirrorcheck.targets.lab.topology.Lab``) and a live
deployment (``mirrorcheck.targets.live.deployment.LiveDeployment``) implement
it, so a check written against it gives the same verdict in both modes. What
only the lab can show (its upstream, its faults) is reached through ``Lab``
itself, by checks marked ``hermetic_only``.

Usage::

    def check(deployment: Deployment) -> None:
        deployment.mirror_client().ping()           # GET /v2/ through the TLS proxy
        deployment.probe_pulls().pull(deployment.nodes[0]).route(deployment.mirror_url)
        deployment.evidence().catalog_has("library/busybox")
"""

from __future__ import annotations

from typing import Protocol

import requests

from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.targets.endpoint import MirrorEndpoint
from mirrorcheck.targets.evidence import MirrorEvidence
from mirrorcheck.targets.nodes.node import Node
from mirrorcheck.targets.probe_pulls import ProbePulls


class Deployment(Protocol):
    """A registry mirror and the Docker nodes that should use it."""

    mode: str  # "hermetic" or "live"
    nodes: list[Node]
    registry_version: str  # as the mirror printed it, or --registry-version; "" when unknown

    @property
    def mirror_url(self) -> str:
        """The URL in the nodes' ``registry-mirrors``, e.g. ``https://mirror.example.com``."""

    @property
    def endpoint(self) -> MirrorEndpoint:
        """Where this run reaches the mirror: name, address, port, CA file."""

    def mirror_session(self) -> requests.Session:
        """A session that reaches the mirror by its name and verifies its certificate."""

    def mirror_client(self) -> RegistryClient:
        """The Registry API of the mirror, as the nodes reach it."""

    def mirror_problem(self) -> str | None:
        """Why the mirror cannot be reached from here, with the fix; None when it answers."""

    def hub_image_problem(self) -> str | None:
        """Why the mirror is known not to serve Docker Hub's images (asked once), or None.

        Positive evidence only: the registry's own 404 for an image Docker Hub
        holds (``mirrorcheck.targets.hub_images``).
        """

    def evidence(self) -> MirrorEvidence:
        """What the mirror itself shows: counters, catalog, storage."""

    def probe_pulls(self) -> ProbePulls:
        """The pulls of the probe image, judged by the evidence, within the pull budget."""

    def describe(self) -> dict[str, object]:
        """What is under test, for the reports."""

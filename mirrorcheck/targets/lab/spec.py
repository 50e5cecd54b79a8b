"""What one lab is made of: the files under test and the lab's shape (``LabSpec``).

Usage::

    from mirrorcheck.targets.lab.spec import LabSpec

    spec = LabSpec(images=images, registry_config=text, daemon_json=data, node_count=2)
    spec.node_specs()        # one NodeSpec per node, the FQDN filled into the daemon.json
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mirrorcheck.targets.lab.certs import Variant
from mirrorcheck.targets.lab.images.supply import node_key
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.nodes import NodeSpec
from mirrorcheck.versions import engine_for_node

__all__ = ["DEFAULT_FQDN", "LabError", "LabSpec", "fill_fqdn", "worker_prefix"]

DEFAULT_FQDN = "mirror.test"
FQDN_PLACEHOLDER = "<your registry mirror FQDN>"


def worker_prefix(run_id: str, worker: str) -> str:
    """The name prefix of one lab: the run's id and the xdist worker (``gw0``, or ``master``)."""
    return f"mirrorcheck-{run_id}-{worker}"


class LabError(RuntimeError):
    """The lab could not be built as specified; the message names the part and the fix."""


def fill_fqdn(daemon_json: bytes, fqdn: str) -> bytes:
    """The reference daemon.json is a template: the guide's placeholder becomes the FQDN."""
    return daemon_json.replace(FQDN_PLACEHOLDER.encode(), fqdn.encode())


@dataclass
class LabSpec:
    """Everything that makes one lab: the files under test and the lab's shape."""

    images: dict[str, str]
    registry_config: str
    daemon_json: bytes
    registry_config_source: str = "registry config"
    daemon_json_source: str = "daemon.json"
    fqdn: str = DEFAULT_FQDN
    node_count: int = 3
    certificate: Variant = Variant.HEALTHY
    proxy_plaintext: bool = False
    persistent_mirror_storage: bool = True
    last_node_without_ca: bool = False
    run_labels: RunLabels = field(default_factory=RunLabels.for_this_process)
    name_prefix: str = ""
    probe_image: str = "busybox:latest"  # pushed to the upstream under this name when first used
    max_pulls: int | None = None  # the probe pulls' budget; None: unlimited
    # --engine: [] (the default), one for every node, or one per node (node-1 first)
    engines: list[str] = field(default_factory=list)
    image_store: str | None = None  # --image-store; None: each engine's default
    node_files: dict[str, bytes] = field(default_factory=dict)  # copied into every node
    topology: str = "plain"  # --topology: plain containers, or the stack on a swarm
    stack_text: str = ""  # the stack file under test (swarm: deployed as written)
    stack_source: str = "stack file"
    traefik_config: str | None = None  # --traefik-config: the user's Traefik (swarm)

    def node_specs(self) -> list[NodeSpec]:
        """One NodeSpec per node: the file under test, each node's engine, image and store."""
        text = fill_fqdn(self.daemon_json, self.fqdn)
        specs = []
        for i in range(1, self.node_count + 1):
            engine = engine_for_node(self.engines, i)
            specs.append(
                NodeSpec(
                    f"node-{i}",
                    text,
                    engine=engine,
                    image_store=self.image_store,
                    image=self.images.get(node_key(engine)),
                    files=dict(self.node_files),
                )
            )
        if specs and self.last_node_without_ca:
            specs[-1].trust_ca = False
        return specs

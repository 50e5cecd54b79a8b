"""The hermetic lab: upstream (Docker Hub's stand-in), mirror, TLS proxy and N Docker nodes.

One internal Docker network (no route out); Docker Hub's names lead to its
stand-in, trusted by nodes and mirror: a fallback succeeds silently, as in
production, and shows as the node's own requests there (``bypass_traffic``).
The host reaches the containers by their addresses on that network. Each role is its own module
(``upstream``, ``mirror``, ``proxy``, ``node_pool``) over the lifecycle core
(``lifecycle``); ``Lab`` composes them and implements the ``Deployment``
Protocol (``mirrorcheck.targets.deployment``).

Usage (a plain class: works from a script or a REPL as well as under pytest)::

    import docker
    from mirrorcheck.targets.lab.topology import Lab, LabSpec

    spec = LabSpec.reference(images=ImageSupply(docker.from_env()).resolve_all())
    with Lab(docker.from_env(), spec) as lab:
        image = lab.push_image("mirrorcheck/hello")
        print(lab.nodes[0].pull(image.reference))
        print(lab.upstream_traffic().summary())
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import requests
from docker.models.containers import Container
from testcontainers.core.network import Network

from mirrorcheck.probes.access_log import Traffic
from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.probes.synthetic_image import SyntheticImage
from mirrorcheck.rules.image_reference import parse_reference
from mirrorcheck.targets.endpoint import MirrorEndpoint
from mirrorcheck.targets.evidence import AccessLog, MirrorEvidence
from mirrorcheck.targets.hub_images import ask_mirror
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.accounting import whole_run
from mirrorcheck.targets.lab.certs import LabCertificates
from mirrorcheck.targets.lab.lifecycle import LabContext
from mirrorcheck.targets.lab.mirror import MIRROR_ALIAS, Mirror, MirrorStart
from mirrorcheck.targets.lab.node_pool import NodePool
from mirrorcheck.targets.lab.nodes import NodeSpec
from mirrorcheck.targets.lab.proxy import Proxy
from mirrorcheck.targets.lab.spec import LabError, LabSpec, fill_fqdn, worker_prefix
from mirrorcheck.targets.lab.sweeper import sweep_run
from mirrorcheck.targets.lab.upstream import Upstream
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.targets.probe_pulls import ProbePulls, PullBudget

HUB_IMAGE = "mirrorcheck/hub-image"  # pushed upstream, asked of the mirror once (hub_image_problem)

__all__ = ["Lab", "LabError", "LabSpec", "MirrorStart", "NodeSpec", "fill_fqdn", "worker_prefix"]


class Lab:
    """Builds, operates and removes one hermetic topology. Close it (or use ``with``)."""

    def __init__(self, client: docker.DockerClient, spec: LabSpec) -> None:
        self.client = client
        self.spec = spec
        self.labels = spec.run_labels
        self.prefix = spec.name_prefix or f"mirrorcheck-{self.labels.run_id}"
        self.mode = "hermetic"
        self.timings: dict[str, float] = {}
        self._workdir = tempfile.TemporaryDirectory(prefix="mirrorcheck-lab-")
        self.certs = LabCertificates(spec.fqdn)
        self.cert_files = self.certs.write(Path(self._workdir.name) / "tls", spec.certificate)
        self.hub_files = self.certs.write_docker_hub(Path(self._workdir.name) / "hub")
        self.context = LabContext(client, self.labels, self.prefix)
        self.upstream_registry = Upstream(self.context, spec.images["registry"], self.hub_files)
        self.mirror_registry = Mirror(
            self.context,
            spec.images["registry"],
            spec.registry_config,
            spec.registry_config_source,
            spec.persistent_mirror_storage,
            hub_ca=self.hub_files.ca_cert.read_bytes(),
        )
        self.tls_proxy = Proxy(
            # The swarm's Traefik stands in for it there: no proxy image needed.
            self.context,
            spec.images.get("proxy", ""),
            spec.fqdn,
            self.cert_files,
            spec.proxy_plaintext,
        )
        self.node_pool = NodePool(
            self.context,
            spec.images["node"],
            self.tls_proxy,
            self.cert_files.ca_cert,
            spec.daemon_json_source,
            timings=self.timings,
            hub_ca=self.hub_files.ca_cert,
        )
        self.nodes: list[DockerExecNode] = self.node_pool.nodes
        self._probe: ProbePulls | None = None
        self._probe_lock = threading.Lock()
        self._closed = False

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> Lab:
        """Build the whole topology; on any failure remove what was made, then raise.

        Raises ``LabError`` when the mirror does not start with the config
        under test, ``WaitTimeout`` when another part does not come up.
        """
        try:
            self._timed("network", self.context.create_network)
            self._timed("upstream", self.upstream_registry.start)
            self._timed("mirror", self._start_mirror_or_raise)
            self._timed("proxy", self._start_proxy)
            self._timed("nodes", lambda: self.add_nodes(self.spec.node_specs()))
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Remove every container, network and volume of this lab (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.node_pool.close_aside()  # no node may still be starting when the lab is swept
        for node in self.nodes:
            node.close()  # the shells kept open in it; the container goes with the sweep
        # A lab with its own run id removes by label; several labs sharing a run
        # id (one per xdist worker, or a control beside the main lab) remove their own.
        if self.spec.name_prefix:
            self.context.remove_own()
        else:
            sweep_run(self.client, self.labels.run_id)
        self._workdir.cleanup()

    def _timed(self, phase: str, step: Callable[[], object]) -> None:
        started = time.monotonic()
        step()
        self.timings[phase] = round(time.monotonic() - started, 3)

    def _start_mirror_or_raise(self) -> None:
        outcome = self.start_mirror()
        if not outcome.up:
            raise LabError(
                f"the mirror did not start with {self.spec.registry_config_source}: "
                f"{outcome.log}\nFix: run `mirrorcheck lint registry-config "
                f"{self.spec.registry_config_source}` and correct what it reports"
            )

    def _start_proxy(self) -> None:
        port = registry_configs.listen_port(self.spec.registry_config)
        self.tls_proxy.start(backend=f"{MIRROR_ALIAS}:{port}")

    # -- the containers, by role ---------------------------------------------

    @property
    def network(self) -> Network | None:
        """The lab's internal network (testcontainers ``Network``); None before ``start()``."""
        return self.context.network

    @property
    def upstream(self) -> Container | None:
        return self.upstream_registry.container

    @property
    def mirror(self) -> Container | None:
        return self.mirror_registry.container

    @property
    def proxy(self) -> Container | None:
        return self.tls_proxy.container

    @property
    def proxy_address(self) -> str:
        return self.tls_proxy.address

    @property
    def mirror_addresses(self) -> set[str]:
        """Every address the mirror has had: its requests upstream come from these."""
        return self.mirror_registry.addresses

    @property
    def mirror_changes(self) -> list[str]:
        """What the lab changed in the registry config under test, for the report."""
        return self.mirror_registry.changes

    @property
    def registry_version(self) -> str:
        """The distribution version the mirror printed at its last start; "" when unknown."""
        return self.mirror_registry.version

    def start_mirror(self) -> MirrorStart:
        """(Re)create the mirror container, as a swarm does on restart; report how it went."""
        return self.mirror_registry.start()

    @property
    def mirror_debug_url(self) -> str:
        """The mirror's debug server (expvar counters), enabled by the lab."""
        return self.mirror_registry.debug_url

    # -- the Deployment Protocol ---------------------------------------------

    @property
    def mirror_url(self) -> str:
        return self.tls_proxy.url

    def mirror_session(self) -> requests.Session:
        """A requests session that reaches the mirror by its name, trusting the lab CA."""
        return self.tls_proxy.session()

    def mirror_client(self) -> RegistryClient:
        """The mirror as nodes see it: through the TLS proxy, by name."""
        return RegistryClient(self.mirror_url, session=self.mirror_session())

    @property
    def endpoint(self) -> MirrorEndpoint:
        """The mirror as nodes reach it: its name at the TLS proxy, trusting the lab CA."""
        return self.tls_proxy.endpoint()

    def mirror_problem(self) -> str | None:
        """None: ``start()`` waited for the mirror and the proxy, or raised ``LabError``."""
        return None

    def hub_image_problem(self) -> str | None:
        """Why the mirror does not serve an image Docker Hub's stand-in holds, or None.

        Asked once (``hub_images.ask_mirror``), on an image of its own pushed
        upstream on the first call, so no check's counts move.
        """
        return self._hub_image_problem

    @functools.cached_property
    def _hub_image_problem(self) -> str | None:
        image = self.push_image(HUB_IMAGE)
        held = "the lab pushed it to Docker Hub's stand-in"
        return ask_mirror(self.mirror_client(), image.name, image.tag, held)

    def evidence(self) -> MirrorEvidence:
        """The mirror's own evidence: debug server, catalog, storage in its container.

        Made anew on each call, so it follows the mirror across restarts. The
        TLS proxy's access log tells the nodes apart by address, so a pull is
        proven request by request.
        """
        evidence = self.mirror_registry.evidence(self.mirror_client)
        evidence.access_log = AccessLog(
            mark=self.tls_proxy.mark,
            traffic=self.tls_proxy.traffic,
            where="the TLS proxy's access log",
            client_of=self.node_address,
        )
        return evidence

    def probe_pulls(self) -> ProbePulls:
        """The probe image's pulls, as live mode makes them; the image is pushed on first use."""
        with self._probe_lock:
            if self._probe is None:
                image = parse_reference(self.spec.probe_image)
                tag = image.tag or "latest"
                self.push_image(image.repository, tag=tag)
                self._probe = ProbePulls(
                    image,
                    self.evidence,
                    self.mirror_url,
                    PullBudget(self.spec.max_pulls or None),
                    pull_reference=f"{image.repository}:{tag}",
                )
            return self._probe

    def changes_made(self) -> dict[str, object]:
        """What the lab changed in the files under test, also after a failed start."""
        return {"mirror_config_changes": list(self.mirror_changes)}

    def describe(self) -> dict[str, object]:
        """What the lab is, for reports."""
        return {
            "mode": "hermetic",
            "topology": "plain",
            "mirror_url": self.mirror_url,
            "fqdn": self.spec.fqdn,
            "registry_config": self.spec.registry_config_source,
            "daemon_json": self.spec.daemon_json_source,
            "registry_version": self.registry_version,
            "mirror_config_changes": self.mirror_changes,
            "images": self.spec.images,
            "nodes": [n.name for n in self.nodes],
            "timings": self.timings,
        }

    # -- nodes ---------------------------------------------------------------

    def add_nodes(self, specs: list[NodeSpec]) -> list[DockerExecNode]:
        """Start nodes in parallel (or take those started ahead for equal specs); a node whose
        dockerd refused to start keeps the reason."""
        return self.node_pool.add(specs)

    def start_aside(self, specs: list[NodeSpec]) -> None:
        """Start throwaway nodes ahead, in the background (``throwaway_nodes``); ``add_nodes``
        hands each over when a check asks for an equal spec. Outside ``nodes`` until then."""
        self.node_pool.start_aside(specs)

    def remove_node(self, node: DockerExecNode) -> None:
        """Remove the node's container and drop it from ``nodes``."""
        self.node_pool.remove(node)

    def node_address(self, node: DockerExecNode) -> str:
        """The node's address on the lab network: its client address in the proxy's log."""
        return self.node_pool.address(node)

    # -- test images and traffic ---------------------------------------------

    def push_image(self, name: str, tag: str = "v1", **kwargs) -> SyntheticImage:
        """Make a synthetic image and push it to the upstream (Docker Hub's stand-in)."""
        return self.upstream_registry.push_image(name, tag, **kwargs)

    def upstream_mark(self) -> int:
        """A point in the upstream's request history; pass it to :meth:`upstream_traffic`."""
        return self.upstream_registry.mark()

    def upstream_traffic(self, since: int = 0) -> Traffic:
        """What the mirror asked the upstream after ``since`` (pushes by the lab excluded)."""
        return self.upstream_registry.traffic_from(self.mirror_addresses, since)

    def bypass_traffic(self, node: DockerExecNode | None = None, since: int = 0) -> Traffic:
        """What ``node`` (default: any node) asked Docker Hub's stand-in itself after ``since``.

        Every such request bypassed the mirror: a node asks Docker Hub only after a fallback.
        """
        nodes = [node] if node is not None else list(self.nodes)
        return self.upstream_registry.traffic_from({self.node_address(n) for n in nodes}, since)

    def mirror_log(self) -> str:
        """The mirror container's log (since its last (re)start)."""
        return self.mirror_registry.log()

    def mirror_mark(self) -> int:
        """A point in the mirror's request history; pass it to :meth:`mirror_traffic`."""
        return self.mirror_registry.mark()

    def mirror_traffic(self, since: int = 0) -> Traffic:
        """What the mirror served after ``since``, as its own access log tells."""
        return self.mirror_registry.traffic(since)

    def proxy_mark(self) -> int:
        """A point in the TLS proxy's request history; pass it to :meth:`proxy_traffic`."""
        return self.tls_proxy.mark()

    def proxy_traffic(self, since: int = 0) -> Traffic:
        """What the TLS proxy served after ``since``, per client address (the nodes)."""
        return self.tls_proxy.traffic(since)

    def settle(self, *images: SyntheticImage | None) -> None:
        """Wait until the upstream's log holds every request so far and the mirror has
        stored what it fetched.

        distribution 2.8 copies a blob into storage in the background after the
        pull itself has finished; counting before that copy ends would miss it.
        Only the layers of ``images`` (``None`` entries are skipped) the mirror
        fetched upstream are awaited: a pull that bypassed the mirror left
        nothing there. The log is caught up by a barrier request
        (``Upstream.wait_logged``) before and after the stored copies; when the
        mirror's storage cannot be looked at, by the log going quiet instead.
        Each wait is bounded (30 s) and raises ``WaitTimeout`` saying what it
        awaited.
        """
        upstream = self.upstream_registry
        upstream.wait_logged()
        awaited = [image for image in images if image is not None]
        if not awaited:
            return
        fetched = self.upstream_traffic(0).blob_gets()
        seen = [
            self.mirror_registry.wait_stored(
                image, [d for d in image.layer_digests if fetched.get(d)]
            )
            for image in awaited
        ]
        if all(seen):
            upstream.wait_logged()  # the stored copies' own fetches
        else:
            upstream.wait_quiet()

    # -- failures on purpose -------------------------------------------------

    @contextlib.contextmanager
    def upstream_down(self) -> Iterator[None]:
        """Docker Hub unreachable: the upstream stops, a placeholder refuses connections."""
        with self.upstream_registry.down():
            yield

    def accounting(self) -> dict[str, object]:
        """Every request of the run: Docker Hub's bill with the mirror, and without it."""
        return whole_run(self.upstream_traffic(0), self.proxy_traffic(0))

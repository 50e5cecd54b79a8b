"""The guide's deployment in the lab: the nodes form a swarm and run the user's stack.

The nodes are the plain lab's Docker-in-Docker nodes, each with the daemon.json
under test; they form a swarm (node-1 the manager), every node mounts one
host folder at the stack's host paths (the guide's shared disk), and the
user's stack file is deployed with ``docker stack deploy`` as written, but
for what the host forces (``stack.prepare_stack``: every change is one line
in ``describe()["substitutions"]``, with its reason). Docker Hub's stand-in
stays a plain lab container; the mirror's task reaches it from its node's
address, so its fetches are told from a node's own requests (a bypass) by
user agent. TLS: Traefik v3 on the manager with a certificate from Pebble,
Let's Encrypt's test CA (``edge.traefik.TraefikEdge``); the nodes reach the
mirror's name at the manager and trust Pebble's issuing root.

Usage::

    with SwarmLab(docker.from_env(), spec) as lab:      # spec.topology == "swarm"
        image = lab.push_image("mirrorcheck/hello")
        lab.nodes[0].pull(image.reference)
        lab.describe()["substitutions"]
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from pathlib import Path

import docker
import docker.errors

from mirrorcheck.at_once import side_by_side, thread_pool
from mirrorcheck.probes.access_log import Traffic
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.edge.traefik import TraefikEdge
from mirrorcheck.targets.lab.edge.user_traefik import UserTraefikError
from mirrorcheck.targets.lab.mirror import MirrorStart
from mirrorcheck.targets.lab.node_pool import NamePin, NodePool
from mirrorcheck.targets.lab.nodes import NodeSpec
from mirrorcheck.targets.lab.spec import LabError, LabSpec
from mirrorcheck.targets.lab.swarm.cluster import HostForced, Swarm, SwarmError, force_on_stacks
from mirrorcheck.targets.lab.swarm.daemon_job import NodeDaemonJson, read_daemon_json
from mirrorcheck.targets.lab.swarm.image_archives import Archives, archive_cache
from mirrorcheck.targets.lab.swarm.links import (
    edge_network,
    log_driver,
    registry_image_trusting,
    swarm_node_specs,
    wait_for_route,
    wait_routed,
    when_done,
)
from mirrorcheck.targets.lab.swarm.service_mirror import STACK_NAME, SwarmMirror
from mirrorcheck.targets.lab.swarm.stack import (
    STACK_DIR,
    PreparedStack,
    StackError,
    host_forced,
    lay_out_shared,
    prepare_stack,
)
from mirrorcheck.targets.lab.timeline import Timeline
from mirrorcheck.targets.lab.topology import Lab
from mirrorcheck.targets.lab.upstream import Upstream
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.waiting import WaitTimeout

REGISTRY_STACK_IMAGE = "registry:2"
IMAGES_MOUNT = "/srv/mirrorcheck-images"  # where every node sees the lab's image archives
REGISTRY_ARCHIVE = "registry.tar"


class SwarmLab(Lab):
    """The swarm topology; the same interface as ``Lab`` (the Deployment Protocol and more)."""

    def __init__(self, client: docker.DockerClient, spec: LabSpec) -> None:
        super().__init__(client, spec)
        self.upstream_registry = Upstream(
            self.context, spec.images["registry"], self.hub_files, steady=True
        )
        self.pin = NamePin(spec.fqdn)
        try:
            self.edge = TraefikEdge(
                self.context,
                spec.images,
                spec.fqdn,
                network=edge_network(spec.stack_text),
                user_traefik=spec.traefik_config,
            )
        except UserTraefikError as error:
            raise LabError(str(error)) from None
        self.tls_proxy = self.edge  # type: ignore[assignment]
        self.node_pool = NodePool(
            self.context,
            spec.images["node"],
            self.pin,
            self.cert_files.ca_cert,  # until Pebble's issuing root is known (``_trust_and_pin``)
            spec.daemon_json_source,
            timings=self.timings,
            hub_ca=self.hub_files.ca_cert,
        )
        self.nodes = self.node_pool.nodes
        self.shared_dir = Path(self._workdir.name) / "shared"
        self.images_dir = Path(self._workdir.name) / "images"
        self.images_dir.mkdir()
        self.swarm: Swarm | None = None
        self.timeline = Timeline()  # when each step of the start ran (``describe``)
        self.edge.timeline = self.node_pool.timeline = self.timeline
        self.archives = Archives(self.images_dir, IMAGES_MOUNT, self.timeline, archive_cache())
        self._node_archives: dict[str, str] = {}  # registry / traefik -> its path in the nodes
        self.prepared: PreparedStack | None = None
        self.mirror_config_changes: list[str] = []  # what the lab changed in the config
        self.daemon_rows: dict[str, NodeDaemonJson] = {}
        self._registry_image = ""
        self._registry_tag = ""
        self.forced = HostForced(self._host_forced)
        self._certified_at = 0.0

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> SwarmLab:
        """Build the swarm and deploy the stack; on failure remove what was made, then raise.

        Each step runs once what it needs is there (``timeline``: when each
        ran). Raises ``LabError`` (the stack cannot be read, the swarm cannot
        be formed, the mirror's service does not run: each with its cause
        and fix), ``WaitTimeout`` when another part does not come up.
        """
        started = time.monotonic()
        self.timeline.restart()
        try:
            self._timed("network", self.context.create_network)
            self._timed("upstream, acme, nodes, image archives", self._start_parts)
            self._timed("prepare stack", self._prepare)
            self._timed("swarm, images, stack, traefik, certificate", self._form_and_deploy)
            self.timings["swarm topology up, first certificate"] = round(
                self._certified_at - started, 3
            )
        except BaseException:
            self.close()
            raise
        self.timings["swarm topology up"] = round(time.monotonic() - started, 3)
        return self

    def _timed(self, phase: str, step: Callable[[], object]) -> None:
        with self.timeline.span(phase):
            super()._timed(phase, step)

    def close(self) -> None:
        """Remove every container, network and volume of this lab, and its registry image."""
        if self._closed:
            return
        try:
            super().close()
        finally:
            self.edge.close()
        if self._registry_image:
            with contextlib.suppress(docker.errors.APIError):
                self.client.images.remove(self._registry_image, force=True)

    def _start_parts(self) -> None:
        """Docker Hub's stand-in, Pebble, the image archives (saved while the nodes start;
        Traefik's from a cache kept between runs) and the nodes, side by side."""
        steps = [
            self.upstream_registry.start,
            self.edge.start_acme,
            self._save_archives,
            lambda: self.add_nodes(self._node_specs()),
        ]
        side_by_side(*steps)
        self.node_pool.ca_cert = self.edge.root_file

    def _trust_and_pin(self, manager: DockerExecNode) -> None:
        """Every node trusts Pebble's root of this start, and reaches the mirror at ``manager``."""
        self.node_pool.trust(self.edge.issuing_root())
        self.node_pool.pin(self.node_address(manager))

    def _prepare(self) -> None:
        text, self.mirror_config_changes = registry_configs.mirror_config(
            self.spec.registry_config, self.spec.registry_config_source
        )
        self.mirror_config_text = text
        try:
            self.prepared = prepare_stack(
                self.spec.stack_text,
                self.spec.stack_source,
                fqdn=self.spec.fqdn,
                hub_address=self.upstream_registry.address,
                debug_port=registry_configs.DEBUG_PORT
                if any("http.debug.addr" in c for c in self.mirror_config_changes)
                else None,
            )
        except StackError as error:
            raise LabError(
                f"the lab cannot deploy {self.spec.stack_source}: {error}\nFix: run `mirrorcheck "
                f"lint registry-config {self.spec.registry_config_source} --stack "
                f"{self.spec.stack_source}` and correct what it reports"
            ) from None
        lay_out_shared(self.prepared, self.shared_dir, text)

    def _node_specs(self) -> list[NodeSpec]:
        network = self.client.networks.get(self.context.network_name)
        gateway = (network.attrs["IPAM"]["Config"] or [{}])[0].get("Gateway", "")
        return swarm_node_specs(self.spec, self.shared_dir, self.archives.binds(), gateway)

    def _form_and_deploy(self) -> None:
        """The swarm forms while the nodes load the images (the manager Traefik's and
        ``registry:2``, the workers ``registry:2``); each deploy starts when it can. The
        global job starts once the mirror runs, so that it does not slow the mirror's start."""
        up = [n for n in self.nodes if not n.startup_error]
        if not up or up[0].name != "node-1":
            reasons = "\n".join(n.startup_error or "" for n in self.nodes)
            raise LabError(f"no swarm without node-1's dockerd:\n{reasons}")
        self.swarm = Swarm(up[0], {n.name: self.node_address(n) for n in up})
        force_on_stacks(self.swarm.manager, self.forced)
        manager, workers = up[0], up[1:]
        names = {REGISTRY_STACK_IMAGE: self._registry_tag}
        registry, traefik = self._node_archives["registry"], self._node_archives["traefik"]
        to_manager = partial(
            self.archives.load,
            [manager],
            [traefik, registry],
            {**names, **self.edge.images_for_nodes},
        )
        with thread_pool(8) as pool:

            def after(needs: list[Future], phase: str, step: Callable[[], object]) -> Future:
                return when_done(pool, needs, partial(self._timed, phase, step))

            formed = after([], "swarm formed, networks", partial(self._form, workers))
            trusted = after([], "nodes trust pebble, pinned", partial(self._trust_and_pin, manager))
            on_manager = after([], "images, manager", to_manager)
            on_workers = after(
                [], "images, workers", partial(self.archives.load, workers, [registry], names)
            )
            edge = after([formed, on_manager], "traefik", self._deploy_edge)
            deployed = after([formed, on_manager, on_workers], "deploy", self._deploy)
            mirror = after([deployed], "mirror", self._start_mirror_or_raise)
            routed = after([mirror, edge], "route, certificate", self._wait_route)
            job = after([mirror], "global job", self._read_daemon_json)
            for step in (formed, on_workers, on_manager, deployed, mirror, edge, routed, trusted):
                step.result()
            job.result()

    def _form(self, workers: list[DockerExecNode]) -> None:
        """The manager and ``workers`` form the swarm; the stacks' external networks exist."""
        assert self.swarm is not None and self.prepared is not None
        try:
            self.swarm.form(workers)
        except SwarmError as error:
            raise LabError(f"the nodes could not form a swarm: {error}") from None
        networks = list(dict.fromkeys([*self.prepared.external_networks, self.edge.network]))
        try:
            self.swarm.create_networks(networks)
        except SwarmError as error:
            raise self._refused(error) from None

    def _save_archives(self) -> None:
        """Traefik's image (once per image ID, ``Archives.keep``), and the registry image
        trusting Docker Hub's stand-in, built then saved, side by side."""

        def traefik() -> None:
            for image in self.edge.images_for_nodes.values():
                self._node_archives["traefik"] = self.archives.keep(self.client, image)

        def registry() -> None:
            with self.timeline.span("registry image built"):
                self._registry_image, self._registry_tag = registry_image_trusting(
                    self.client,
                    self.spec.images["registry"],
                    self.hub_files.ca_cert.read_bytes(),
                    self.labels,
                    self.context.name("registry").split("mirrorcheck-", 1)[-1],
                )
            self._node_archives["registry"] = self.archives.save(
                REGISTRY_ARCHIVE, [self._registry_tag]
            )

        side_by_side(traefik, registry)

    def _host_forced(self, text: str, stack: str) -> tuple[str, list[str]]:
        return host_forced(
            text,
            stack,
            node_log_driver=log_driver(self.spec.daemon_json),
        )

    def _deploy_edge(self) -> None:
        """Traefik on the manager (the user's stack's networks exist); nodes pinned to it."""
        assert self.swarm is not None
        try:
            self.edge.deploy(self.swarm.manager, self.swarm.addresses[self.swarm.manager.name])
        except (SwarmError, WaitTimeout) as error:
            raise LabError(f"Traefik did not start on the swarm: {error}") from None
        except UserTraefikError as error:  # --traefik-config that cannot run
            raise LabError(str(error)) from None

    def _deploy(self) -> None:
        assert self.swarm is not None and self.prepared is not None
        try:
            self.swarm.deploy(STACK_NAME, self.prepared.text, f"{STACK_DIR}/stack.yml")
        except SwarmError as error:
            raise self._refused(error) from None
        self.mirror_registry = SwarmMirror(
            self.swarm,
            self.prepared,
            self.mirror_config_text,
            self.mirror_config_changes,
            self.shared_dir,
            self.swarm.addresses,
        )

    def _refused(self, error: SwarmError) -> LabError:
        return LabError(
            f"docker stack deploy refused {self.spec.stack_source}: {error}\nFix: correct "
            f"the stack file as docker says (`docker stack deploy -c {self.spec.stack_source} "
            "mirror` on a swarm manager shows the same)"
        )

    def _wait_route(self) -> None:
        assert self.prepared is not None
        wait_for_route(self.edge, self.prepared, self.spec)
        self._certified_at = time.monotonic()

    def _read_daemon_json(self) -> None:
        assert self.swarm is not None
        try:
            self.daemon_rows = read_daemon_json(
                self.swarm,
                REGISTRY_STACK_IMAGE,
                len(self.swarm.addresses),
            )
        except (SwarmError, WaitTimeout) as error:
            self.daemon_rows = {"swarm": NodeDaemonJson("swarm", error=str(error)[:500])}

    # -- what differs from the plain lab -------------------------------------

    def start_mirror(self) -> MirrorStart:
        """A new task of the mirror's service (``--force``), as a swarm restarts it.

        Up means up for the nodes too: once the new task answers, Traefik
        routes to it (it follows tasks by polling the swarm; until then it
        answers 502 for the old one).
        """
        # The lab's start awaits the route itself; a restart, while the task's log is read.
        route = partial(wait_routed, self.edge) if self._certified_at else None
        return self.mirror_registry.start(route=route)

    @property
    def acme(self) -> TraefikEdge:
        """The ACME side the ACME checks read (``edge.acme_checks.AcmeEdge``): Traefik + Pebble."""
        return self.edge

    @property
    def proxy(self) -> None:
        """No proxy container: Traefik is a swarm service (``edge``)."""
        return None

    @property
    def proxy_address(self) -> str:
        """Where Traefik publishes 443: the manager's address."""
        return self.edge.manager_address

    @property
    def manager(self) -> DockerExecNode:
        assert self.swarm is not None
        return self.swarm.manager

    def upstream_traffic(self, since: int = 0) -> Traffic:
        """What the mirror asked Docker Hub's stand-in: from a node's address, not as dockerd."""
        nodes = {self.node_address(n) for n in self.nodes}
        return self.upstream_registry.traffic_from(nodes, since, docker_engine=False)

    def bypass_traffic(self, node: DockerExecNode | None = None, since: int = 0) -> Traffic:
        """What ``node`` (default: any) asked Docker Hub's stand-in itself: sent as dockerd."""
        nodes = [node] if node is not None else list(self.nodes)
        addresses = {self.node_address(n) for n in nodes}
        return self.upstream_registry.traffic_from(addresses, since, docker_engine=True)

    def node_accounts_extra(self) -> dict[str, dict[str, object]]:
        """Per node, what the global job read there (daemon.json size, effective mirrors)."""
        return {name: row.account() for name, row in self.daemon_rows.items()}

    def changes_made(self) -> dict[str, object]:
        """What the lab changed in the files under test, also after a failed start."""
        prepared = self.prepared
        return {
            "mirror_config_changes": list(self.mirror_config_changes),
            "substitutions": [*(prepared.substitutions if prepared else []), *self.forced.changes],
            "acme_substitution": self.edge.lab_changes(),
        }

    def describe(self) -> dict[str, object]:
        """What the lab is, for reports: the plain lab's, and the swarm's shape and changes."""
        return {
            **super().describe(),
            "topology": "swarm",
            "managers": self.swarm.managers if self.swarm else [],
            "stack_file": self.spec.stack_source,
            "mirror_task_node": self.mirror_registry.node
            if isinstance(self.mirror_registry, SwarmMirror)
            else "",
            **self.edge.describe(),
            **self.changes_made(),
            "global_job": self.node_accounts_extra(),
            "timeline": self.timeline.rows(),
        }

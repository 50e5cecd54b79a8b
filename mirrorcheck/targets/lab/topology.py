"""The hermetic lab: upstream (Docker Hub's stand-in), mirror, TLS proxy and N Docker nodes.

Everything lives on one internal Docker network (no route out), so a node that
silently falls back to Docker Hub fails loudly. The host reaches the
containers by their addresses on that network.

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
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import urllib3
from docker.models.containers import Container
from testcontainers.core.network import Network

from mirrorcheck.probes.access_log import Traffic, parse_log
from mirrorcheck.probes.http import make_session
from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.probes.synthetic_image import SyntheticImage, make_image
from mirrorcheck.rules.daemon_json.oracle import explain_with_reader
from mirrorcheck.rules.image_reference import parse_reference
from mirrorcheck.targets.endpoint import DEFAULT_PORTS, MirrorEndpoint
from mirrorcheck.targets.evidence import MirrorEvidence
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.certs import LabCertificates, Variant, docker_ca_path
from mirrorcheck.targets.lab.containers import ContainerSpec, container_ip, start_container
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.nodes import NodeSpec, exit_report, start_node
from mirrorcheck.targets.lab.proxy_conf import CERT_DIR, nginx_conf
from mirrorcheck.targets.lab.sweeper import sweep_run
from mirrorcheck.targets.mirror_storage import MirrorStorage
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH
from mirrorcheck.targets.probe_pulls import ProbePulls, PullBudget
from mirrorcheck.waiting import WaitTimeout, wait_until

REGISTRY_CONFIG_PATH = "/etc/docker/registry/config.yml"
DEFAULT_FQDN = "mirror.test"
FQDN_PLACEHOLDER = "<your registry mirror FQDN>"
MIRROR_ALIAS = "mirror"
# distribution prints its version at start, in text or JSON log format; not go.version.
VERSION_PATTERN = re.compile(r'"version":"([^"]+)"|(?<![.\w])version=(\S+)')
DAEMON_FAILURE = re.compile(
    r"(unable to configure the Docker daemon[^\n]*|failed to start daemon[^\n]*|"
    r"invalid[^\n]*daemon\.json[^\n]*)",
    re.IGNORECASE,
)

START_TIMEOUT = 30.0
SETTLE_QUIET_SECONDS = 0.5
SETTLE_TIMEOUT = 30.0


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

    def node_specs(self) -> list[NodeSpec]:
        text = fill_fqdn(self.daemon_json, self.fqdn)
        specs = [NodeSpec(f"node-{i}", text) for i in range(1, self.node_count + 1)]
        if specs and self.last_node_without_ca:
            specs[-1].trust_ca = False
        return specs


@dataclass
class MirrorStart:
    """How a mirror start went: up, or exited with its log."""

    up: bool
    log: str
    version: str = ""


class Lab:
    """Builds, operates and removes one hermetic topology. Close it (or use ``with``)."""

    def __init__(self, client: docker.DockerClient, spec: LabSpec) -> None:
        self.client = client
        self.spec = spec
        self.labels = spec.run_labels
        self.prefix = spec.name_prefix or f"mirrorcheck-{self.labels.run_id}"
        self.network: Network | None = None
        self.upstream: Container | None = None
        self.mirror: Container | None = None
        self.proxy: Container | None = None
        self.nodes: list[DockerExecNode] = []
        self.mode = "hermetic"
        self.mirror_addresses: set[str] = set()
        self.mirror_changes: list[str] = []
        self.registry_version = ""
        self.timings: dict[str, float] = {}
        self._workdir = tempfile.TemporaryDirectory(prefix="mirrorcheck-lab-")
        self.certs = LabCertificates(spec.fqdn)
        self.cert_files = self.certs.write(Path(self._workdir.name) / "tls", spec.certificate)
        self._placeholder: Container | None = None
        self._lock = threading.Lock()
        self._probe: ProbePulls | None = None
        self._probe_lock = threading.Lock()
        self._closed = False

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> Lab:
        """Build the whole topology; on any failure remove what was made, then raise."""
        try:
            self._timed("network", self._start_network)
            self._timed("upstream", self._start_upstream)
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
        sweep_run(self.client, self.labels.run_id) if self._owns_run() else self._remove_own()
        self._workdir.cleanup()

    def _owns_run(self) -> bool:
        # A lab with its own run id removes by label; several labs sharing a run
        # id (one per xdist worker, or a control beside the main lab) remove their own.
        return not self.spec.name_prefix

    def _remove_own(self) -> None:
        filters = {"name": [f"^{self.prefix}-"]}
        for container in self.client.containers.list(
            all=True, filters=filters, ignore_removed=True
        ):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
        if self.network is not None:
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                self.network.remove()
        for volume in self.client.volumes.list(filters=self.labels.run_filter):
            if volume.name.startswith(f"{self.prefix}-"):
                with contextlib.suppress(docker.errors.NotFound):
                    volume.remove(force=True)

    def _timed(self, phase: str, step) -> None:
        started = time.monotonic()
        step()
        self.timings[phase] = round(time.monotonic() - started, 3)

    # -- parts ---------------------------------------------------------------

    @property
    def network_name(self) -> str:
        assert self.network is not None
        return self.network.name

    def _start_network(self) -> None:
        network = Network(
            docker_network_kw={"internal": True, "labels": self.labels.as_dict("network")}
        )
        network.name = f"{self.prefix}-net"
        self.network = network.create()

    def _volume(self, purpose: str) -> str:
        name = f"{self.prefix}-{purpose}"
        self.client.volumes.create(name, labels=self.labels.as_dict(purpose))
        return name

    def _start_upstream(self) -> None:
        spec = ContainerSpec(
            image=self.spec.images["registry"],
            name=f"{self.prefix}-upstream",
            role="upstream",
            aliases=[registry_configs.UPSTREAM_ALIAS],
            files={REGISTRY_CONFIG_PATH: registry_configs.upstream_config().encode()},
            volumes={self._volume("upstream-storage"): registry_configs.DEFAULT_ROOT},
        )
        self.upstream = start_container(spec, self.network, self.labels)
        self._wait_registry(self.upstream, registry_configs.REGISTRY_PORT, "upstream")

    @property
    def upstream_address(self) -> str:
        assert self.upstream is not None
        return container_ip(self.upstream, self.network_name)

    def _wait_registry(self, container: Container, port: int, role: str) -> None:
        address = container_ip(container, self.network_name)
        client = RegistryClient(f"http://{address}:{port}", timeout=2)
        wait_until(
            lambda: client.ping().status_code in (200, 401),
            timeout=START_TIMEOUT,
            what=f"the {role} registry to answer GET http://{address}:{port}/v2/",
            give_up=lambda: self._exited(container),
        )

    def _exited(self, container: Container) -> str | None:
        return exit_report(container)

    def _mirror_spec(self) -> ContainerSpec:
        upstream_url = f"http://{registry_configs.UPSTREAM_ALIAS}:{registry_configs.REGISTRY_PORT}"
        text, self.mirror_changes = registry_configs.mirror_config(
            self.spec.registry_config, upstream_url, self.spec.registry_config_source
        )
        root = registry_configs.storage_root(text)
        volumes = {}
        if root and self.spec.persistent_mirror_storage:
            name = f"{self.prefix}-mirror-storage"
            if not self.client.volumes.list(filters={"name": name}):
                self._volume("mirror-storage")
            volumes[name] = root
        return ContainerSpec(
            image=self.spec.images["registry"],
            name=f"{self.prefix}-mirror",
            role="mirror",
            aliases=[MIRROR_ALIAS],
            files={REGISTRY_CONFIG_PATH: text.encode()},
            volumes=volumes,
        )

    def start_mirror(self) -> MirrorStart:
        """(Re)create the mirror container, as a swarm does on restart; report how it went."""
        spec = self._mirror_spec()
        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(spec.name).remove(force=True, v=False)
        self.mirror = start_container(spec, self.network, self.labels)
        port = registry_configs.listen_port(spec.files[REGISTRY_CONFIG_PATH].decode())
        try:
            self._wait_registry(self.mirror, port, "mirror")
        except WaitTimeout as error:
            # The whole log: a Go panic prints its cause first, then a long stack.
            log = self.mirror.logs().decode(errors="replace")
            return MirrorStart(False, f"{error}\n--- full log ---\n{log}")
        self.mirror_addresses.add(container_ip(self.mirror, self.network_name))
        log = self.mirror.logs().decode(errors="replace")
        match = VERSION_PATTERN.search(log)
        version = (match.group(1) or match.group(2)) if match else ""
        self.registry_version = version or self.registry_version
        return MirrorStart(True, log, version)

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
        files = {
            "/etc/nginx/nginx.conf": nginx_conf(
                self.spec.fqdn, f"{MIRROR_ALIAS}:{port}", self.spec.proxy_plaintext
            ).encode(),
            f"{CERT_DIR}/server.crt": self.cert_files.server_cert.read_bytes(),
            f"{CERT_DIR}/server.key": self.cert_files.server_key.read_bytes(),
        }
        spec = ContainerSpec(
            image=self.spec.images["proxy"],
            name=f"{self.prefix}-proxy",
            role="proxy",
            aliases=[self.spec.fqdn],
            files=files,
        )
        self.proxy = start_container(spec, self.network, self.labels)
        session = self.mirror_session()
        # Unverified on purpose: a lab with a broken certificate must still come up,
        # so that the TLS checks (not the lab) report what is wrong with it.
        session.verify = False
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        wait_until(
            lambda: session.get(f"{self.mirror_url}/v2/", timeout=2).status_code in (200, 401),
            timeout=START_TIMEOUT,
            what=f"the TLS proxy to answer GET {self.mirror_url}/v2/",
            give_up=lambda: self._exited(self.proxy),
        )

    @property
    def proxy_address(self) -> str:
        assert self.proxy is not None
        return container_ip(self.proxy, self.network_name)

    @property
    def mirror_url(self) -> str:
        return f"https://{self.spec.fqdn}"

    def mirror_session(self):
        """A requests session that reaches the mirror by its name, trusting the lab CA."""
        address = self.proxy_address
        return make_session(
            ca_file=str(self.cert_files.ca_cert),
            resolve={f"{self.spec.fqdn}:443": f"{address}:443", f"{self.spec.fqdn}:80": address},
        )

    def mirror_client(self) -> RegistryClient:
        """The mirror as nodes see it: through the TLS proxy, by name."""
        return RegistryClient(self.mirror_url, session=self.mirror_session())

    @property
    def endpoint(self) -> MirrorEndpoint:
        """The mirror as nodes reach it: its name at the TLS proxy, trusting the lab CA."""
        return MirrorEndpoint(
            url=self.mirror_url,
            fqdn=self.spec.fqdn,
            address=self.proxy_address,
            port=DEFAULT_PORTS["https"],
            ca_file=str(self.cert_files.ca_cert),
        )

    def mirror_problem(self) -> str | None:
        """None: ``start()`` waited for the mirror and the proxy, or raised ``LabError``."""
        return None

    def evidence(self) -> MirrorEvidence:
        """The mirror's own evidence: debug server, catalog, storage in its container.

        Made anew on each call, so it follows the mirror across restarts.
        """
        root = registry_configs.storage_root(self.spec.registry_config)
        storage = None
        if root and self.mirror is not None:
            where = f"docker://{self.mirror.name}{root}"
            storage = MirrorStorage(where, root, DockerExecNode(self.mirror))
        return MirrorEvidence(
            client=self.mirror_client,
            registry_version=self.registry_version,
            debug_url=self.mirror_debug_url if self.mirror is not None else None,
            storage_location=storage,
        )

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

    def upstream_client(self) -> RegistryClient:
        return RegistryClient(f"http://{self.upstream_address}:{registry_configs.REGISTRY_PORT}")

    # -- nodes ---------------------------------------------------------------

    def add_nodes(self, specs: list[NodeSpec]) -> list[DockerExecNode]:
        """Start nodes in parallel; a node whose dockerd refused to start keeps the reason."""
        with ThreadPoolExecutor(max_workers=max(1, len(specs))) as pool:
            started = list(pool.map(self._start_node, specs))
        self.nodes.extend(started)
        return started

    def _start_node(self, spec: NodeSpec) -> DockerExecNode:
        files = {}
        if spec.trust_ca:
            files[str(docker_ca_path(self.spec.fqdn))] = self.cert_files.ca_cert.read_bytes()
        started = time.monotonic()
        node = start_node(
            self.client,
            self.spec.images["node"],
            spec,
            network=self.network,
            labels=self.labels,
            container_name=f"{self.prefix}-{spec.name}",
            files=files,
            # The mirror's name is pinned to the proxy: name resolution is not under test,
            # and Docker's embedded resolver, slow under load, must not pass for a TLS failure.
            hosts={self.spec.fqdn: self.proxy_address},
        )
        if node.startup_error:
            node.startup_error = self._explain_node_failure(spec, node.startup_error)
        self.timings[f"ready {spec.name}"] = round(time.monotonic() - started, 3)
        return node

    def _explain_node_failure(self, spec: NodeSpec, detail: str) -> str:
        match = DAEMON_FAILURE.search(detail)
        cause = match.group(1) if match else detail
        source = self.spec.daemon_json_source
        reader = explain_with_reader(spec.daemon_json, source, dockerd_flags=spec.dockerd_args)
        return (
            f"{spec.name}: dockerd did not start with {source} (mounted at {DAEMON_JSON_PATH}): "
            f"{cause}\n{reader}\nFix: correct the file as the reader says (`mirrorcheck lint "
            f"daemon-json {source}`); a node with this file leaves the swarm on restart"
        )

    def remove_node(self, node: DockerExecNode) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            node.container.remove(force=True, v=True)
        if node in self.nodes:
            self.nodes.remove(node)

    # -- test images and accounting -----------------------------------------

    def push_image(self, name: str, tag: str = "v1", **kwargs) -> SyntheticImage:
        """Make a synthetic image and push it to the upstream (Docker Hub's stand-in)."""
        image = kwargs.pop("image", None) or make_image(name, tag, **kwargs)
        self.upstream_client().push(image)
        return image

    def upstream_log(self) -> str:
        assert self.upstream is not None
        return self.upstream.logs().decode(errors="replace")

    def upstream_mark(self) -> int:
        """A point in the upstream's request history; pass it to :meth:`upstream_traffic`."""
        return len(parse_log(self.upstream_log()))

    def upstream_traffic(self, since: int = 0) -> Traffic:
        """What the mirror asked the upstream after ``since`` (pushes by the lab excluded)."""
        requests = parse_log(self.upstream_log())[since:]
        return Traffic(r for r in requests if r.client in self.mirror_addresses)

    def mirror_log(self) -> str:
        """The mirror container's log (since its last (re)start)."""
        assert self.mirror is not None
        return self.mirror.logs().decode(errors="replace")

    def mirror_mark(self) -> int:
        """A point in the mirror's request history; pass it to :meth:`mirror_traffic`."""
        return len(parse_log(self.mirror_log()))

    def mirror_traffic(self, since: int = 0) -> Traffic:
        """What the mirror served after ``since``, as its own access log tells."""
        return Traffic(parse_log(self.mirror_log())[since:])

    def proxy_log(self) -> str:
        assert self.proxy is not None
        return self.proxy.logs(stderr=False).decode(errors="replace")

    def proxy_mark(self) -> int:
        """A point in the TLS proxy's request history; pass it to :meth:`proxy_traffic`."""
        return len(parse_log(self.proxy_log()))

    def proxy_traffic(self, since: int = 0) -> Traffic:
        """What the TLS proxy served after ``since``, per client address (the nodes)."""
        return Traffic(parse_log(self.proxy_log())[since:])

    def node_address(self, node: DockerExecNode) -> str:
        return container_ip(node.container, self.network_name)

    @property
    def mirror_debug_url(self) -> str:
        """The mirror's debug server (expvar counters), enabled by the lab."""
        assert self.mirror is not None
        address = container_ip(self.mirror, self.network_name)
        return f"http://{address}:{registry_configs.DEBUG_PORT}"

    def settle(self, image: SyntheticImage | None = None) -> None:
        """Wait until the mirror has stored ``image``'s blobs and the upstream has gone quiet.

        distribution 2.8 copies a blob into storage in the background after the
        pull itself has finished; counting before that copy ends would miss it.
        """
        if image is not None and self.mirror is not None:
            root = registry_configs.storage_root(self.spec.registry_config)
            if root and self.spec.persistent_mirror_storage:
                paths = [
                    f"{root}/docker/registry/v2/blobs/sha256/{d[7:9]}/{d[7:]}/data"
                    for d in image.layer_digests
                ]
                every_file_there = ["sh", "-c", 'for p; do test -f "$p" || exit 1; done', "-"]
                wait_until(
                    lambda: self.mirror.exec_run([*every_file_there, *paths]).exit_code == 0,
                    timeout=SETTLE_TIMEOUT,
                    what=f"the mirror to store the {len(paths)} layers of {image.reference}",
                )
        state = {"count": -1, "since": time.monotonic()}

        def quiet() -> bool:
            count = len(self.upstream_log())
            now = time.monotonic()
            if count != state["count"]:
                state.update(count=count, since=now)
            return now - state["since"] >= SETTLE_QUIET_SECONDS

        wait_until(
            quiet,
            timeout=SETTLE_TIMEOUT,
            interval=0.1,
            what=f"the upstream to go quiet for {SETTLE_QUIET_SECONDS} s",
        )

    # -- failures on purpose -------------------------------------------------

    @contextlib.contextmanager
    def upstream_down(self) -> Iterator[None]:
        """Docker Hub unreachable: the upstream stops, a placeholder refuses connections.

        A stopped container's alias makes lookups time out (10 s each); a
        placeholder under the same alias refuses at once, like an outage does.
        """
        assert self.upstream is not None
        self.upstream.stop(timeout=2)
        placeholder = ContainerSpec(
            image=self.spec.images["registry"],
            name=f"{self.prefix}-upstream-down",
            role="placeholder",
            aliases=[registry_configs.UPSTREAM_ALIAS],
            command=["sleep", "infinity"],
        )
        self._placeholder = start_container(placeholder, self.network, self.labels)
        try:
            yield
        finally:
            self._placeholder.remove(force=True, v=True)
            self._placeholder = None
            self.upstream.start()
            self._wait_registry(self.upstream, registry_configs.REGISTRY_PORT, "upstream")

    def accounting(self) -> dict[str, object]:
        """Every request of the run: Docker Hub's bill with the mirror, and without it.

        With: the manifest GETs the mirror sent upstream. Without: the manifest
        GETs the mirror's clients (the nodes, and the checks fetching through the
        proxy) sent it, each of which would have gone to Docker Hub instead.
        """
        upstream, served = self.upstream_traffic(0), self.proxy_traffic(0)
        return {
            "billable_with_mirror": upstream.billable(),
            "billable_without_mirror": served.billable(),
            "upstream_bytes": upstream.total_bytes(),
            "bytes_served_to_nodes": served.total_bytes(),
            "source": "the lab's upstream and TLS proxy access logs, whole run",
        }

    def describe(self) -> dict[str, object]:
        """What the lab is, for reports."""
        return {
            "mode": "hermetic",
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

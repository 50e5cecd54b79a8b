"""A live deployment: a real mirror by its URL and real Docker nodes, checked read-only.

``--mirror-url`` switches the suites to live mode; nothing hermetic starts.
The mirror is reached by its name, trusting the system store or ``--ca-file``;
``--mirror-address HOST:PORT`` sends the connections elsewhere while TLS still
verifies the name (curl's ``--resolve``). Nodes come from ``--node`` URLs:

- ``local``: this host's engine and /etc/docker/daemon.json;
- ``ssh://user@host[:port]``: over ssh (``mirrorcheck.targets.nodes.ssh``);
- ``docker://<container>``: an engine inside a container on this host.

A node that cannot be reached, or has no working Docker engine, keeps the
reason in ``startup_error`` (the node, the cause, the fix); the others are
checked all the same. Live mode only reads: it never pushes, deletes or
changes a node's configuration, and it pulls ``--probe-image`` at most
``--max-pulls`` times (default: two per node, one cold and one warm).

Usage::

    from mirrorcheck.settings import Settings
    from mirrorcheck.targets.live.deployment import LiveDeployment

    settings = Settings.from_mapping({"mirror-url": "https://mirror.example.com",
                                      "node": ["ssh://admin@node1", "local"]})
    live = LiveDeployment.from_settings(settings)
    [n.name for n in live.nodes if not n.startup_error]
    live.mirror_client().ping().status_code          # 200 or 401
    live.evidence().catalog_has("library/busybox")
    live.probe_pulls().pull(live.nodes[0]).route(live.mirror_url)
"""

from __future__ import annotations

import os

import requests

from mirrorcheck.probes.http import make_session
from mirrorcheck.probes.mirror_metrics import DEFAULT_PROMETHEUS_PATH, prometheus_path_of
from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.rules.image_reference import ImageReferenceError, parse_reference
from mirrorcheck.settings import Settings
from mirrorcheck.targets.endpoint import MirrorEndpoint
from mirrorcheck.targets.evidence import AccessLog, MirrorEvidence
from mirrorcheck.targets.live.access_log import AccessLogError, access_log_from_url
from mirrorcheck.targets.mirror_storage import MirrorStorage, StorageError
from mirrorcheck.targets.nodes.connect import connect_nodes
from mirrorcheck.targets.nodes.node import Node
from mirrorcheck.targets.probe_pulls import ProbePulls, PullBudget
from mirrorcheck.text import endpoints

MIRROR_TIMEOUT = 10.0
PULLS_PER_NODE = 2  # one cold and one warm pull


class LiveTargetError(RuntimeError):
    """The live options cannot describe a deployment; the message names the option and the fix."""


def parse_mirror_url(url: str) -> tuple[str, str, int]:
    """``https://mirror.example.com[:port]`` -> (scheme, host, port); LiveTargetError otherwise.

    The rules are ``mirrorcheck.text.endpoints.parse_mirror_url``'s (what dockerd accepts).
    """
    try:
        return endpoints.parse_mirror_url(url)
    except ValueError as error:
        raise LiveTargetError(
            f"--mirror-url: {error}. Fix: --mirror-url https://mirror.example.com "
            "(scheme://host[:port], as in the nodes' registry-mirrors)"
        ) from None


def parse_address(text: str, default_port: int) -> tuple[str, int]:
    """``HOST:PORT``, ``HOST`` or ``[v6]:PORT`` -> (host, port); LiveTargetError otherwise."""
    try:
        return endpoints.parse_host_port(text, default_port)
    except ValueError as error:
        raise LiveTargetError(
            f"--mirror-address: {error}. Fix: HOST:PORT where the mirror listens, e.g. "
            "--mirror-address 10.0.0.5:443"
        ) from None


class LiveDeployment:
    """A deployed mirror and its nodes; see the module docstring."""

    mode = "live"

    def __init__(
        self,
        endpoint: MirrorEndpoint,
        nodes: list[Node],
        registry_version: str = "",
        debug_url: str | None = None,
        storage: MirrorStorage | None = None,
        probe_image: str = "busybox:latest",
        max_pulls: int | None = None,
        host_keys_verified: bool = True,
        access_log: AccessLog | None = None,
        access_log_url: str | None = None,
        prometheus_path: str = DEFAULT_PROMETHEUS_PATH,
    ) -> None:
        self.endpoint = endpoint
        self.host_keys_verified = host_keys_verified
        self.mirror_url = endpoint.url
        self.fqdn = endpoint.fqdn
        self.nodes = nodes
        self.registry_version = registry_version
        self.mirror_debug_url = debug_url
        self.storage = storage
        try:
            image = parse_reference(probe_image)
        except ImageReferenceError as error:
            raise LiveTargetError(f"--probe-image: {error}") from None
        problem = image.mirror_problem()
        if problem:
            raise LiveTargetError(f"--probe-image: {problem}")
        self._evidence = MirrorEvidence(
            client=self.mirror_client,
            registry_version=registry_version,
            debug_url=debug_url,
            storage_location=storage,
            access_log=access_log,
            prometheus_path=prometheus_path,
        )
        self.access_log_url = access_log_url
        budget = max_pulls if max_pulls is not None else PULLS_PER_NODE * len(nodes)
        self._probe = ProbePulls(image, self.evidence, self.mirror_url, PullBudget(budget))
        self._mirror_problem: str | None = None
        self._mirror_checked = False

    @classmethod
    def from_settings(cls, settings: Settings) -> LiveDeployment:
        """The deployment the live options describe; nodes are reached (in parallel) here."""
        if os.environ.get("PYTEST_XDIST_WORKER"):
            # Each worker would spend its own --max-pulls, and pulls in parallel move the
            # mirror's counters for each other: the evidence would prove nothing.
            raise LiveTargetError(
                "live mode runs in one process: the pull budget and the mirror's counters are "
                "shared by every check. Fix: drop -n (pytest-xdist) for a live run"
            )
        url = settings.mirror_url or ""
        _, fqdn, url_port = parse_mirror_url(url)
        address, port = fqdn, url_port
        given_address = settings.mirror_address
        if given_address:
            address, port = parse_address(str(given_address), url_port)
        ca_file = settings.ca_file
        if ca_file and not os.path.isfile(ca_file):
            raise LiveTargetError(
                f"--ca-file {ca_file}: no such file. Fix: give the PEM file of the CA that "
                "issued the mirror's certificate (or leave it out to use the system store)"
            )
        storage = None
        if settings.mirror_storage:
            try:
                storage = MirrorStorage.from_url(
                    settings.mirror_storage, settings.insecure_skip_host_key_check
                )
            except StorageError as error:
                raise LiveTargetError(str(error)) from None
        access_log = None
        if settings.mirror_access_log:
            try:
                access_log = access_log_from_url(
                    settings.mirror_access_log, settings.insecure_skip_host_key_check
                )
            except AccessLogError as error:
                raise LiveTargetError(str(error)) from None
        max_pulls = settings.max_pulls
        # The counters' path is the deployed config's, when that file is named (--registry-config)
        prometheus_path = DEFAULT_PROMETHEUS_PATH
        if settings.file_to_check("registry-config"):
            prometheus_path = prometheus_path_of(settings.registry_config_text())
        return cls(
            MirrorEndpoint(url, fqdn, address, port, ca_file, url_port),
            connect_nodes(settings.live_nodes, settings.insecure_skip_host_key_check),
            registry_version=settings.registry_version or "",
            debug_url=settings.mirror_debug_url,
            storage=storage,
            probe_image=settings.probe_image,
            max_pulls=int(max_pulls) if max_pulls is not None else None,  # type: ignore[arg-type]
            host_keys_verified=not settings.insecure_skip_host_key_check,
            access_log=access_log,
            access_log_url=settings.mirror_access_log,
            prometheus_path=prometheus_path,
        )

    # -- the mirror ---------------------------------------------------------------

    def evidence(self) -> MirrorEvidence:
        """What the mirror shows: counters (--mirror-debug-url), catalog, storage."""
        return self._evidence

    def probe_pulls(self) -> ProbePulls:
        """The pulls of --probe-image, within --max-pulls."""
        return self._probe

    def mirror_session(self) -> requests.Session:
        """A session that reaches the mirror by name (at --mirror-address), trusting --ca-file."""
        return make_session(ca_file=self.endpoint.ca_file, resolve=self.endpoint.resolve)

    def mirror_client(self) -> RegistryClient:
        session = self.mirror_session()
        return RegistryClient(self.mirror_url, session=session, timeout=MIRROR_TIMEOUT)

    def mirror_problem(self) -> str | None:
        """Why the mirror cannot be used from here (asked once), or None when /v2/ answers."""
        if self._mirror_checked:
            return self._mirror_problem
        self._mirror_checked = True
        where = f"{self.mirror_url} (at {self.endpoint.address}:{self.endpoint.port})"
        try:
            response = self.mirror_client().ping()
        except requests.exceptions.SSLError as error:
            trust = self.endpoint.ca_file or "the system store"
            self._mirror_problem = (
                f"{where}: TLS verification failed against {trust}: {error}. Fix: serve a "
                "certificate for the mirror's name from a CA the nodes trust, or pass the CA "
                "that issued it with --ca-file"
            )
        except requests.RequestException as error:
            self._mirror_problem = (
                f"{where}: no answer ({type(error).__name__}: {error}). Fix: check the URL, DNS "
                "(or --mirror-address HOST:PORT) and that the proxy listens there"
            )
        else:
            if response.status_code not in (200, 401):
                self._mirror_problem = (
                    f"{where}: GET /v2/ answered HTTP {response.status_code}, not a registry's "
                    "200 or 401. Fix: point the proxy's route at the registry"
                )
        return self._mirror_problem

    def hub_image_problem(self) -> str | None:
        """None: live, the mirror is not asked for an image of Docker Hub's outside the pulls.

        A GET of a manifest the mirror has not cached makes a pull-through
        cache fetch it from Docker Hub, a pull counted against the rate limit
        and outside ``--max-pulls``; the probe pulls judge the route instead.
        """
        return None

    # -- reports ------------------------------------------------------------------

    def describe(self) -> dict[str, object]:
        """What is under test, for reports; includes the pulls made and what they cost."""
        return {
            "mode": "live",
            "mirror_url": self.mirror_url,
            "fqdn": self.fqdn,
            "mirror_address": f"{self.endpoint.address}:{self.endpoint.port}",
            "ca_file": self.endpoint.ca_file or "system store",
            "registry_version": self.registry_version,
            "mirror_debug_url": self.mirror_debug_url,
            "mirror_storage": self.storage.url if self.storage else None,
            "mirror_access_log": self.access_log_url,
            "ssh_host_keys": (
                "verified"
                if self.host_keys_verified
                else "NOT verified (--insecure-skip-host-key-check)"
            ),
            "nodes": [
                {"name": n.name, "startup_error": n.startup_error} if n.startup_error else n.name
                for n in self.nodes
            ],
            **self._probe.describe(),
        }

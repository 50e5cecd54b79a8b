"""The swarm topology's edge: Traefik v3 as the mirror's TLS proxy, Pebble as Let's Encrypt.

Pebble runs as a plain container on the lab network; Traefik runs as a swarm
service on the manager (the guide's Traefik recipe, ``traefik_stack``), reads
the user's stack's service labels through the manager's Docker socket, and
gets the mirror's certificate from Pebble over TLS-ALPN-01. The ACME server
URL is the one thing the lab changes (``describe()`` says so).

Order (FINDINGS "ACME: Pebble as Let's Encrypt": an ACME client that found
Pebble down backs off for a minute)::

    edge = TraefikEdge(context, images, "mirror.test", network="traefik_public")
    edge.start_acme()                              # Pebble's /dir answers
    swarm.load_images(nodes, {**edge.images_for_nodes, ...})
    edge.deploy(manager, "172.18.0.5")             # the Traefik stack; Traefik's task runs
    ...                                            # the user's stack deployed
    edge.wait_certificate()                        # https://mirror.test/v2/ with Pebble's cert
    edge.issuing_root()                            # the PEM nodes trust for the mirror
    edge.session().get(f"{edge.url}/v2/")
    edge.traffic(edge.mark())                      # Traefik's access log, as Traffic
    edge.restart()                                 # a new Traefik task; the same acme.json
"""

from __future__ import annotations

import re
import time

import requests

from mirrorcheck.probes.access_log import Traffic
from mirrorcheck.probes.acme_certificate import ServedCertificate, served_certificate
from mirrorcheck.probes.http import make_session
from mirrorcheck.probes.traefik_access_log import parse_traefik_log
from mirrorcheck.rules.traefik.acme import storage_paths
from mirrorcheck.targets.endpoint import DEFAULT_PORTS, MirrorEndpoint
from mirrorcheck.targets.lab.edge.pebble import Pebble
from mirrorcheck.targets.lab.edge.traefik_stack import (
    ACME_CA_HOST_PATH,
    ACME_STORAGE,
    ACME_VOLUME,
    LAB_CHANGES,
    LAB_REFRESH_SECONDS,
    RESOLVER,
    SERVICE,
    STACK,
    TraefikStackSpec,
    acme_settings,
    lab_traefik_stack,
)
from mirrorcheck.targets.lab.edge.user_traefik import (
    read_user_traefik,
    refresh_seconds,
    user_image,
    user_service,
    user_stack,
    user_static_config,
)
from mirrorcheck.targets.lab.lifecycle import LabContext
from mirrorcheck.targets.lab.swarm.cluster import Swarm, put_file
from mirrorcheck.targets.lab.swarm.json_logs import read_service_log
from mirrorcheck.targets.lab.timeline import Timeline
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.waiting import wait_until

TRAEFIK_IMAGE = "traefik:v3.7"  # the name the Traefik stack runs, as the guide's would
STACK_PATH = "/srv/mirrorcheck-edge/traefik-stack.yml"
STATIC_HOST_PATH = "/srv/mirrorcheck-edge/traefik.yml"  # a user's static config, on the manager
CERTIFICATE_TIMEOUT = 60.0
TASK_TIMEOUT = 45.0
ROOT_FILE = "acme-issuing-root.pem"
# Traefik at INFO logs "Traefik version 3.7.15 built on 2025-..." when it starts;
# `traefik version` prints "Version:      3.7.15".
TRAEFIK_VERSION_LINE = re.compile(r"Traefik version (\S+) built on")
VERSION_ANSWER = re.compile(r"^Version:\s+(\S+)", re.MULTILINE)


class TraefikEdge:
    """Pebble + the lab's Traefik stack for one mirror FQDN; see the module docstring.

    ``acme_validity_seconds`` sets Pebble's certificate validity (None: its
    default, years); ``certificates_duration`` is Traefik's resolver option
    (hours) that sets its renewal schedule. ``acme_storage_on_volume`` False
    keeps acme.json in the task's own filesystem (a broken deployment).
    """

    def __init__(
        self,
        context: LabContext,
        images: dict[str, str],
        fqdn: str,
        *,
        network: str,
        user_traefik: str | None = None,
        acme_validity_seconds: int | None = None,
        certificates_duration: int | None = None,
        acme_storage_on_volume: bool = True,
    ) -> None:
        self.context = context
        self.fqdn = fqdn
        self.network = network
        self.user_traefik = user_traefik
        self.user_stack, self.user_static = read_user_traefik(user_traefik)
        self.substitutions: list[str] = []  # what the lab changed in the user's Traefik
        self.pebble = Pebble(context, images["pebble"], acme_validity_seconds)
        image = user_image(self.user_stack, user_traefik or "") if self.user_stack else None
        self.images_for_nodes = {image or TRAEFIK_IMAGE: images["traefik"]}
        self.certificates_duration = certificates_duration
        self.acme_storage_on_volume = acme_storage_on_volume
        self.swarm: Swarm | None = None
        self.manager_address = ""
        self._version = ""  # as Traefik prints it (``traefik_version``)
        self._deployed = False
        self.root_file = self.pebble.api_ca_file.with_name(ROOT_FILE)
        self.timings: dict[str, float] = {}  # seconds: acme up, traefik running, certificate
        self.timeline = Timeline()  # the lab's, when it gives its own

    # -- lifecycle ------------------------------------------------------------

    def start_acme(self) -> None:
        """Start Pebble; its ACME directory answers when this returns (``WaitTimeout``: 30 s)."""
        with self.timeline.span("acme up"):
            self.pebble.start()
        self.timings["acme up"] = self.pebble.started_seconds or 0.0
        # The root alone: Traefik must serve the intermediate itself, as Let's Encrypt's
        # chain is served in production (lego bundles it).
        self.root_file.write_bytes(self.pebble.issuing_root())

    @property
    def service_name(self) -> str:
        """Traefik's swarm service: ``traefik_<the service in the Traefik stack>``."""
        if self.user_stack is not None:
            return f"{STACK}_{user_service(self.user_stack, self.user_traefik or '')}"
        return f"{STACK}_{SERVICE}"

    def _spec(self) -> TraefikStackSpec:
        assert self.pebble.container is not None
        return TraefikStackSpec(
            image=TRAEFIK_IMAGE,
            network=self.network,
            ca_server=self.pebble.directory_url,
            acme_address=self.pebble.address,
            acme_storage_on_volume=self.acme_storage_on_volume,
            certificates_duration=self.certificates_duration,
            static_config_host_path=STATIC_HOST_PATH if self.user_static else None,
        )

    def stack_text(self) -> str:
        """The Traefik stack deployed on the manager: the user's, or the lab's recipe."""
        if self.user_stack is not None:
            prepared = user_stack(
                self.user_stack, self.user_traefik or "", acme_settings(self._spec())
            )
            self.substitutions = prepared.substitutions
            return prepared.text
        return lab_traefik_stack(self._spec())

    def deploy(self, manager: DockerExecNode, manager_address: str) -> None:
        """Deploy the Traefik stack on the swarm through ``manager``; wait for its task to run.

        The overlay network ``network`` must exist. Pebble is told to validate
        the mirror's name at ``manager_address`` (where Traefik publishes 80
        and 443). Raises SwarmError or WaitTimeout (45 s) with the task history.
        """
        started = time.monotonic()
        self.manager_address = manager_address
        self.pebble.resolve(self.fqdn, manager_address)
        self.swarm = Swarm(manager, {manager.name: manager_address})
        put_file(manager.container, ACME_CA_HOST_PATH, self.pebble.api_ca_pem)
        if self.user_static is not None:
            static = user_static_config(
                self.user_static, self.user_traefik or "", self.pebble.directory_url
            )
            put_file(manager.container, STATIC_HOST_PATH, static.encode())
            self.substitutions = [
                f"{self.user_traefik}: the ACME server of every resolver is the lab's Pebble "
                f"({self.pebble.directory_url}); the file runs in the lab's Traefik stack "
                "(the manager's Docker socket, ports 80 and 443 in host mode, acme volume at /acme)"
            ]
        self.redeploy()
        self.timings["traefik running"] = round(time.monotonic() - started, 2)
        self.timeline.add("traefik running", started)

    @property
    def traefik_version(self) -> str:
        """Traefik's version as the running Traefik says it ("" before deploy; read once).

        From the line Traefik logs at its start (``Traefik version 3.7.15 built
        on ...``); a Traefik that logs below INFO is asked (``traefik version``
        in a throwaway container on the manager).
        """
        if self._version or self.swarm is None:
            return self._version
        found = TRAEFIK_VERSION_LINE.search(self.log())
        if found is None:
            image = next(iter(self.images_for_nodes))
            answer = self.swarm.run("docker", "run", "--rm", image, "version", timeout=30)
            found = VERSION_ANSWER.search(answer)
        self._version = found.group(1) if found else ""
        return self._version

    def redeploy(self) -> None:
        """Deploy the Traefik stack as configured now (a changed stack replaces the task)."""
        assert self.swarm is not None
        before = (
            {task.id for task in self.swarm.tasks(self.service_name)} if self._deployed else set()
        )
        self.swarm.deploy(STACK, self.stack_text(), STACK_PATH)
        self.swarm.wait_running(self.service_name, before=before, timeout=TASK_TIMEOUT)
        self._deployed = True

    def wait_certificate(self, timeout: float = CERTIFICATE_TIMEOUT) -> ServedCertificate:
        """Wait until ``https://<fqdn>/v2/`` answers with a certificate Pebble issued.

        Until Traefik has its ACME certificate it serves its own default one,
        which the issuing root does not verify. Raises WaitTimeout after
        ``timeout`` seconds with the last certificate seen.
        """
        started = time.monotonic()
        session = self.session()

        def served() -> ServedCertificate | None:
            certificate = self.served_certificate()
            if not certificate.trusted:
                return None
            status = session.get(f"{self.url}/v2/", timeout=5).status_code
            return certificate if status in (200, 401) else None

        certificate = wait_until(
            served,
            timeout=timeout,
            interval=0.25,
            what=(
                f"{self.url}/v2/ at {self.manager_address} to answer with a certificate that "
                f"Pebble issued (Traefik's resolver {RESOLVER!r})"
            ),
        )
        self.timings["certificate"] = round(time.monotonic() - started, 2)
        self.timeline.add("certificate served", started)
        return certificate

    def restart(self, timeout: float = CERTIFICATE_TIMEOUT) -> ServedCertificate:
        """Replace Traefik's task (``docker service update --force``); wait until it serves again.

        Returns the certificate served afterwards (WaitTimeout as ``wait_certificate``).
        """
        assert self.swarm is not None
        started = time.monotonic()
        before = self.swarm.force_update(self.service_name)
        self.timings["restart: update sent"] = round(time.monotonic() - started, 2)
        self.swarm.wait_running(self.service_name, before=before, timeout=TASK_TIMEOUT)
        self.timings["restart: new task running"] = round(time.monotonic() - started, 2)
        certificate = self.wait_certificate(timeout)
        self.timings["restart: certificate served"] = round(time.monotonic() - started, 2)
        return certificate

    def close(self) -> None:
        """Remove local files (containers, the stack and its volume go with the lab's nodes)."""
        self.pebble.close()

    @property
    def refresh_seconds(self) -> float:
        """How often Traefik polls the swarm for services: a new route shows within this."""
        if self.user_traefik is None:
            return LAB_REFRESH_SECONDS
        return refresh_seconds(self.user_stack or self.user_static or "")

    # -- what clients see -----------------------------------------------------

    @property
    def url(self) -> str:
        """The mirror's URL as nodes name it: ``https://<fqdn>``."""
        return f"https://{self.fqdn}"

    def issuing_root(self) -> bytes:
        """The PEM nodes must trust for the mirror: Pebble's issuing root of this start."""
        return self.root_file.read_bytes()

    def served_certificate(self) -> ServedCertificate:
        """The certificate Traefik serves for the FQDN now, judged against the issuing root."""
        return served_certificate(
            self.manager_address, DEFAULT_PORTS["https"], self.fqdn, root_pem=self.issuing_root()
        )

    def session(self) -> requests.Session:
        """A session that reaches the mirror by name at the manager, trusting Pebble's root."""
        return make_session(
            ca_file=str(self.root_file),
            resolve={
                f"{self.fqdn}:443": f"{self.manager_address}:443",
                f"{self.fqdn}:80": f"{self.manager_address}:80",
            },
        )

    def endpoint(self) -> MirrorEndpoint:
        """The mirror as nodes reach it: its name at the manager, trusting Pebble's root."""
        return MirrorEndpoint(
            url=self.url,
            fqdn=self.fqdn,
            address=self.manager_address,
            port=DEFAULT_PORTS["https"],
            ca_file=str(self.root_file),
        )

    # -- the ACME CA's side (``acme_checks.AcmeEdge``) ------------------------

    @property
    def ca_name(self) -> str:
        """``Pebble 2.4.0+ds1-2+b4`` (Debian's package version)."""
        return f"Pebble {self.pebble.version()}".strip()

    @property
    def acme_storage(self) -> str:
        """Where Traefik keeps acme.json, in words."""
        manager = self.swarm.manager.name if self.swarm else "the manager"
        if self.user_stack is not None:
            paths = [p for found in storage_paths(self.user_stack).values() for p in found]
            return f"{', '.join(paths) or 'none'} (as the user's Traefik stack sets it)"
        if self.user_static is not None:
            return "as the user's static configuration sets it (storage of each ACME resolver)"
        if self.acme_storage_on_volume:
            return f"{ACME_STORAGE} on the volume {STACK}_{ACME_VOLUME} of {manager}"
        return "/tmp/acme.json in the task's own filesystem (lost at every restart)"

    def traefik_stack(self) -> tuple[str, str]:
        """The Traefik stack deployed, and its source as findings name it."""
        return self.stack_text(), self.user_traefik or "the lab's Traefik stack"

    def issued(self) -> list[str]:
        """Serial numbers (hex) of the certificates Pebble issued since it started."""
        return self.pebble.issued()

    def accounts(self) -> int:
        """ACME accounts Pebble registered since it started."""
        return self.pebble.accounts()

    # -- what Traefik saw -----------------------------------------------------

    def log(self) -> str:
        """Every Traefik task's output on the manager, oldest task first (one exec there).

        stdout and stderr of each in the order written, as ``container_log`` reads them:
        from their json-file log files (``json_logs``, about 0.07 s), or with
        ``docker logs`` when those are not complete (about 0.3 s).
        """
        assert self.swarm is not None
        read = read_service_log(self.swarm.manager, self.service_name)
        if read is not None:
            return read
        # docker ps lists the newest first; tac turns that round.
        script = (
            'for c in $(docker ps -a -q --no-trunc --filter "label=$0" | tac); '
            'do docker logs "$c" 2>&1; done'
        )
        label = f"com.docker.swarm.service.name={self.service_name}"
        return self.swarm.manager.run("sh", "-c", script, label, timeout=30).output

    def mark(self) -> int:
        """A point in Traefik's request history; pass it to :meth:`traffic`."""
        return len(parse_traefik_log(self.log()))

    def traffic(self, since: int = 0) -> Traffic:
        """The requests Traefik logged after ``since``."""
        return Traffic(parse_traefik_log(self.log())[since:])

    def lab_changes(self) -> list[str]:
        """What the lab changes in Traefik's configuration (the user's: the ACME server only)."""
        return list(LAB_CHANGES[:1] if self.user_traefik else LAB_CHANGES)

    def describe(self) -> dict[str, object]:
        """Traefik's version, the ACME issuer, the resolver and where acme.json lives."""
        version = self.traefik_version or "unknown"
        return {
            "tls_proxy": f"Traefik {version} (service {self.service_name})",
            "traefik_config": self.user_traefik or "the lab's: the guide's Traefik recipe",
            "acme_issuer": (
                f"{self.ca_name} (Let's Encrypt's test CA) at {self.pebble.directory_url}"
            ),
            "acme_substitution": self.lab_changes(),
            "certificate_resolver": (
                "the user's" if self.user_traefik else f"{RESOLVER} (TLS-ALPN-01)"
            ),
            "traefik_substitutions": list(self.substitutions),
            "acme_storage": self.acme_storage,
            "edge_timings": dict(self.timings),
        }

"""The upstream: the lab's stand-in for Docker Hub, answering as ``https://registry-1.docker.io``.

It carries Docker Hub's names (``certs.DOCKER_HUB_NAMES``) as network aliases
and serves HTTPS on 443 with a certificate of the lab's Docker Hub CA, which
the mirror and the nodes trust through their system store. So the user's
``proxy.remoteurl: https://registry-1.docker.io`` reaches it unchanged, and a
node whose mirror fails falls back to it and succeeds, as in production.

Its access log is the bill Docker Hub would send, told apart by client
address: the mirror's fetches, a node's own requests (a bypass), and the
lab's pushes.

Usage::

    upstream = Upstream(context, image="mirrorcheck/registry:abc", cert_files=hub_files)
    upstream.start()
    image = upstream.push_image("mirrorcheck/hello")
    mark = upstream.mark()
    ...                                   # pulls through the mirror
    upstream.traffic_from(mirror_addresses, mark).blob_gets()   # the mirror's fetches
    upstream.traffic_from({node_address}, mark).count()         # that node's bypass
    with upstream.down():                 # Docker Hub unreachable
        ...
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from docker.models.containers import Container

from mirrorcheck.probes.access_log import Traffic
from mirrorcheck.probes.http import make_session
from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.probes.synthetic_image import SyntheticImage, make_image
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.certs import DOCKER_HUB_NAMES, CertFiles
from mirrorcheck.targets.lab.containers import ContainerSpec
from mirrorcheck.targets.lab.lifecycle import (
    REGISTRY_CONFIG_PATH,
    LabContext,
    LoggedRole,
    wait_for_registry,
)
from mirrorcheck.waiting import WaitTimeout, wait_until

# A steady upstream keeps its container (and address) through an outage: its
# registry runs under a loop that holds while DOWN_FLAG exists.
DOWN_FLAG = "/run/upstream-down"
PID_FILE = "/run/upstream.pid"
STEADY_COMMAND = [
    "sh",
    "-c",
    f'while :; do if [ ! -e {DOWN_FLAG} ]; then /usr/bin/docker-registry serve "$0" & '
    f"echo $! > {PID_FILE}; wait $!; fi; sleep 0.1; done",
    REGISTRY_CONFIG_PATH,
]
# distribution writes a request's access line after its handler returns, so the line can
# reach the container's log after the client's pull has returned: on a quiet machine it never
# did (18 pulls polled every 20 ms), under CI load a node's blob GET once came later than the
# check read the log. Half a second of no growth is the bound that held under load.
QUIET_SECONDS = 0.5
QUIET_TIMEOUT = 30.0
# The lab's own request that ends a stretch of the log (``wait_logged``): its query string
# makes its line unique; it comes from the host's address, which no accounting counts.
BARRIER_QUERY = "mirrorcheck-barrier"
HUB_HOST = DOCKER_HUB_NAMES[0]


class Upstream(LoggedRole):
    """Docker Hub's stand-in: a registry under Docker Hub's names, HTTPS with ``cert_files``."""

    def __init__(
        self, context: LabContext, image: str, cert_files: CertFiles, steady: bool = False
    ) -> None:
        super().__init__(context)
        self.image = image
        self.cert_files = cert_files
        self.steady = steady
        self._placeholder: Container | None = None

    @property
    def url(self) -> str:
        """Docker Hub's registry URL, which the stand-in answers: ``https://registry-1.docker.io``."""
        return f"https://{HUB_HOST}"

    def start(self) -> None:
        """Start the registry with the upstream config and wait until it answers ``/v2/``."""
        spec = ContainerSpec(
            image=self.image,
            name=self.context.name("upstream"),
            role="upstream",
            aliases=list(DOCKER_HUB_NAMES),
            files={
                REGISTRY_CONFIG_PATH: registry_configs.upstream_config().encode(),
                registry_configs.UPSTREAM_CERT: self.cert_files.server_cert.read_bytes(),
                registry_configs.UPSTREAM_KEY: self.cert_files.server_key.read_bytes(),
            },
            volumes={self.context.volume("upstream-storage"): registry_configs.DEFAULT_ROOT},
            command=STEADY_COMMAND if self.steady else None,
        )
        self.container = self.context.start(spec)
        self.wait()

    def wait(self) -> None:
        """Wait for ``GET /v2/`` over HTTPS by name; ``WaitTimeout`` after 30 s, or at exit."""
        assert self.container is not None
        port = registry_configs.UPSTREAM_PORT
        wait_for_registry(
            self.context, self.container, port, "upstream", client=self.client(timeout=2)
        )

    def client(self, timeout: float = 30.0) -> RegistryClient:
        """The stand-in's Registry API by Docker Hub's name, at its address, verified."""
        port = registry_configs.UPSTREAM_PORT
        session = make_session(
            ca_file=str(self.cert_files.ca_cert),
            resolve={f"{HUB_HOST}:{port}": f"{self.address}:{port}"},
        )
        return RegistryClient(self.url, session=session, timeout=timeout)

    def push_image(self, name: str, tag: str = "v1", **kwargs) -> SyntheticImage:
        """Make a synthetic image (``make_image`` arguments, or ``image=``) and push it here."""
        image = kwargs.pop("image", None) or make_image(name, tag, **kwargs)
        self.client().push(image)
        return image

    def traffic_from(
        self, clients: set[str], since: int = 0, docker_engine: bool | None = None
    ) -> Traffic:
        """The requests after ``since`` from ``clients`` (addresses on the lab network).

        The mirror's addresses give its fetches (the lab's pushes aside); a
        node's address gives what that node asked Docker Hub itself: a bypass.
        ``docker_engine`` True keeps only what a Docker Engine sent, False only
        the rest (see ``Request.from_docker_engine``): on a swarm the mirror's
        task reaches Docker Hub from its node's address, so the user agent
        tells a node's bypass from the mirror's fetch.
        """
        found = Traffic(r for r in self.traffic(since).requests if r.client in clients)
        return found if docker_engine is None else found.by_agent(docker_engine)

    def wait_logged(self, timeout: float = QUIET_TIMEOUT) -> None:
        """Wait until the log holds every request answered before this call.

        The lab sends ``GET /v2/?mirrorcheck-barrier=<id>`` and waits until its
        line is in the log. distribution writes a request's line as its handler
        returns (``response completed``), so a request answered before the
        barrier was sent has its line written before the barrier's own: the
        barrier's connection, TLS handshake and handler take far longer than a
        finished handler takes to log. A refused barrier means the stand-in is
        down, and a stopped registry logs nothing more: it returns at once.
        Raises ``WaitTimeout`` (``timeout`` seconds) saying what it awaited.
        """
        if self._placeholder is not None:
            return  # down: the stopped registry logs nothing more
        barrier = uuid.uuid4().hex
        client = self.client(timeout=min(timeout, 5.0))
        try:
            client.session.get(
                client.url(f"/v2/?{BARRIER_QUERY}={barrier}"), timeout=client.timeout
            ).close()
        except requests.ConnectionError:
            return
        except requests.RequestException as error:
            raise WaitTimeout(
                f"the upstream did not answer the lab's barrier request: {error}"
            ) from None
        wait_until(
            lambda: barrier in self.log(),
            timeout=timeout,
            interval=0.05,
            what=f"the upstream's log to show the lab's barrier request {barrier}",
        )

    def wait_quiet(self, seconds: float = QUIET_SECONDS) -> None:
        """Wait until the log has not grown for ``seconds``; ``WaitTimeout`` after 30 s."""
        state = {"count": -1, "since": time.monotonic()}

        def quiet() -> bool:
            count = len(self.log())
            now = time.monotonic()
            if count != state["count"]:
                state.update(count=count, since=now)
            return now - state["since"] >= seconds

        wait_until(
            quiet,
            timeout=QUIET_TIMEOUT,
            interval=0.1,
            what=f"the upstream to go quiet for {seconds} s",
        )

    @contextmanager
    def down(self) -> Iterator[None]:
        """Docker Hub unreachable: the upstream stops, a placeholder refuses connections.

        A stopped container's alias makes lookups time out (10 s each); a
        placeholder under the same aliases refuses at once, like an outage does.
        On exit the upstream starts again and is waited for. A steady upstream
        stops its registry process instead and keeps its container and address
        (a swarm task has Docker Hub's names pinned to that address).
        """
        assert self.container is not None
        if self.steady:
            with self._steady_down():
                yield
            return
        self.container.stop(timeout=2)
        placeholder = ContainerSpec(
            image=self.image,
            name=self.context.name("upstream-down"),
            role="placeholder",
            aliases=list(DOCKER_HUB_NAMES),
            command=["sleep", "infinity"],
        )
        self._placeholder = self.context.start(placeholder)
        try:
            yield
        finally:
            self._placeholder.remove(force=True, v=True)
            self._placeholder = None
            self.container.start()
            self.wait()

    @contextmanager
    def _steady_down(self) -> Iterator[None]:
        assert self.container is not None
        container = self.container
        stop = f"touch {DOWN_FLAG}; kill $(cat {PID_FILE})"
        container.exec_run(["sh", "-c", stop])
        client = self.client(timeout=1)

        def refused() -> bool:
            try:
                client.ping()
            except Exception:  # connection refused: the outage has begun
                return True
            return False

        wait_until(refused, timeout=QUIET_TIMEOUT, what="the upstream to refuse connections")
        try:
            yield
        finally:
            container.exec_run(["rm", "-f", DOWN_FLAG])
            self.wait()

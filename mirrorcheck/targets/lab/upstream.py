"""The upstream: the lab's stand-in for Docker Hub, a plain-HTTP registry the mirror proxies.

Its access log is the bill Docker Hub would send: what the mirror asked for,
told apart from the lab's own pushes by client address.

Usage::

    upstream = Upstream(context, image="mirrorcheck/registry:abc")
    upstream.start()
    image = upstream.push_image("mirrorcheck/hello")
    mark = upstream.mark()
    ...                                   # pulls through the mirror
    upstream.traffic_from(mirror_addresses, mark).blob_gets()
    with upstream.down():                 # Docker Hub unreachable
        ...
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from docker.models.containers import Container

from mirrorcheck.probes.access_log import Traffic
from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.probes.synthetic_image import SyntheticImage, make_image
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.containers import ContainerSpec
from mirrorcheck.targets.lab.lifecycle import (
    REGISTRY_CONFIG_PATH,
    LabContext,
    LoggedRole,
    wait_for_registry,
)
from mirrorcheck.waiting import wait_until

QUIET_SECONDS = 0.5
QUIET_TIMEOUT = 30.0


class Upstream(LoggedRole):
    """Docker Hub's stand-in: a registry under the alias the mirror's remoteurl names."""

    def __init__(self, context: LabContext, image: str) -> None:
        super().__init__(context)
        self.image = image
        self._placeholder: Container | None = None

    def start(self) -> None:
        """Start the registry with the upstream config and wait until it answers ``/v2/``."""
        spec = ContainerSpec(
            image=self.image,
            name=self.context.name("upstream"),
            role="upstream",
            aliases=[registry_configs.UPSTREAM_ALIAS],
            files={REGISTRY_CONFIG_PATH: registry_configs.upstream_config().encode()},
            volumes={self.context.volume("upstream-storage"): registry_configs.DEFAULT_ROOT},
        )
        self.container = self.context.start(spec)
        self.wait()

    def wait(self) -> None:
        """Wait for ``GET /v2/``; ``WaitTimeout`` after 30 s, or at once if the container exits."""
        assert self.container is not None
        wait_for_registry(self.context, self.container, registry_configs.REGISTRY_PORT, "upstream")

    def client(self) -> RegistryClient:
        """The upstream's Registry API, reached directly (not through the mirror)."""
        return RegistryClient(f"http://{self.address}:{registry_configs.REGISTRY_PORT}")

    def push_image(self, name: str, tag: str = "v1", **kwargs) -> SyntheticImage:
        """Make a synthetic image (``make_image`` arguments, or ``image=``) and push it here."""
        image = kwargs.pop("image", None) or make_image(name, tag, **kwargs)
        self.client().push(image)
        return image

    def traffic_from(self, clients: set[str], since: int = 0) -> Traffic:
        """The requests after ``since`` from ``clients`` (addresses): the lab's pushes aside."""
        return Traffic(r for r in self.traffic(since).requests if r.client in clients)

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
        placeholder under the same alias refuses at once, like an outage does.
        On exit the upstream starts again and is waited for.
        """
        assert self.container is not None
        self.container.stop(timeout=2)
        placeholder = ContainerSpec(
            image=self.image,
            name=self.context.name("upstream-down"),
            role="placeholder",
            aliases=[registry_configs.UPSTREAM_ALIAS],
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

"""The mirror: the user's registry config, run as written (a debug address aside).

Its ``proxy.remoteurl`` is the user's: Docker Hub's names lead to the lab's
stand-in, whose CA the container trusts in its system store
(``certs.SYSTEM_CA_BUNDLE``), as a real mirror trusts Docker Hub's.

It is (re)started the way a swarm restarts a service: the container is
recreated, its storage volume kept when the stack keeps it. Its start log
gives the distribution version; its debug server, the counters; its storage
folder, what it kept.

Usage::

    mirror = Mirror(context, image, registry_config_text, "examples/registry-config.yml",
                    hub_ca=hub_files.ca_cert.read_bytes())
    started = mirror.start()          # MirrorStart(up, log, version)
    if not started.up:
        print(started.log)            # the wait's reason, then the whole log
    mirror.debug_url                  # http://<address>:5001 (expvar)
    mirror.wait_stored(image)         # distribution 2.8 stores blobs after serving them
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import docker.errors

from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.probes.synthetic_image import SyntheticImage
from mirrorcheck.targets.evidence import MirrorEvidence
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.certs import SYSTEM_CA_BUNDLE
from mirrorcheck.targets.lab.containers import ContainerSpec
from mirrorcheck.targets.lab.lifecycle import (
    REGISTRY_3_CONFIG_PATH,
    REGISTRY_CONFIG_PATH,
    LabContext,
    LoggedRole,
    wait_for_registry,
)
from mirrorcheck.targets.mirror_storage import MirrorStorage
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.waiting import WaitTimeout, wait_until

MIRROR_ALIAS = "mirror"
# distribution prints its version at start, in text or JSON log format; not go.version.
VERSION_PATTERN = re.compile(r'"version":"([^"]+)"|(?<![.\w])version=(\S+)')
STORED_TIMEOUT = 30.0
# A registry on the lab network answers /v2/ in milliseconds; an exited container's address
# answers nothing, so each ping there lasts its whole timeout (2 s measured with 2 s).
PING_TIMEOUT = 0.5


@dataclass
class MirrorStart:
    """How a mirror start went: up, or exited with its log.

    ``timings``: the seconds each step took ("container": removed, created and
    started; "answer": until it answered or exited; on a swarm "task": until
    the new task answered or failed, "route": until Traefik routed to it).
    """

    up: bool
    log: str
    version: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def start_version(log: str) -> str:
    """The version distribution printed at start (``"2.8.3"``, ``"v3.0.0"``), or ``""``."""
    match = VERSION_PATTERN.search(log)
    return (match.group(1) or match.group(2)) if match else ""


class Mirror(LoggedRole):
    """The registry under test, as a container the lab can restart.

    ``addresses`` gathers every address it has had (the upstream tells its
    requests apart by them); ``changes`` lists what the lab changed in the
    config; ``version`` is the last version a start printed.
    """

    def __init__(
        self,
        context: LabContext,
        image: str,
        registry_config: str,
        source: str = "registry config",
        persistent_storage: bool = True,
        hub_ca: bytes = b"",
    ) -> None:
        super().__init__(context)
        self.image = image
        self.registry_config = registry_config
        self.source = source
        self.persistent_storage = persistent_storage
        self.hub_ca = hub_ca
        self.addresses: set[str] = set()
        self.changes: list[str] = []
        self.version = ""

    def _spec(self) -> ContainerSpec:
        text, self.changes = registry_configs.mirror_config(self.registry_config, self.source)
        root = registry_configs.storage_root(text)
        volumes = {}
        if root and self.persistent_storage:
            name = self.context.name("mirror-storage")
            if not self.context.client.volumes.list(filters={"name": name}):
                self.context.volume("mirror-storage")
            volumes[name] = root
        return ContainerSpec(
            image=self.image,
            name=self.context.name("mirror"),
            role="mirror",
            aliases=[MIRROR_ALIAS],
            # Both versions' config paths: a registry:3 image reads the second.
            files={
                REGISTRY_CONFIG_PATH: text.encode(),
                REGISTRY_3_CONFIG_PATH: text.encode(),
                SYSTEM_CA_BUNDLE: self.hub_ca,
            },
            volumes=volumes,
        )

    def start(self) -> MirrorStart:
        """(Re)create the mirror container, as a swarm does on restart; report how it went.

        Never raises for a mirror that does not come up: ``MirrorStart.up`` is
        False and ``log`` holds the wait's reason and the whole container log.
        """
        started = time.monotonic()
        spec = self._spec()
        with contextlib.suppress(docker.errors.NotFound):
            self.context.client.containers.get(spec.name).remove(force=True, v=False)
        self.container = self.context.start(spec)
        timings = {"container": round(time.monotonic() - started, 2)}
        started = time.monotonic()
        port = registry_configs.listen_port(spec.files[REGISTRY_CONFIG_PATH].decode())
        # A short ping: once the container has exited (a panic at start), a ping of its address
        # hangs until its timeout, and only then is the exit seen.
        address = self.context.address(self.container)
        client = RegistryClient(f"http://{address}:{port}", timeout=PING_TIMEOUT)
        try:
            wait_for_registry(self.context, self.container, port, "mirror", client=client)
        except WaitTimeout as error:
            timings["answer"] = round(time.monotonic() - started, 2)
            # The whole log: a Go panic prints its cause first, then a long stack.
            return MirrorStart(False, f"{error}\n--- full log ---\n{self.log()}", "", timings)
        timings["answer"] = round(time.monotonic() - started, 2)
        self.addresses.add(self.address)
        log = self.log()
        version = start_version(log)
        self.version = version or self.version
        return MirrorStart(True, log, version, timings)

    @property
    def debug_url(self) -> str:
        """The mirror's debug server (expvar counters), enabled by the lab."""
        return f"http://{self.address}:{registry_configs.DEBUG_PORT}"

    def storage_root(self) -> str | None:
        """The storage folder the user's config names; None for non-filesystem drivers."""
        return registry_configs.storage_root(self.registry_config)

    def evidence(self, client: Callable[[], RegistryClient]) -> MirrorEvidence:
        """Debug server, catalog (through ``client``) and storage in the current container."""
        root = self.storage_root()
        storage = None
        if root and self.container is not None:
            where = f"docker://{self.container.name}{root}"
            storage = MirrorStorage(where, root, DockerExecNode(self.container))
        return MirrorEvidence(
            client=client,
            registry_version=self.version,
            debug_url=self.debug_url if self.container is not None else None,
            storage_location=storage,
        )

    def wait_stored(self, image: SyntheticImage, layers: list[str] | None = None) -> bool:
        """Wait until the layers of ``image`` are files in the mirror's persistent storage.

        ``layers``: only these digests (those the mirror fetched; a node that
        bypassed the mirror stored nothing there); default every layer.
        distribution 2.8 copies a blob into storage in the background after the
        pull itself has finished. True once they are there or nothing is
        awaited; False at once when the storage is not a persistent filesystem
        (nothing to look at); ``WaitTimeout`` after 30 s.
        """
        root = self.storage_root()
        digests = image.layer_digests if layers is None else layers
        if not digests:
            return True
        if self.container is None or not root or not self.persistent_storage:
            return False
        paths = [f"{root}/docker/registry/v2/blobs/sha256/{d[7:9]}/{d[7:]}/data" for d in digests]
        every_file_there = ["sh", "-c", 'for p; do test -f "$p" || exit 1; done', "-"]
        container = self.container
        wait_until(
            lambda: container.exec_run([*every_file_there, *paths]).exit_code == 0,
            timeout=STORED_TIMEOUT,
            what=f"the mirror to store the {len(paths)} layers of {image.reference}",
        )
        return True

"""Starting one Docker-in-Docker node and waiting for its dockerd, or for its refusal.

A node is the lab's node image of its engine (Debian's docker.io, one image
per engine in ``mirrorcheck.versions.ENGINES``) with a daemon.json copied in
before start. Its image store is chosen on dockerd's command line
(``--feature containerd-snapshotter=true``), never in the file under test:
a daemon.json that sets ``features`` itself chooses, and gets no flag (dockerd
refuses a key given both as flag and in the file).

Its dockerd either answers ``docker info`` or exits, and with it the
container: the wait gives up at once then, keeping dockerd's last words, so a
broken daemon.json costs a second, not a timeout.

Usage::

    from mirrorcheck.targets.lab.nodes import NodeSpec, start_node

    node = start_node(client, image, NodeSpec("node-1", b'{"registry-mirrors": [...]}',
                                              engine="28.5", image_store="containerd"),
                      network=network, labels=labels, container_name="mc-1-node-1")
    if node.startup_error:          # dockerd refused the file: the container's log tail
        print(node.startup_error)
    node.effective_mirrors()
    node.container.remove(force=True, v=True)

``Lab.add_nodes`` starts its nodes this way; so does the engine oracle, which
starts one throwaway node per daemon.json to ask dockerd itself.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field

import docker
import docker.errors

from mirrorcheck.targets.lab.containers import ContainerSpec, exit_report, start_container
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.node_security import node_engine_options
from mirrorcheck.targets.nodes import engine_api
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH, NodeError
from mirrorcheck.versions import CONTAINERD, ENGINES, SNAPSHOTTER_FEATURE, store_for
from mirrorcheck.waiting import WaitTimeout, wait_until

# A node given this file runs sshd too (the image's entrypoint), for ssh:// live targets.
AUTHORIZED_KEYS_PATH = "/root/.ssh/authorized_keys"
NODE_READY_TIMEOUT = 30.0
# Waits in the node, in one command: until dockerd's socket exists (a shell test, every 50 ms),
# then until dockerd's /info answers with an ID: asked with curl on the socket (every 50 ms:
# 2-3 ms of CPU each), or, on an image without curl, with `docker info` (every 0.2 s: the
# CLI's start costs 70-90 ms of CPU, engine_api.py). 26.1's CLI exits 0 with an empty ID while
# dockerd is not up (measured here on 26.1.5), hence the grep.
READY_SCRIPT = (
    "until [ -S /var/run/docker.sock ]; do sleep 0.05; done; "
    "if command -v curl >/dev/null; then "
    "until curl -sf --unix-socket /var/run/docker.sock http://docker/info "
    '| grep -q \'"ID":"[^"]\'; do sleep 0.05; done; '
    "else "
    'until docker info --format "ID={{.ID}}" 2>&1 | grep -q "^ID=."; do sleep 0.2; done; '
    "fi"
)
EXITED_WAIT = 5.0  # seconds for the engine to report a container whose shell just ended
# The label of a node image that names its engine (set by recipes/node/Dockerfile).
ENGINE_LABEL = "org.mirrorcheck.engine"


@dataclass
class NodeSpec:
    """One node: its name, the daemon.json it runs, its engine and image store, its CA trust.

    ``dockerd_args`` are passed to dockerd (the image's entrypoint ends in
    ``exec dockerd "$@"``) after the image store's flag (:func:`store_flags`);
    every other setting comes from the file under test. ``engine`` is a key
    of ``mirrorcheck.versions.ENGINES`` (None: the engine of the image the
    node runs, as its ``ENGINE_LABEL`` says); ``image_store`` None means the
    engine's default there. ``image`` overrides the pool's image for this
    node (the image of its engine). ``files`` are copied into the node
    before it starts, path -> content (e.g. a containerd ``hosts.toml`` under
    ``/etc/docker/certs.d/docker.io/``); ``binds`` mount host folders in it
    (a swarm's shared storage); ``environment`` is dockerd's. ``authorized_key`` (an OpenSSH public
    key line) makes the node accept ssh logins as root with that key: it
    then stands for a machine reached over ssh.
    """

    name: str
    daemon_json: bytes
    trust_ca: bool = True
    dockerd_args: list[str] = field(default_factory=list)
    authorized_key: bytes | None = None
    engine: str | None = None
    image_store: str | None = None
    image: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    binds: dict[str, str] = field(default_factory=dict)  # host folder -> node path (shared disk)
    environment: dict[str, str] = field(default_factory=dict)  # dockerd's environment

    @property
    def store(self) -> str | None:
        """The image store this node is meant to run; None for an image of unknown engine."""
        if self.engine in ENGINES:
            return store_for(self.engine, self.image_store)
        return None

    def command(self) -> list[str]:
        """dockerd's arguments: the image store's flag, then ``dockerd_args``."""
        store = self.store
        flagged = self.engine in ENGINES and ENGINES[self.engine].store_flag
        flags = store_flags(self.daemon_json, store) if store and flagged else []
        return [*flags, *self.dockerd_args]

    def describe(self) -> str:
        """``Engine 28.5, containerd image store`` (or what is known of it)."""
        return f"Engine {self.engine or 'unknown'}, {self.store or 'its default'} image store"


def image_engine(client: docker.DockerClient, image: str) -> str | None:
    """The engine a node image was built for (its ``ENGINE_LABEL``); None when unlabelled."""
    try:
        labels = client.images.get(image).labels or {}
    except docker.errors.ImageNotFound:
        return None
    return labels.get(ENGINE_LABEL) or None


HOSTS_TOML_PATH = "/etc/docker/certs.d/docker.io/hosts.toml"


def hosts_toml(*hosts: str) -> bytes:
    """A containerd ``hosts.toml`` for docker.io: Docker Hub as server, ``hosts`` before it.

    On the containerd store any ``[host]`` section here makes dockerd ignore
    the daemon.json mirrors (``mirrorcheck.versions.HOSTS_TOML``).
    """
    sections = "".join(
        f'\n[host."{host}"]\n  capabilities = ["pull", "resolve"]\n' for host in hosts
    )
    return f'server = "https://registry-1.docker.io"\n{sections}'.encode()


def sets_key(daemon_json: bytes, key: str) -> bool:
    """Whether the file sets the top-level ``key`` (unreadable JSON: False)."""
    try:
        document = json.loads(daemon_json.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(document, dict) and key in document


def sets_features(daemon_json: bytes) -> bool:
    """Whether the file sets the top-level ``features`` key (unreadable JSON: False)."""
    return sets_key(daemon_json, "features")


def store_flags(daemon_json: bytes, store: str) -> list[str]:
    """The dockerd flags that make a node run ``store``, leaving the daemon.json untouched.

    The containerd store is ``--feature containerd-snapshotter=true``; the
    classic store is every engine's own default here (20.10, 26.1, 28.5), so
    it needs none. A file that sets ``features`` gets no flag: dockerd
    refuses a key given both ways ("specified both as a flag and in the
    configuration file: features", moby daemon/config/config_linux_test.go;
    measured here on 28.5.2), so the file's own choice stands. Only engines
    with ``store_flag`` take the flag (26.1.5: "unknown flag: --feature";
    ``mirrorcheck.versions.STORE_FLAG_SOURCE``).
    """
    if store != CONTAINERD or sets_features(daemon_json):
        return []
    return ["--feature", f"{SNAPSHOTTER_FEATURE.text}=true"]


def _wait_ready(node: DockerExecNode, timeout: float) -> str:
    """Wait until the node's dockerd answers ``docker info``; "" then, else why not.

    One command in the node does the polling (``READY_SCRIPT``); a container
    that exits ends it at once, and the reason is its log's tail (dockerd's
    refusal of the daemon.json).
    """
    what = f"{node.name}'s dockerd to answer `docker info`"
    lost = False
    try:
        result = node.run("sh", "-c", READY_SCRIPT, timeout=timeout)
    except NodeError as error:  # the container stopped, or is stopping
        last, lost = str(error), True
    else:
        if result.ok:
            return ""
        last = result.output.strip()[-300:] or f"exit code {result.exit_code}"
    exited = None if lost else exit_report(node.container)
    if lost:  # the engine may not report the stop yet
        with contextlib.suppress(WaitTimeout):
            exited = wait_until(
                lambda: exit_report(node.container),
                timeout=EXITED_WAIT,
                what=f"the engine to report {node.name}'s container stopped",
                interval=0.1,
            )
    if exited is None:
        return f"waited {timeout:g} s for {what}; last answer: {last!r}"
    return f"stopped waiting for {what}: {exited}"


def start_node(
    client: docker.DockerClient,
    image: str,
    spec: NodeSpec,
    *,
    network,
    labels: RunLabels,
    container_name: str,
    files: dict[str, bytes] | None = None,
    hosts: dict[str, str] | None = None,
    timeout: float = NODE_READY_TIMEOUT,
) -> DockerExecNode:
    """Start a node container with ``spec.daemon_json`` and wait for its dockerd.

    ``network`` is a testcontainers ``Network``; ``files`` are copied in
    besides the daemon.json and ``spec.files`` (e.g. the lab CA); ``hosts`` are pinned in its
    /etc/hosts. Docker Hub's names are not pinned: in a lab they resolve to its
    stand-in (network aliases), elsewhere nowhere. The node is returned either
    way; when dockerd did not answer, ``startup_error`` holds why (the
    container's log tail when it exited). The caller removes the container.
    """
    given = {DAEMON_JSON_PATH: spec.daemon_json, **(files or {}), **spec.files}
    if spec.authorized_key:
        given[AUTHORIZED_KEYS_PATH] = spec.authorized_key.rstrip(b"\n") + b"\n"
    container_spec = ContainerSpec(
        image=image,
        name=container_name,
        role="node",
        files=given,
        # overlay on overlay fails: a tmpfs gives dockerd overlay2 and a start in ~0.4 s.
        tmpfs={"/var/lib/docker": "", "/run": ""},
        volumes=dict(spec.binds),
        command=spec.command() or None,
        environment=dict(spec.environment),
        engine_options={
            "hostname": spec.name,
            "extra_hosts": dict(hosts or {}),
            **node_engine_options(client, image),
        },
    )
    container = start_container(container_spec, network, labels)
    node = DockerExecNode(container, name=spec.name)
    node.shares_clock = True  # the lab's engine is this host's: one kernel, one clock
    node.engine_socket = engine_api.SOCKET  # the lab's images have curl (recipes/node)
    node.startup_error = _wait_ready(node, timeout)
    return node

"""Starting one Docker-in-Docker node and waiting for its dockerd, or for its refusal.

A node is the lab's node image (Debian's docker.io) with a daemon.json copied
in before start. Its dockerd either answers ``docker info`` or exits, and
with it the container: the wait gives up at once then, keeping dockerd's last
words, so a broken daemon.json costs a second, not a timeout.

Usage::

    from mirrorcheck.targets.lab.nodes import NodeSpec, start_node

    node = start_node(client, image, NodeSpec("node-1", b'{"registry-mirrors": [...]}'),
                      network=network, labels=labels, container_name="mc-1-node-1")
    if node.startup_error:          # dockerd refused the file: the container's log tail
        print(node.startup_error)
    node.effective_mirrors()
    node.container.remove(force=True, v=True)

``Lab.add_nodes`` starts its nodes this way; so does the engine oracle, which
starts one throwaway node per daemon.json to ask dockerd itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import docker

from mirrorcheck.targets.lab.containers import ContainerSpec, exit_report, start_container
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.node_security import node_engine_options
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH
from mirrorcheck.waiting import WaitTimeout, wait_until

# Docker Hub's names, pinned to loopback in every node: a fallback fails at once.
DOCKER_HUB_NAMES = ("docker.io", "registry-1.docker.io", "index.docker.io", "auth.docker.io")
# A node given this file runs sshd too (the image's entrypoint), for ssh:// live targets.
AUTHORIZED_KEYS_PATH = "/root/.ssh/authorized_keys"
NODE_READY_TIMEOUT = 30.0


@dataclass
class NodeSpec:
    """One node: its name, the daemon.json it runs, and whether it trusts the lab CA.

    ``dockerd_args`` are passed to dockerd (the image's entrypoint ends in
    ``exec dockerd "$@"``); the lab gives none, so every setting comes from
    the file under test. ``authorized_key`` (an OpenSSH public key line) makes
    the node accept ssh logins as root with that key: it then stands for a
    machine reached over ssh.
    """

    name: str
    daemon_json: bytes
    trust_ca: bool = True
    dockerd_args: list[str] = field(default_factory=list)
    authorized_key: bytes | None = None


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
    besides the daemon.json (e.g. the lab CA); ``hosts`` are pinned in its
    /etc/hosts next to Docker Hub's names. The node is returned either
    way; when dockerd did not answer, ``startup_error`` holds why (the
    container's log tail when it exited). The caller removes the container.
    """
    given = {DAEMON_JSON_PATH: spec.daemon_json, **(files or {})}
    if spec.authorized_key:
        given[AUTHORIZED_KEYS_PATH] = spec.authorized_key.rstrip(b"\n") + b"\n"
    container_spec = ContainerSpec(
        image=image,
        name=container_name,
        role="node",
        files=given,
        # overlay on overlay fails: a tmpfs gives dockerd overlay2 and a start in ~0.4 s.
        tmpfs={"/var/lib/docker": "", "/run": ""},
        command=list(spec.dockerd_args) or None,
        engine_options={
            "hostname": spec.name,
            "extra_hosts": {**{name: "127.0.0.1" for name in DOCKER_HUB_NAMES}, **(hosts or {})},
            **node_engine_options(client, image),
        },
    )
    container = start_container(container_spec, network, labels)
    node = DockerExecNode(container, name=spec.name)
    try:
        wait_until(
            lambda: node.run("docker", "info", "--format", "{{.ID}}", timeout=5).ok,
            timeout=timeout,
            interval=0.05,
            what=f"{spec.name}'s dockerd to answer `docker info`",
            give_up=lambda: exit_report(container),
        )
    except WaitTimeout as error:
        node.startup_error = str(error)
    return node

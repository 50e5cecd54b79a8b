"""A node named by URL: ``local``, ``ssh://user@host[:port]`` or ``docker://<container>``.

Each URL becomes the node of its kind, connected and asked ``docker info``
once; a node that cannot be reached becomes an ``UnreachableNode`` whose
``startup_error`` says why and how to fix it, so one bad node never hides the
others.

Usage::

    from mirrorcheck.targets.nodes.connect import connect_nodes

    nodes = connect_nodes(["local", "ssh://admin@node1", "docker://dind-1"])
    [n.startup_error for n in nodes]        # "" for each node that answered
"""

from __future__ import annotations

import docker
import docker.errors

from mirrorcheck.at_once import at_once
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.targets.nodes.local import LOCAL, LocalNode
from mirrorcheck.targets.nodes.node import CommandResult, Node, NodeError
from mirrorcheck.targets.nodes.ssh import SshNode

NODE_CHECK_TIMEOUT = 15


class UnreachableNode(Node):
    """A node that could not be reached at all: every command fails with ``startup_error``."""

    def __init__(self, name: str, error: str) -> None:
        self.name = name
        self.startup_error = error

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        raise NodeError(self.startup_error)

    def read_file(self, path: str) -> bytes:
        raise NodeError(self.startup_error)

    def daemon_log(self, since: float | None = None) -> str:
        raise NodeError(self.startup_error)


def docker_container_node(container: str, name: str | None = None) -> Node:
    """``docker://<container>``: a DockerExecNode, or an UnreachableNode saying why not."""
    label = name or f"docker://{container}"
    try:
        client = docker.from_env(timeout=NODE_CHECK_TIMEOUT)
        found = client.containers.get(container)
    except docker.errors.NotFound:
        return UnreachableNode(
            label,
            f"{label}: no container named {container!r} on this host's Docker engine. Fix: "
            "give a running container's name (docker ps)",
        )
    except docker.errors.DockerException as error:
        return UnreachableNode(
            label,
            f"{label}: this host's Docker engine does not answer ({error}). Fix: start it, or "
            "set DOCKER_HOST",
        )
    if found.status != "running":
        return UnreachableNode(
            label, f"{label}: the container is {found.status}. Fix: docker start {container}"
        )
    return DockerExecNode(found, name=label)


def explain_engine_failure(name: str, output: str) -> str:
    """Why ``docker version`` failed on a node, with the fix."""
    text = output.strip()
    lower = text.lower()
    missing = ("not found", "no such file or directory")
    if "docker" in lower and any(word in lower for word in missing):
        return (
            f"{name}: no Docker on this node (`docker` is not installed: {text[-200:]}). Fix: "
            "check the node URL, or install Docker Engine there"
        )
    if "permission denied" in lower:
        return (
            f"{name}: the user may not use the Docker engine ({text[-200:]}). Fix: add the user "
            "to the docker group, or connect as root"
        )
    if "cannot connect to the docker daemon" in lower or "is the docker daemon running" in lower:
        return (
            f"{name}: dockerd is not running ({text[-200:]}). Fix: start it (systemctl start "
            "docker); if it refuses, check /etc/docker/daemon.json (mirrorcheck lint daemon-json)"
        )
    return f"{name}: the Docker engine did not answer `docker version`: {text[-300:]}"


def check_engine(node: Node) -> Node:
    """Ask the node's engine for its version; a failure becomes the node's ``startup_error``."""
    if node.startup_error:
        return node
    try:
        result = node.run(
            "docker", "version", "--format", "{{.Server.Version}}", timeout=NODE_CHECK_TIMEOUT
        )
    except NodeError as error:
        node.startup_error = str(error)
        return node
    if not result.ok or not result.output.strip():
        node.startup_error = explain_engine_failure(node.name, result.output)
    return node


def node_from_url(url: str, skip_host_key_check: bool = False) -> Node:
    """A node for ``local``, ``ssh://user@host[:port]`` or ``docker://<container>``.

    ``skip_host_key_check`` (``--insecure-skip-host-key-check``) reaches ssh nodes
    without verifying their host keys.
    """
    text = url.strip()
    if text == LOCAL:
        return LocalNode()
    if text.startswith("ssh://"):
        try:
            return SshNode(text, skip_host_key_check=skip_host_key_check)
        except ValueError as error:
            return UnreachableNode(text, f"{text}: {error}. Fix: --node ssh://user@host[:port]")
    if text.startswith("docker://"):
        container = text.removeprefix("docker://").strip("/")
        return docker_container_node(container, name=text)
    return UnreachableNode(
        text,
        f"--node {text!r}: not a node URL. Fix: local, ssh://user@host[:port] or "
        "docker://<container>",
    )


def connect_nodes(urls: list[str], skip_host_key_check: bool = False) -> list[Node]:
    """Every node, reached and asked for its engine in parallel; failures kept per node."""

    def connect(url: str) -> Node:
        try:
            return check_engine(node_from_url(url, skip_host_key_check))
        except Exception as error:  # one node's surprise must not hide the others
            return UnreachableNode(url, f"{url}: {type(error).__name__}: {error}")

    return at_once(connect, urls)

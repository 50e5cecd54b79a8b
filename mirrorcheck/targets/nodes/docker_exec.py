"""A node that is a container on a reachable Docker engine, driven by ``docker exec``.

The lab's Docker-in-Docker nodes are such containers, and so is a live
``docker://<container>`` target.

Usage::

    import docker
    from mirrorcheck.targets.nodes.docker_exec import DockerExecNode

    node = DockerExecNode(docker.from_env().containers.get("node-1"), name="node-1")
    print(node.effective_mirrors())
"""

from __future__ import annotations

import io
import tarfile

import docker.errors
from docker.models.containers import Container

from mirrorcheck.targets.nodes.node import CommandResult, Node, NodeError


class DockerExecNode(Node):
    """A Docker host living in a container; commands run with ``docker exec``."""

    def __init__(self, container: Container, name: str | None = None) -> None:
        self.container = container
        self.name = name or container.name

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        # The engine API has no exec timeout; the in-container `timeout` bounds it (`-k`, not
        # `--kill-after`: busybox's timeout, as in the official registry:2, knows only the former).
        command = ["timeout", "-k", "5", str(int(timeout)), *argv]
        try:
            exit_code, output = self.container.exec_run(command, demux=False)
        except docker.errors.APIError as error:
            raise NodeError(f"{self.name}: cannot run {argv[0]}: {error.explanation}") from None
        return CommandResult(exit_code, (output or b"").decode(errors="replace"))

    def read_file(self, path: str) -> bytes:
        try:
            stream, _ = self.container.get_archive(path)
        except docker.errors.NotFound:
            raise NodeError(f"{self.name}: {path} does not exist") from None
        except docker.errors.APIError as error:
            raise NodeError(f"{self.name}: cannot read {path}: {error.explanation}") from None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = archive.next()
            extracted = archive.extractfile(member) if member else None
            if extracted is None:
                raise NodeError(f"{self.name}: {path} is not a regular file")
            return extracted.read()

    def daemon_log(self, since: float | None = None) -> str:
        kwargs = {"since": since} if since else {}
        return self.container.logs(**kwargs).decode(errors="replace")

"""A node that is a container on a reachable Docker engine, driven by ``docker exec``.

The lab's Docker-in-Docker nodes are such containers, and so is a live
``docker://<container>`` target. Commands run through shells kept open in the
container (``exec_shell``: one exec for many commands, as many shells as
commands run at once); where no shell can be kept, each command gets its own
exec. Where the node's Engine API may be asked with curl (``engine_socket``,
set by the lab for its nodes), pulls, image removals, image inspections and
``docker info`` go there instead of through the docker CLI (``engine_api``:
the same requests, without the CLI's start).

Usage::

    import docker
    from mirrorcheck.targets.nodes.docker_exec import DockerExecNode

    node = DockerExecNode(docker.from_env().containers.get("node-1"), name="node-1")
    print(node.effective_mirrors())
"""

from __future__ import annotations

import io
import json
import tarfile
import threading

import docker.errors
from docker.models.containers import Container

from mirrorcheck.targets.nodes import engine_api
from mirrorcheck.targets.nodes.exec_shell import (
    ExecShell,
    ShellLost,
    ShellUnavailable,
    bounded_argv,
)
from mirrorcheck.targets.nodes.node import CommandResult, Node, NodeError


class DockerExecNode(Node):
    """A Docker host living in a container; commands run with ``docker exec``."""

    def __init__(self, container: Container, name: str | None = None) -> None:
        self.container = container
        self.name = name or container.name
        self._idle: list[ExecShell] = []
        self._lock = threading.Lock()
        self._no_shell = ""  # why no shell can be kept here: each command gets its own exec
        # Where curl may ask dockerd directly ("" : always the docker CLI); whether it can, once.
        self.engine_socket = ""
        self._has_curl: bool | None = None

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        # Either way the command runs under the container's own `timeout` (``bounded_argv``).
        shell = self._shell()
        if shell is None:
            return self._exec(argv, timeout)
        try:
            exit_code, output = shell.run(argv, timeout)
        except ShellLost as error:
            raise NodeError(f"{self.name}: lost the shell running {argv[0]}: {error}") from None
        with self._lock:
            self._idle.append(shell)
        return CommandResult(exit_code, output.decode(errors="replace"))

    def _shell(self) -> ExecShell | None:
        """An idle shell that still answers, or a new one; None where none can be kept."""
        with self._lock:
            while self._idle:
                shell = self._idle.pop()
                if shell.alive():
                    return shell
                shell.close()
            if self._no_shell:
                return None
        try:
            return ExecShell.open(self.container)
        except ShellUnavailable as error:
            if error.lasting:
                self._no_shell = str(error)
            return None

    def close(self) -> None:
        """Close the shells kept open (they exit); the container stays."""
        with self._lock:
            shells, self._idle = self._idle, []
        for shell in shells:
            shell.close()

    def _exec(self, argv: tuple[str, ...], timeout: float) -> CommandResult:
        try:
            exit_code, output = self.container.exec_run(bounded_argv(argv, timeout), demux=False)
        except docker.errors.APIError as error:
            raise NodeError(f"{self.name}: cannot run {argv[0]}: {error.explanation}") from None
        return CommandResult(exit_code, (output or b"").decode(errors="replace"))

    def _by_api(self) -> bool:
        """True where curl on ``engine_socket`` stands in for the docker CLI (asked once)."""
        if not self.engine_socket:
            return False
        if self._has_curl is None:
            self._has_curl = self.run("sh", "-c", "command -v curl", timeout=10).ok
        return self._has_curl

    def engine_request(
        self, method: str, path: str, timeout: float = 30.0
    ) -> engine_api.Answer | None:
        """One Engine API request (``path`` quoted, with its query) through curl on the node's
        socket; None where the node has no curl (ask with the docker CLI instead)."""
        if not self._by_api():
            return None
        argv = engine_api.request_argv(method, path, self.engine_socket)
        result = self.run(*argv, timeout=timeout)
        return engine_api.read_answer(result.exit_code, result.output)

    def _pulled(self, image: str, timeout: float) -> tuple[bool, str, str]:
        if not self._by_api():
            return super()._pulled(image, timeout)
        result = self.run(*engine_api.pull_argv(image, self.engine_socket), timeout=timeout)
        pulled = engine_api.read_pull(result.exit_code, result.output)
        return pulled.ok, pulled.output, pulled.digest

    def remove_image(self, *images: str) -> None:
        if not self._by_api():
            super().remove_image(*images)
            return
        self.run(*engine_api.remove_argv(images, self.engine_socket), timeout=60)

    def has_image(self, image: str) -> bool:
        answer = self.engine_request("GET", engine_api.image_path(image) + "/json")
        return super().has_image(image) if answer is None else answer.ok

    def docker_info(self) -> dict:
        answer = self.engine_request("GET", "/info")
        if answer is None:
            return super().docker_info()
        if not answer.ok:
            message = answer.daemon_message()[:300]
            raise NodeError(f"{self.name}: docker info failed: {message}")
        return json.loads(answer.body)

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

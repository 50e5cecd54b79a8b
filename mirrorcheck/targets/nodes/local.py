"""This host as a node: its ``docker`` CLI, its /etc/docker/daemon.json, its dockerd log.

Usage::

    from mirrorcheck.targets.nodes.local import LocalNode

    node = LocalNode()                      # name "local"
    node.effective_mirrors()
    node.read_file("/etc/docker/daemon.json")
    node.daemon_log(since=time.time() - 60) # journalctl -u docker.service, else /var/log/docker.log
"""

from __future__ import annotations

import subprocess

from mirrorcheck.probes.daemon_log import DaemonLogReader, DaemonLogUnavailable
from mirrorcheck.targets.nodes.node import CommandResult, Node, NodeError

LOCAL = "local"


class LocalNode(Node):
    """The machine the suites run on, driven with subprocesses."""

    shares_clock = True

    def __init__(self, name: str = LOCAL) -> None:
        self.name = name
        self._log = DaemonLogReader(self.run, where=name)

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        try:
            done = subprocess.run(
                list(argv), capture_output=True, text=True, errors="replace", timeout=timeout
            )
        except FileNotFoundError:
            return CommandResult(127, f"{argv[0]}: command not found")
        except subprocess.TimeoutExpired:
            return CommandResult(124, f"{argv[0]} did not finish within {timeout:g} s")
        return CommandResult(done.returncode, done.stdout + done.stderr)

    def read_file(self, path: str) -> bytes:
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError as error:
            raise NodeError(f"{self.name}: cannot read {path}: {error.strerror}") from None

    def daemon_log(self, since: float | None = None) -> str:
        try:
            return self._log.read(since)
        except DaemonLogUnavailable as error:
            raise NodeError(str(error)) from None

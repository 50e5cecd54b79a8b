"""A node reached over ssh: its files, its daemon log and its Docker engine, by commands.

The connection is pytest-testinfra's paramiko backend: keys come from the ssh
agent and the default key files (``~/.ssh/id_*``), ``~/.ssh/config`` is
honoured, and ``MIRRORCHECK_SSH_IDENTITY`` names one more private key file.
The Docker engine is the node's own ``docker`` CLI, so the node needs no open
Docker port; the user needs the docker group (or root), and the systemd-journal
group to read dockerd's journal. Every command is bounded by the node's
``timeout``; connecting is bounded by ``connect_timeout``.

Usage::

    from mirrorcheck.targets.nodes.ssh import SshNode

    node = SshNode("ssh://admin@node1:2222")
    node.run("docker", "info", "--format", "{{.ServerVersion}}").output
    node.read_file("/etc/docker/daemon.json")
    node.daemon_log(since=1732822800.0)
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import paramiko
import testinfra

from mirrorcheck.probes.daemon_log import DaemonLogReader, DaemonLogUnavailable
from mirrorcheck.targets.nodes.node import CommandResult, Node, NodeError

IDENTITY_ENV = "MIRRORCHECK_SSH_IDENTITY"
CONNECT_TIMEOUT = 5
SSH_PORT = 22


def parse_ssh_url(url: str) -> tuple[str, str, int]:
    """``ssh://user@host[:port]`` -> (user, host, port); ValueError naming what is missing."""
    parts = urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname:
        raise ValueError(f"{url!r} is not ssh://user@host[:port]")
    if not parts.username:
        raise ValueError(f"{url!r} names no user: write ssh://user@{parts.hostname}")
    if parts.password:
        raise ValueError(f"{url!r} carries a password: use a key (ssh-agent or {IDENTITY_ENV})")
    return parts.username, parts.hostname, parts.port or SSH_PORT


def explain_ssh_error(url: str, error: BaseException) -> str:
    """One sentence on why the ssh connection failed, with the fix."""
    user, host, port = parse_ssh_url(url)
    if isinstance(error, paramiko.AuthenticationException):
        return (
            f"{url}: ssh refused the login of {user!r} ({error}). Fix: authorise a key for "
            f"{user} on {host} and load it into ssh-agent, or set {IDENTITY_ENV}=<private key file>"
        )
    if isinstance(error, paramiko.BadHostKeyException):
        return (
            f"{url}: {host}'s host key is not the one known for it ({error}). Fix: check that "
            "this is the right machine, then update ~/.ssh/known_hosts"
        )
    if isinstance(error, socket.gaierror):
        return f"{url}: {host} does not resolve ({error}). Fix: correct the host name"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return (
            f"{url}: no answer from {host}:{port} within {CONNECT_TIMEOUT} s (host down or port "
            "filtered). Fix: check the address and that sshd runs and is reachable from here"
        )
    if isinstance(error, (paramiko.ssh_exception.NoValidConnectionsError, ConnectionError)):
        return (
            f"{url}: nothing accepts ssh connections at {host}:{port} ({error}). Fix: start "
            "sshd on the node, or give the right port (ssh://user@host:PORT)"
        )
    return f"{url}: ssh failed: {type(error).__name__}: {error}"


class SshNode(Node):
    """A Docker host reached over ssh (testinfra's paramiko backend)."""

    def __init__(
        self,
        url: str,
        identity_file: str | None = None,
        connect_timeout: int = CONNECT_TIMEOUT,
    ) -> None:
        user, host, port = parse_ssh_url(url)
        self.name = url
        identity = identity_file or os.environ.get(IDENTITY_ENV) or None
        kwargs: dict[str, object] = {"timeout": connect_timeout}
        if identity:
            kwargs["ssh_identity_file"] = os.path.expanduser(identity)
        self.host = testinfra.get_host(f"paramiko://{user}@{host}:{port}", **kwargs)
        self._log = DaemonLogReader(self.run, where=url)

    def _exec(self, argv: tuple[str, ...]):
        command = " ".join(["%s"] * len(argv))
        try:
            return self.host.run(command, *argv)
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise NodeError(explain_ssh_error(self.name, error)) from None

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        # The ssh channel has no timeout of its own: the node's `timeout` bounds it.
        result = self._exec(("timeout", "--kill-after=5", str(int(timeout)), *argv))
        return CommandResult(result.rc, result.stdout + result.stderr)

    def read_file(self, path: str) -> bytes:
        result = self._exec(("cat", "--", path))
        if result.rc != 0:
            raise NodeError(f"{self.name}: cannot read {path}: {result.stderr.strip()[:300]}")
        return result.stdout_bytes

    def daemon_log(self, since: float | None = None) -> str:
        try:
            return self._log.read(since)
        except DaemonLogUnavailable as error:
            raise NodeError(str(error)) from None

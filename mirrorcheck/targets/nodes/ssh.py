"""A node reached over ssh: its files, its daemon log and its Docker engine, by commands.

The connection is a ``paramiko.SSHClient`` set up as OpenSSH would be for the
same URL (``mirrorcheck.targets.nodes.ssh_config``): ``~/.ssh/config`` host
aliases (HostName, Port, User, IdentityFile, ProxyCommand) are honoured, keys
come from ``MIRRORCHECK_SSH_IDENTITY`` (one more private key file), the config's
IdentityFile, the ssh agent and the default key files (``~/.ssh/id_*``).

The server's host key is verified against the known-hosts files as OpenSSH
does (``mirrorcheck.targets.nodes.host_keys``): an unknown or changed key stops
the node with one message naming the host, the key's SHA256 fingerprint and the
fix. ``skip_host_key_check`` (``--insecure-skip-host-key-check``) takes every
key, reading and writing no known-hosts file.

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
import shlex
import socket
import threading
from collections.abc import Sequence
from functools import partial
from urllib.parse import urlsplit

import paramiko

from mirrorcheck.probes.daemon_log import DaemonLogReader, DaemonLogUnavailable
from mirrorcheck.targets.nodes.host_keys import (
    AcceptAnyKey,
    HostKeyPolicy,
    HostKeyRefused,
    KnownHosts,
)
from mirrorcheck.targets.nodes.node import CommandResult, Node, NodeError
from mirrorcheck.targets.nodes.ssh_config import (
    CONFIG_FILES,
    IDENTITY_ENV,
    SshConfigError,
    SshTarget,
    resolve_target,
)

CONNECT_TIMEOUT = 5
SSH_PORT = 22
# Beyond the command's own `timeout`: the ssh channel gives up only if the node goes silent.
CHANNEL_GRACE = 30
RSA_SIGNATURES = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


def parse_ssh_url(url: str) -> tuple[str, str, int]:
    """``ssh://user@host[:port]`` -> (user, host, port); ValueError naming what is missing.

    The URL alone; ``SshNode`` also takes the user and port from ssh_config.
    """
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
    parts = urlsplit(url)
    user, host, port = parts.username or "", parts.hostname or url, parts.port or SSH_PORT
    if isinstance(error, HostKeyRefused):
        return str(error)
    if isinstance(error, paramiko.AuthenticationException):
        return (
            f"{url}: ssh refused the login of {user!r} ({error}). Fix: authorise a key for "
            f"{user} on {host} and load it into ssh-agent, or set {IDENTITY_ENV}=<private key file>"
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


def _transport(sock, preferred: Sequence[str], disabled_algorithms=None) -> paramiko.Transport:
    """A transport asking first for the key types known_hosts holds, as OpenSSH orders them."""
    transport = paramiko.Transport(sock, disabled_algorithms=disabled_algorithms)
    options = transport.get_security_options()
    first: list[str] = []
    for name in preferred:
        first += [t for t in (RSA_SIGNATURES if name == "ssh-rsa" else (name,)) if t not in first]
    offered = list(options.key_types)
    first = [t for t in first if t in offered]
    options.key_types = tuple(first + [t for t in offered if t not in first])
    return transport


class SshNode(Node):
    """A Docker host reached over ssh (paramiko, host keys verified unless told otherwise).

    ``url`` is ``ssh://[user@]host[:port]`` (user and port may come from
    ssh_config); ``identity_file`` is a private key file tried first (default:
    ``$MIRRORCHECK_SSH_IDENTITY``); ``connect_timeout`` bounds connecting, in
    seconds; ``skip_host_key_check`` takes any host key; ``config_paths`` are
    the ssh_config files read. The connection is made at the first command. A
    URL that names no user raises ValueError; an unusable ssh config becomes
    ``startup_error``; every failure to connect is a NodeError naming the fix.
    """

    def __init__(
        self,
        url: str,
        identity_file: str | None = None,
        connect_timeout: int = CONNECT_TIMEOUT,
        skip_host_key_check: bool = False,
        config_paths: Sequence[str] = CONFIG_FILES,
    ) -> None:
        self.name = url
        self.target: SshTarget | None = None
        try:
            self.target = resolve_target(url, config_paths)
        except SshConfigError as error:
            self.startup_error = f"{url}: {error}"
        self.identity = identity_file or os.environ.get(IDENTITY_ENV) or None
        self.connect_timeout = connect_timeout
        self.skip_host_key_check = skip_host_key_check
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()
        self._log = DaemonLogReader(self.run, where=url)

    def _key_files(self, target: SshTarget) -> list[str]:
        files = [f for f in target.identity_files if os.path.isfile(f)]
        if self.identity:
            given = os.path.expanduser(self.identity)
            if not os.path.isfile(given):
                raise NodeError(
                    f"{self.name}: {IDENTITY_ENV}={given}: no such file. Fix: name the private "
                    "key file that logs in to the node"
                )
            files.insert(0, given)
        return files

    def _connect(self) -> paramiko.SSHClient:
        target = self.target
        assert target is not None
        client = paramiko.SSHClient()  # holds no keys: every server key goes to the policy
        preferred: list[str] = []
        if self.skip_host_key_check:
            client.set_missing_host_key_policy(AcceptAnyKey())
        else:
            known = KnownHosts.load(target.user_known_hosts, target.global_known_hosts)
            name = target.known_hosts_name
            policy = HostKeyPolicy(known, target.strict, self.name, name, target.hash_known_hosts)
            client.set_missing_host_key_policy(policy)
            preferred = known.known_types(name)
        sock = paramiko.ProxyCommand(target.proxy_command) if target.proxy_command else None
        try:
            client.connect(
                target.hostname,
                port=target.port,
                username=target.user,
                key_filename=self._key_files(target) or None,
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
                sock=sock,
                transport_factory=partial(_transport, preferred=preferred),
            )
        except BaseException:
            client.close()
            raise
        return client

    def _connected(self, fresh: bool = False) -> paramiko.SSHClient:
        """The open connection (made now if needed); NodeError saying why it cannot be made."""
        try:
            with self._lock:
                if fresh and self._client is not None:
                    self._client.close()
                    self._client = None
                if self._client is None:
                    self._client = self._connect()
                return self._client
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise NodeError(explain_ssh_error(self.name, error)) from None

    def _exec_once(self, client: paramiko.SSHClient, command: str, timeout: float):
        transport = client.get_transport()
        if transport is None or not transport.is_active():
            raise paramiko.SSHException("the ssh connection is closed")
        channel = transport.open_session()
        try:
            channel.settimeout(timeout + CHANNEL_GRACE)
            channel.exec_command(command)
            stdout = b"".join(channel.makefile("rb"))
            stderr = b"".join(channel.makefile_stderr("rb"))
            return channel.recv_exit_status(), stdout, stderr
        finally:
            channel.close()

    def _exec(self, argv: tuple[str, ...], timeout: float = 120.0) -> tuple[int, bytes, bytes]:
        if self.startup_error:
            raise NodeError(self.startup_error)
        command = " ".join(shlex.quote(a) for a in argv)
        client = self._connected()
        try:
            try:
                return self._exec_once(client, command, timeout)
            except (paramiko.SSHException, ConnectionResetError, EOFError):
                transport = client.get_transport()
                if transport is not None and transport.is_active():
                    raise
                # The connection dropped (idle timeout, sshd restart): reconnect once.
                return self._exec_once(self._connected(fresh=True), command, timeout)
        except TimeoutError:
            raise NodeError(
                f"{self.name}: `{command[:200]}` went silent for {int(timeout) + CHANNEL_GRACE} s"
                " (the node or the network stopped answering). Fix: check the node"
            ) from None
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise NodeError(explain_ssh_error(self.name, error)) from None

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        # The ssh channel has no timeout of its own: the node's `timeout` bounds it.
        code, stdout, stderr = self._exec(
            ("timeout", "-k", "5", str(int(timeout)), *argv), timeout + 5
        )
        return CommandResult(code, _text(stdout) + _text(stderr))

    def read_file(self, path: str) -> bytes:
        code, stdout, stderr = self._exec(("cat", "--", path))
        if code != 0:
            raise NodeError(f"{self.name}: cannot read {path}: {_text(stderr).strip()[:300]}")
        return stdout

    def daemon_log(self, since: float | None = None) -> str:
        try:
            return self._log.read(since)
        except DaemonLogUnavailable as error:
            raise NodeError(str(error)) from None

    def close(self) -> None:
        """Close the connection, if one was made."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")

"""Where an ``ssh://`` URL leads, as OpenSSH would resolve it through ssh_config.

The URL's host is looked up in ``~/.ssh/config``, then ``/etc/ssh/ssh_config``
(first value wins, as in OpenSSH; parsed by ``paramiko.SSHConfig``, which
handles ``Host`` and ``Match`` blocks and ``%h``/``~`` tokens). Used: HostName,
Port, User and IdentityFile (the URL's own port and user win, as on ssh's
command line), ProxyCommand, and for host keys UserKnownHostsFile,
GlobalKnownHostsFile, StrictHostKeyChecking, HashKnownHosts and HostKeyAlias.
Top-level ``Include`` lines are followed here (paramiko reads none) by putting
the included files' text in their place; one inside a ``Host``/``Match`` block is
not, so what it sets is missed (host keys then fall back to ``ask``: an unknown
key is refused, never trusted).

Usage::

    from mirrorcheck.targets.nodes.ssh_config import resolve_target

    target = resolve_target("ssh://admin@node1")
    target.hostname, target.port, target.strict, target.known_hosts_name
"""

from __future__ import annotations

import getpass
import glob
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import paramiko

from mirrorcheck.targets.nodes.host_keys import (
    DEFAULT_GLOBAL_FILES,
    DEFAULT_USER_FILES,
    SSH_PORT,
    key_name,
    strict_mode,
)

CONFIG_FILES = ("~/.ssh/config", "/etc/ssh/ssh_config")
IDENTITY_ENV = "MIRRORCHECK_SSH_IDENTITY"
INCLUDE_DEPTH = 16  # OpenSSH's READCONF_MAX_DEPTH


class SshConfigError(ValueError):
    """An ssh config file cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class SshTarget:
    """An ssh destination with everything ssh_config says about it."""

    url: str
    user: str
    hostname: str
    port: int
    identity_files: tuple[str, ...] = ()
    proxy_command: str | None = None
    user_known_hosts: tuple[str, ...] = DEFAULT_USER_FILES
    global_known_hosts: tuple[str, ...] = DEFAULT_GLOBAL_FILES
    strict: str = "ask"
    hash_known_hosts: bool = False
    host_key_alias: str | None = None

    @property
    def known_hosts_name(self) -> str:
        """The name the host's key is filed under in known_hosts."""
        return key_name(self.hostname, self.port, self.host_key_alias)


def _inlined(path: str, base: str, depth: int = 0) -> str:
    """The file's text with each top-level ``Include`` replaced by the files it names.

    As ssh_config(5): relative names are under ``base`` (``~/.ssh`` for the
    user's file, ``/etc/ssh`` for the system's), globs expand in name order, a
    missing file is skipped. Lines after an included file are top-level again
    (``Host *``). An ``Include`` inside a ``Host``/``Match`` block (OpenSSH's
    conditional inclusion) is not followed.
    """
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    out: list[str] = []
    top_level = True
    for line in lines:
        words = line.strip().replace("=", " ", 1).split()
        keyword = words[0].lower() if words else ""
        if keyword in ("host", "match"):
            top_level = words[1:] == ["*"] and keyword == "host"
        if keyword != "include" or not top_level:
            out.append(line)
            continue
        if depth >= INCLUDE_DEPTH:
            raise SshConfigError(f"{path}: Include nested deeper than {INCLUDE_DEPTH} files")
        for pattern in words[1:]:
            pattern = os.path.join(base, os.path.expanduser(pattern))
            for included in sorted(glob.glob(pattern)):
                if os.path.isfile(included):
                    out.append(_inlined(included, base, depth + 1))
        out.append("Host *")
    return "\n".join(out)


def read_config(paths: Sequence[str] = CONFIG_FILES) -> paramiko.SSHConfig:
    """The config files that exist, in order, as one ``SSHConfig``; SshConfigError if unparsable.

    ``Include`` lines are followed (relative to the folder of the first file's
    kind: ``~/.ssh`` for a file under the home folder, ``/etc/ssh`` otherwise).
    """
    config = paramiko.SSHConfig()
    home = os.path.expanduser("~")
    for given in paths:
        path = os.path.expanduser(given)
        base = os.path.join(home, ".ssh") if given.startswith("~") else os.path.dirname(path)
        try:
            config.parse(io.StringIO(_inlined(path, base)))
        except FileNotFoundError:
            continue
        except OSError as error:
            raise SshConfigError(
                f"{path}: cannot be read ({error}). Fix: make it readable"
            ) from None
        except paramiko.ssh_exception.ConfigParseError as error:
            raise SshConfigError(
                f"{path}: {error}. Fix: correct that line (see ssh_config(5))"
            ) from None
    return config


def _files(value: str | None, default: tuple[str, ...], user: str) -> tuple[str, ...]:
    if value is None:
        return tuple(os.path.expanduser(f) for f in default)
    home = os.path.expanduser("~")
    files = []
    for word in value.split():
        if word.lower() == "none":
            continue
        word = word.replace("%d", home).replace("%u", user)
        files.append(os.path.expanduser(word))
    return tuple(files)


def _proxy_command(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() == "none" else value


def resolve_target(url: str, config_paths: Sequence[str] = CONFIG_FILES) -> SshTarget:
    """The destination of ``ssh://[user@]host[:port]`` after ssh_config.

    Raises ValueError when the URL is not an ssh URL, carries a password, or
    names no user (and no config gives one); SshConfigError when a config file
    or one of its values cannot be used.
    """
    parts = urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname:
        raise ValueError(f"{url!r} is not ssh://user@host[:port]")
    if parts.password:
        raise ValueError(f"{url!r} carries a password: use a key (ssh-agent or {IDENTITY_ENV})")
    try:
        url_port = parts.port
    except ValueError:
        raise ValueError(f"{url!r} has no valid port: write ssh://user@host:PORT") from None
    config = read_config(config_paths)
    try:
        options = config.lookup(parts.hostname)
    except paramiko.ssh_exception.SSHException as error:
        raise SshConfigError(f"ssh config for {parts.hostname}: {error}") from None
    user = parts.username or options.get("user")
    if not user:
        raise ValueError(
            f"{url!r} names no user: write ssh://user@{parts.hostname} (or set User for "
            f"{parts.hostname} in ~/.ssh/config)"
        )
    port = url_port
    if port is None:
        text = options.get("port", str(SSH_PORT))
        if not str(text).isdigit() or not 0 < int(text) < 65536:
            raise SshConfigError(f"ssh config: Port {text!r} for {parts.hostname} is no port")
        port = int(text)
    try:
        strict = strict_mode(options.get("stricthostkeychecking"))
    except ValueError as error:
        raise SshConfigError(f"ssh config for {parts.hostname}: {error}") from None
    local_user = getpass.getuser()
    return SshTarget(
        url=url,
        user=user,
        hostname=options.get("hostname", parts.hostname),
        port=port,
        identity_files=tuple(os.path.expanduser(f) for f in options.get("identityfile", [])),
        proxy_command=_proxy_command(options.get("proxycommand")),
        user_known_hosts=_files(options.get("userknownhostsfile"), DEFAULT_USER_FILES, local_user),
        global_known_hosts=_files(
            options.get("globalknownhostsfile"), DEFAULT_GLOBAL_FILES, local_user
        ),
        strict=strict,
        hash_known_hosts=str(options.get("hashknownhosts", "no")).lower() == "yes",
        host_key_alias=options.get("hostkeyalias"),
    )

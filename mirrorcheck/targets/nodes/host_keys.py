"""ssh host keys judged as OpenSSH judges them: known_hosts files and StrictHostKeyChecking.

A server's key is looked up under the name OpenSSH uses (``HostKeyAlias``, else
the host name, written ``[host]:port`` when the port is not 22) in the user's
known-hosts files, then the global ones; plain and hashed (``|1|salt|hash``)
entries both match, and ``@revoked`` lines refuse their key. The outcome is:

- known: some entry holds exactly this key (in any file): accepted;
- changed: the name has an entry of the same key type with another key: refused
  under every ``StrictHostKeyChecking`` value. OpenSSH's ``no`` lets such a
  connection proceed "subject to some restrictions" (ssh_config(5),
  StrictHostKeyChecking; sshconnect.c ``check_host_key``, case HOST_CHANGED:
  password and keyboard-interactive logins and forwardings are turned off).
  Those restrictions protect credentials, not the output of commands, and every
  verdict here rests on that output: the one way past a changed key is
  ``--insecure-skip-host-key-check``, which every report states;
- unknown: refused for ``yes`` and ``ask`` (the default; no one is asked in a
  batch run, as OpenSSH's BatchMode), accepted and appended to the first user
  known-hosts file for ``accept-new`` and ``no``/``off`` (hashed when
  ``HashKnownHosts yes``), as ssh_config(5) describes.

Entries whose host field is a wildcard pattern, and ``@cert-authority`` lines,
are not read (paramiko's ``HostKeys`` has neither): such hosts count as unknown,
so a run refuses rather than trusts them.

Usage::

    from mirrorcheck.targets.nodes.host_keys import HostKeyPolicy, KnownHosts

    known = KnownHosts.load(["~/.ssh/known_hosts"], ["/etc/ssh/ssh_known_hosts"])
    policy = HostKeyPolicy(known, strict="ask", url="ssh://admin@node1", name="node1")
    client.set_missing_host_key_policy(policy)   # client holds no keys: every key comes here
"""

from __future__ import annotations

import binascii
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import paramiko
from paramiko.hostkeys import HostKeyEntry, HostKeys, InvalidHostKey

SSH_PORT = 22
DEFAULT_USER_FILES = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
DEFAULT_GLOBAL_FILES = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")
# ssh_config(5) StrictHostKeyChecking; OpenSSH's readconf.c also takes true/false.
STRICT_VALUES = {
    "yes": "yes",
    "true": "yes",
    "ask": "ask",
    "accept-new": "accept-new",
    "no": "no",
    "off": "no",
    "false": "no",
}
ACCEPTS_UNKNOWN = frozenset({"accept-new", "no"})
SKIP_OPTION = "--insecure-skip-host-key-check"

_log = logging.getLogger(__name__)
_record_lock = threading.Lock()


class HostKeyRefused(paramiko.SSHException):
    """The server's key was refused; the message names the host, the fingerprint and the fix."""


class Status(Enum):
    KNOWN = "known"
    CHANGED = "changed"
    UNKNOWN = "unknown"
    REVOKED = "revoked"


@dataclass(frozen=True)
class KnownEntry:
    """One key line of a known-hosts file, with where it stands."""

    entry: HostKeyEntry
    path: str
    line: int
    revoked: bool = False

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def names(self, name: str) -> bool:
        """Whether the line's host field lists ``name`` (plain or hashed)."""
        for listed in self.entry.hostnames:
            if listed == name:
                return True
            if listed.startswith("|1|") and HostKeys.hash_host(name, listed) == listed:
                return True
        return False


@dataclass(frozen=True)
class Judgement:
    """What the known-hosts files say about a key: its status and the line that decided it."""

    status: Status
    entry: KnownEntry | None = None


def key_name(hostname: str, port: int, alias: str | None = None) -> str:
    """The name OpenSSH files a host's key under: alias, ``host`` (port 22) or ``[host]:port``."""
    if alias:
        return alias
    return hostname if port == SSH_PORT else f"[{hostname}]:{port}"


def strict_mode(value: str | None) -> str:
    """``StrictHostKeyChecking`` normalised (yes, ask, accept-new, no); ValueError when invalid."""
    if value is None:
        return "ask"
    mode = STRICT_VALUES.get(value.strip().lower())
    if mode is None:
        raise ValueError(
            f"StrictHostKeyChecking {value!r} is not one of {', '.join(STRICT_VALUES)}"
        )
    return mode


def describe_key(key: paramiko.PKey) -> str:
    """``ED25519 key SHA256:...``, as OpenSSH prints a key's fingerprint."""
    return f"{key.algorithm_name} key {key.fingerprint}"


def _entries(path: str) -> list[KnownEntry]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []  # OpenSSH skips a known-hosts file it cannot open
    found = []
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        revoked = False
        if text.startswith("@"):
            marker, _, text = text.partition(" ")
            if marker != "@revoked":
                continue
            revoked, text = True, text.strip()
        try:
            entry = HostKeyEntry.from_line(text, number)
        except (InvalidHostKey, paramiko.SSHException, binascii.Error, ValueError):
            continue  # OpenSSH skips a line it cannot read, too
        if entry is not None:
            found.append(KnownEntry(entry, path, number, revoked))
    return found


@dataclass(frozen=True)
class KnownHosts:
    """The known-hosts files in OpenSSH's order: the user's first, then the global ones."""

    user_files: tuple[str, ...]
    global_files: tuple[str, ...]
    entries: tuple[KnownEntry, ...]

    @classmethod
    def load(cls, user_files: Iterable[str], global_files: Iterable[str]) -> KnownHosts:
        """Read each file that exists (``~`` expanded); unreadable lines are skipped."""
        users = tuple(os.path.expanduser(f) for f in user_files)
        globals_ = tuple(os.path.expanduser(f) for f in global_files)
        entries = [e for path in (*users, *globals_) for e in _entries(path)]
        return cls(users, globals_, tuple(entries))

    def judge(self, name: str, key: paramiko.PKey) -> Judgement:
        """Known, changed, unknown or revoked, for ``key`` offered under ``name``."""
        listed = [e for e in self.entries if e.names(name)]
        blob = key.asbytes()
        for each in listed:
            if each.revoked and each.entry.key.asbytes() == blob:
                return Judgement(Status.REVOKED, each)
        for each in listed:
            if not each.revoked and each.entry.key.asbytes() == blob:
                return Judgement(Status.KNOWN, each)
        for each in listed:
            if not each.revoked and each.entry.key.get_name() == key.get_name():
                return Judgement(Status.CHANGED, each)
        return Judgement(Status.UNKNOWN)

    def known_types(self, name: str) -> list[str]:
        """Key types filed under ``name``, in file order: the ones to ask the server for first."""
        types: list[str] = []
        for each in self.entries:
            if not each.revoked and each.names(name) and each.entry.key.get_name() not in types:
                types.append(each.entry.key.get_name())
        return types

    def record(self, name: str, key: paramiko.PKey, hashed: bool) -> str | None:
        """Append ``name key`` to the first user file (created 0600 in a 0700 folder).

        Returns the file written, or None when it could not be written: OpenSSH
        then warns and goes on, and so does this (a logged warning).
        """
        if not self.user_files:
            return None
        path = self.user_files[0]
        host = HostKeys.hash_host(name) if hashed else name
        line = HostKeyEntry([host], key).to_line() or ""
        try:
            with _record_lock:
                folder = os.path.dirname(path)
                if folder:
                    os.makedirs(folder, mode=0o700, exist_ok=True)
                descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
                    handle.write(line)
        except OSError as error:
            _log.warning("could not add the host key of %s to %s: %s", name, path, error)
            return None
        return path


def _keyscan(name: str, key: paramiko.PKey) -> str:
    host, port = name, SSH_PORT
    if name.startswith("[") and "]:" in name:
        host, _, rest = name[1:].partition("]:")
        port = int(rest) if rest.isdigit() else SSH_PORT
    port_flag = f"-p {port} " if port != SSH_PORT else ""
    return f"ssh-keyscan {port_flag}-t {key.algorithm_name.lower()} {host}"


def refusal(
    url: str, name: str, key: paramiko.PKey, judgement: Judgement, known: KnownHosts, strict: str
) -> str:
    """The one message for a refused key: host, fingerprint, what was found, the fix."""
    offered = describe_key(key)
    user_file = known.user_files[0] if known.user_files else "~/.ssh/known_hosts"
    add = f"{_keyscan(name, key)} >> {user_file}"
    skip = f"or pass {SKIP_OPTION} (every report then says host keys were not verified)"
    if judgement.status is Status.UNKNOWN:
        looked = ", ".join((*known.user_files, *known.global_files)) or "no file"
        return (
            f"{url}: the ssh host key of {name} is not known ({offered}; looked in {looked}; "
            f"StrictHostKeyChecking {strict}). Fix: check that fingerprint on the machine "
            f"itself (ssh-keygen -lf /etc/ssh/ssh_host_{key.algorithm_name.lower()}_key.pub), "
            f"then add it: {add}; {skip}"
        )
    entry = judgement.entry
    assert entry is not None
    if judgement.status is Status.REVOKED:
        return (
            f"{url}: the ssh host key of {name} is revoked ({offered}, @revoked at "
            f"{entry.where}). Fix: give the node a new host key; {skip}"
        )
    return (
        f"{url}: the ssh host key of {name} has CHANGED: it offers {offered}, but "
        f"{entry.where} holds {describe_key(entry.entry.key)}. Someone may be intercepting "
        f"the connection, or the machine was reinstalled. Fix: if the change is expected, "
        f"ssh-keygen -R '{name}' -f {entry.path}, then {add}; {skip}"
    )


class HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Judges every server key (the client holds none of its own) and refuses or records it."""

    def __init__(
        self, known: KnownHosts, strict: str, url: str, name: str, hash_known_hosts: bool = False
    ) -> None:
        self.known = known
        self.strict = strict_mode(strict)
        self.url = url
        self.name = name
        self.hash_known_hosts = hash_known_hosts

    def missing_host_key(self, client, hostname, key) -> None:
        """Accept (return) or raise HostKeyRefused; the key is judged under ``self.name``."""
        judgement = self.known.judge(self.name, key)
        if judgement.status is Status.KNOWN:
            return
        if judgement.status is Status.UNKNOWN and self.strict in ACCEPTS_UNKNOWN:
            self.known.record(self.name, key, self.hash_known_hosts)
            return
        raise HostKeyRefused(refusal(self.url, self.name, key, judgement, self.known, self.strict))


class AcceptAnyKey(paramiko.MissingHostKeyPolicy):
    """``--insecure-skip-host-key-check``: every key is taken, nothing is read or written."""

    def missing_host_key(self, client, hostname, key) -> None:
        return

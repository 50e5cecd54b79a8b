"""Whether a file given to a linter can be linted by it: readable, text, and of its kind.

A linter given a file it cannot judge (missing, a directory, unreadable,
binary, or a file of another kind, such as a daemon.json given to the
registry config lint) would otherwise print a flood of findings about the
wrong thing, or the raw bytes of a binary. Each such file is one line
instead, naming what the file is and the fix; every linter exits
:data:`EXIT_UNUSABLE` on it, the code of a usage error.

The kind is told by the file's top-level keys, not its syntax: a daemon.json
written as YAML is still a daemon.json (its own linter says it is not JSON).

Usage::

    from mirrorcheck.rules.lint_input import REGISTRY_CONFIG, input_problem

    input_problem("/etc/docker/daemon.json", REGISTRY_CONFIG)
    # "/etc/docker/daemon.json: error: this looks like a daemon.json, not a registry config;
    #  fix: run `mirrorcheck lint daemon-json /etc/docker/daemon.json`"
    input_problem("config.yml", REGISTRY_CONFIG)     # None: lint it

Sources of the key sets: :mod:`mirrorcheck.rules.daemon_json.key_table`
(dockerd's keys), :mod:`mirrorcheck.rules.registry.schema` (distribution's
top-level keys), the Compose specification (``services``) and containerd's
``docs/hosts.md`` (``server``, ``host``, ``capabilities``, ``ca``, ``skip_verify``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomli, the same parser
    import tomli as tomllib  # type: ignore[no-redef]

from mirrorcheck.rules.daemon_json.key_table import DAEMON_KEYS, FORK_KEYS
from mirrorcheck.rules.registry.schema import SCHEMAS

EXIT_UNUSABLE = 2
"""Every linter's exit code for a file it cannot lint (and for any other usage error)."""

# What is read to tell a file's kind and whether it is binary.
SNIFF_BYTES = 1024 * 1024
_BINARY_HEAD = 8192


@dataclass(frozen=True)
class Kind:
    """A kind of file a linter reads: its name in messages, its linter, where it usually is."""

    name: str
    code: str  # the prefix of its findings' codes
    command: str  # ``{path}`` stands for the file
    example: str


DAEMON_JSON = Kind(
    "a daemon.json",
    "daemon-json",
    "mirrorcheck lint daemon-json {path}",
    "dockerd reads /etc/docker/daemon.json unless --config-file",
)
REGISTRY_CONFIG = Kind(
    "a registry config",
    "registry-config",
    "mirrorcheck lint registry-config {path}",
    "the registry's config.yml, mounted at /etc/docker/registry/config.yml",
)
STACK = Kind(
    "a stack file",
    "registry-stack",
    "mirrorcheck lint traefik {path} --mirror-fqdn HOST` or "
    "`mirrorcheck lint registry-config CONFIG --stack {path}",
    "the swarm stack / compose file that runs the registry",
)
HOSTS_TOML = Kind(
    "a containerd hosts.toml",
    "hosts-toml",
    "mirrorcheck lint hosts-toml {path}",
    "dockerd reads /etc/docker/certs.d/docker.io/hosts.toml",
)

_DAEMON_KEYS = frozenset(DAEMON_KEYS) | frozenset(FORK_KEYS)
_REGISTRY_KEYS = frozenset(key for row in SCHEMAS for key in row.keys)
_HOSTS_TOML_KEYS = frozenset({"server", "host", "capabilities", "ca", "skip_verify", "client"})
_YAML_TOP_KEY = re.compile(r"^(?:\"([^\"\n]+)\"|'([^'\n]+)'|([A-Za-z_][\w.-]*))[ \t]*:(?=\s|$)")
_JSON_KEY = re.compile(r"\"([^\"\\\n]{1,100})\"\s*:")
_MAGIC = {
    b"\x7fELF": "an ELF executable",
    b"\x1f\x8b": "gzip data",
    b"PK\x03\x04": "a zip archive",
    b"\x89PNG": "a PNG image",
}
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D} | {0x7F}


def input_problem(path: str | Path, expected: Kind) -> str | None:
    """One line naming why ``path`` cannot be linted as ``expected``, with its fix; None: lint it.

    Reads at most :data:`SNIFF_BYTES`. Never raises.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as error:
        return unreadable_problem(path, error, expected)
    if is_binary(head):
        return (
            f"{path}: error: this is binary ({_binary_kind(head)}), not {expected.name}; "
            f"fix: give {expected.name} ({expected.example})"
        )
    found = recognise_kind(head)
    if found is None or found is expected:
        return None
    command = found.command.format(path=path)
    return f"{path}: error: this looks like {found.name}, not {expected.name}; fix: run `{command}`"


def unreadable_problem(path: str | Path, error: OSError, expected: Kind) -> str:
    """One line naming why ``path`` could not be read (``error``) and the fix.

    The shape of every linter's line for it: ``PATH: error [CODE/unreadable] ...; fix: ...``.
    """
    reason = error.strerror or str(error)
    if isinstance(error, FileNotFoundError):
        fix = f"check the path ({expected.example})"
    elif isinstance(error, IsADirectoryError):
        fix = f"name the file, not its directory ({expected.example})"
    elif isinstance(error, PermissionError):
        fix = "run as a user that may read it (e.g. with sudo) or copy it somewhere readable"
    else:
        fix = "check that the path names a readable regular file"
    return f"{path}: error [{expected.code}/unreadable] cannot read {path}: {reason}; fix: {fix}"


def is_binary(data: bytes) -> bool:
    """Whether ``data`` is not text: a NUL byte, or control bytes in more than a tenth of it.

    UTF-16 with a byte-order mark is text (dockerd reads such a daemon.json from 23.0).
    """
    head = data[:_BINARY_HEAD]
    if not head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if b"\x00" in head:
        return True
    return sum(byte in _CONTROL for byte in head) * 10 > len(head)


def _binary_kind(head: bytes) -> str:
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    return "not text"


def recognise_kind(data: bytes) -> Kind | None:
    """The kind of file ``data`` is, by its top-level keys; None when they do not tell.

    ``services`` makes a stack file; hosts.toml's keys in a TOML document a
    hosts.toml; otherwise the more of dockerd's or distribution's top-level
    keys wins, a tie tells nothing.
    """
    text = data.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    keys, toml = _top_level_keys(text)
    if "services" in keys:
        return STACK
    if toml and keys & _HOSTS_TOML_KEYS:
        return HOSTS_TOML
    daemon, registry = len(keys & _DAEMON_KEYS), len(keys & _REGISTRY_KEYS)
    if daemon > registry:
        return DAEMON_JSON
    if registry > daemon:
        return REGISTRY_CONFIG
    return None


def _top_level_keys(text: str) -> tuple[set[str], bool]:
    """The document's top-level keys, and whether it is TOML; read leniently (it may be broken)."""
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:  # broken JSON: its member names tell the kind as well
            return set(_JSON_KEY.findall(text[:65536])), False
        return (set(document) if isinstance(document, dict) else set()), False
    try:
        return set(tomllib.loads(text)), True
    except (tomllib.TOMLDecodeError, ValueError):
        pass
    keys = set()
    for line in text[:65536].splitlines():
        match = _YAML_TOP_KEY.match(line)
        if match:
            keys.add(next(group for group in match.groups() if group))
    return keys, False

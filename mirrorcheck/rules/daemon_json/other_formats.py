"""What a file given as daemon.json is when it is not JSON: TOML (a containerd hosts.toml) or YAML.

The JSON parser's own message on such a file ("unquoted text 'server'") sends
the user to quote words in a file of another format; :func:`recognise` names
the format and the file that was expected instead. It is asked only about text
that failed to parse as JSON, so valid JSON is never taken for YAML (of which
JSON is a subset).

Usage::

    from mirrorcheck.rules.daemon_json.other_formats import recognise

    found = recognise('server = "https://registry-1.docker.io"\\n')
    found.what    # 'a containerd hosts.toml (TOML), not a daemon.json (JSON)'
    found.fix     # 'a hosts.toml belongs in /etc/containerd/certs.d/<registry host>/ ...'
    recognise('{"debug": true,}')   # None: broken JSON stays a JSON syntax error

Sources: the hosts.toml format and its places are containerd's
``docs/hosts.md`` (``config_path``, ``/etc/containerd/certs.d/<host>/hosts.toml``)
and moby ``daemon/hosts.go`` (dockerd reads hosts.toml files from
``/etc/docker/certs.d/<host>/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import ModuleType

import yaml

toml: ModuleType | None
try:
    import tomllib as toml
except ModuleNotFoundError:  # Python 3.10: lines shaped like TOML stand in for a parse
    toml = None

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_COMMENT_LINES = re.compile(r"\A(?:[ \t\r\n\ufeff]*#[^\n]*(?:\n|\Z))*")
_HOSTS_TOML_KEYS = frozenset({"server", "host", "capabilities", "ca", "skip_verify"})
_DAEMON_JSON_FORM = 'daemon.json is JSON, e.g. {"registry-mirrors": ["https://<mirror FQDN>"]}'


@dataclass(frozen=True)
class OtherFormat:
    """What the file is (``what``) and where it belongs or what to write instead (``fix``)."""

    what: str
    fix: str


def recognise(text: str) -> OtherFormat | None:
    """TOML or block YAML that is not JSON; ``None`` for anything else (never raises)."""
    start = text.lstrip(" \t\r\n\ufeff")[:1]
    if start in ("", "{", '"'):
        return None  # an object or a string: broken JSON, not another format
    table = _toml(text)
    if table:
        if _HOSTS_TOML_KEYS & set(table):
            return OtherFormat(
                "a containerd hosts.toml (TOML), not a daemon.json (JSON)",
                "a hosts.toml belongs in /etc/containerd/certs.d/<registry host>/hosts.toml "
                "(containerd's config_path) or /etc/docker/certs.d/<registry host>/hosts.toml "
                "(dockerd with the containerd image store); " + _DAEMON_JSON_FORM,
            )
        return OtherFormat(
            "TOML, not JSON (containerd's config.toml?)",
            "containerd's settings belong in /etc/containerd/config.toml; " + _DAEMON_JSON_FORM,
        )
    # JSON behind '#' comment lines is YAML too; it is still meant as JSON.
    content = _COMMENT_LINES.sub("", text).lstrip(" \t\r\n\ufeff")[:1]
    if content not in ("{", "[", '"') and isinstance(_yaml(text), dict):
        return OtherFormat(
            "YAML, not JSON",
            "write the same settings as JSON: quote every key and string, "
            "use { } and [ ], and put commas between members; " + _DAEMON_JSON_FORM,
        )
    return None


_TOML_LINE = re.compile(r"\s*(?:#.*|\[[^\]]+\]\s*|([A-Za-z0-9_.\"-]+)\s*=.*)?")


def _toml(text: str) -> dict | None:
    if toml is None:
        lines = [_TOML_LINE.fullmatch(line) for line in text.splitlines()]
        if not all(lines):
            return None
        return {m.group(1).strip('"'): True for m in lines if m and m.group(1)} or None
    try:
        return toml.loads(text)
    except Exception:
        return None


def _yaml(text: str) -> object:
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except Exception:
        return None

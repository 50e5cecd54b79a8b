"""The registry configs the lab runs: the upstream's, and the user's mirror config.

The mirror runs the user's file with exactly two changes, both stated in the
report: ``proxy.remoteurl`` points at the lab's upstream instead of Docker Hub
(only when the file has that key: a file without it, or with a key distribution
ignores such as ``remoteUrl``, runs as written, as it would in production), and
``http.debug.addr`` is set so the mirror's own counters can be read.

Usage::

    from mirrorcheck.targets.lab.registry_configs import mirror_config, upstream_config

    text, changes = mirror_config(open("examples/registry-config.yml").read(),
                                  upstream_url="http://upstream:5000")
"""

from __future__ import annotations

from typing import Any

import yaml

UPSTREAM_ALIAS = "upstream"
REGISTRY_PORT = 5000
DEBUG_PORT = 5001
DEFAULT_ROOT = "/var/lib/registry"


class RegistryConfigError(ValueError):
    """The mirror config is not YAML the lab can run; the message names the fix."""


def upstream_config() -> str:
    """The stand-in for Docker Hub: plain HTTP, JSON log with one line per request."""
    return yaml.safe_dump(
        {
            "version": 0.1,
            "log": {"level": "info", "formatter": "json", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": DEFAULT_ROOT}, "delete": {"enabled": True}},
            "http": {"addr": f":{REGISTRY_PORT}"},
        },
        sort_keys=False,
    )


def load_mapping(text: str, source: str) -> dict[str, Any]:
    """The YAML document as a dict, or a RegistryConfigError naming the place."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise RegistryConfigError(
            f"{where}: not valid YAML ({getattr(error, 'problem', error)}). "
            f"Fix: correct the YAML (run `mirrorcheck lint registry-config {source}`)"
        ) from None
    if not isinstance(document, dict):
        raise RegistryConfigError(f"{source}: a registry config must be a YAML mapping")
    return document


def mirror_config(
    text: str, upstream_url: str, source: str = "registry config"
) -> tuple[str, list[str]]:
    """The user's config with remoteurl and the debug server set; and the changes made."""
    document = load_mapping(text, source)
    changes: list[str] = []
    proxy = document.get("proxy")
    if isinstance(proxy, dict) and "remoteurl" in proxy:
        changes.append(f"proxy.remoteurl: {proxy['remoteurl']!r} -> {upstream_url!r}")
        proxy["remoteurl"] = upstream_url
    http = document.setdefault("http", {})
    if not isinstance(http, dict):
        raise RegistryConfigError(f"{source}: 'http' must be a mapping")
    http.setdefault("addr", f":{REGISTRY_PORT}")
    debug = http.setdefault("debug", {})
    if isinstance(debug, dict) and not debug.get("addr"):
        debug["addr"] = f":{DEBUG_PORT}"
        changes.append(f"http.debug.addr: set to ':{DEBUG_PORT}' (the mirror's counters)")
    return yaml.safe_dump(document, sort_keys=False), changes


def storage_root(text: str) -> str | None:
    """Where a filesystem-storage registry keeps its data; None for other drivers."""
    storage = (yaml.safe_load(text) or {}).get("storage") or {}
    if not isinstance(storage, dict):
        return None
    filesystem = storage.get("filesystem")
    if isinstance(filesystem, dict):
        return str(filesystem.get("rootdirectory") or DEFAULT_ROOT)
    if "inmemory" in storage:
        return None
    return DEFAULT_ROOT


def listen_port(text: str) -> int:
    """The port from ``http.addr`` (``:5000`` -> 5000)."""
    http = (yaml.safe_load(text) or {}).get("http") or {}
    addr = str(http.get("addr") or f":{REGISTRY_PORT}") if isinstance(http, dict) else ""
    port = addr.rsplit(":", 1)[-1]
    return int(port) if port.isdigit() else REGISTRY_PORT

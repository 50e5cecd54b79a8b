"""The registry configs the lab runs: the upstream's, and the user's mirror config.

The mirror runs the user's file with one change, stated in the report:
``http.debug.addr`` is set (when the file sets none) so that the mirror's own
counters can be read. Its ``proxy.remoteurl`` stays as written: the lab's
upstream answers as ``https://registry-1.docker.io``, so the reference
config reaches it, and a mistyped Docker Hub URL fails the pulls as it would
in production.

Usage::

    from mirrorcheck.targets.lab.registry_configs import mirror_config, upstream_config

    text, changes = mirror_config(open("examples/registry-config.yml").read())
"""

from __future__ import annotations

from typing import Any, cast

import yaml

from mirrorcheck.rules.registry.config import DEFAULT_PORT, RegistryConfig, load_runnable_config
from mirrorcheck.rules.registry.schema import DEFAULT_ROOTDIRECTORY
from mirrorcheck.text.yaml_source import YamlReadError

REGISTRY_PORT = DEFAULT_PORT
UPSTREAM_PORT = 443  # Docker Hub's: https://registry-1.docker.io
UPSTREAM_CERT = "/etc/docker/registry/hub.crt"
UPSTREAM_KEY = "/etc/docker/registry/hub.key"
DEBUG_PORT = 5001
DEFAULT_ROOT = DEFAULT_ROOTDIRECTORY


class RegistryConfigError(ValueError):
    """The mirror config is not YAML the lab can run; the message names the fix."""


def upstream_config() -> str:
    """The stand-in for Docker Hub: HTTPS on 443, JSON log with one line per request.

    Its certificate and key are read from ``UPSTREAM_CERT`` and ``UPSTREAM_KEY``.
    """
    return yaml.safe_dump(
        {
            "version": 0.1,
            "log": {"level": "info", "formatter": "json", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": DEFAULT_ROOT}, "delete": {"enabled": True}},
            "http": {
                "addr": f":{UPSTREAM_PORT}",
                "tls": {"certificate": UPSTREAM_CERT, "key": UPSTREAM_KEY},
            },
        },
        sort_keys=False,
    )


def parse_config(text: str, source: str) -> RegistryConfig:
    """The config the mirror runs, as the lint reads it.

    Only what stops the lab (not YAML, not a mapping) is an error here, a
    RegistryConfigError with the lint's finding; the lint judges the rest.
    """
    try:
        return load_runnable_config(text, source)
    except YamlReadError as error:
        raise RegistryConfigError(
            f"{error.finding.render()}\n(the lab cannot run this registry config; "
            f"`mirrorcheck lint registry-config {source}` says the same)"
        ) from None


def mirror_config(text: str, source: str = "registry config") -> tuple[str, list[str]]:
    """The user's config with the debug server set; and the changes made (one line each).

    Everything else, ``proxy.remoteurl`` included, runs as written; a file that
    already sets ``http.debug.addr`` (and ``http.addr``) is returned byte for byte.
    RegistryConfigError for text the lab cannot run (see :func:`parse_config`).
    """
    config = parse_config(text, source)
    # A mapping node builds a dict: the YAML document as yaml.safe_load gives it.
    document = cast(dict[str, Any], config.doc.value(config.doc.root))
    changes: list[str] = []
    http = document.setdefault("http", {})
    if not isinstance(http, dict):
        raise RegistryConfigError(f"{source}: 'http' must be a mapping")
    if not http.get("addr"):
        http["addr"] = f":{REGISTRY_PORT}"
        changes.append(f"http.addr: set to ':{REGISTRY_PORT}' (the port the proxy forwards to)")
    debug = http.setdefault("debug", {})
    if isinstance(debug, dict) and not debug.get("addr"):
        debug["addr"] = f":{DEBUG_PORT}"
        changes.append(f"http.debug.addr: set to ':{DEBUG_PORT}' (the mirror's counters)")
    if not changes:
        return text, changes
    return yaml.safe_dump(document, sort_keys=False), changes


def storage_root(text: str) -> str | None:
    """Where a filesystem-storage registry keeps its data; None for other drivers.

    ``None`` also when the config names no single driver (the registry would not
    start). RegistryConfigError for text that is not YAML.
    """
    return parse_config(text, "registry config").rootdirectory


def listen_port(text: str) -> int:
    """The port from ``http.addr`` (``:5000`` -> 5000); RegistryConfigError as storage_root."""
    return parse_config(text, "registry config").listen_port

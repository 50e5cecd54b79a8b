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

from typing import Any, cast

import yaml

from mirrorcheck.rules.registry.config import DEFAULT_PORT, RegistryConfig, load_runnable_config
from mirrorcheck.rules.registry.schema import DEFAULT_ROOTDIRECTORY
from mirrorcheck.text.yaml_source import YamlReadError

UPSTREAM_ALIAS = "upstream"
REGISTRY_PORT = DEFAULT_PORT
DEBUG_PORT = 5001
DEFAULT_ROOT = DEFAULT_ROOTDIRECTORY


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


def mirror_config(
    text: str, upstream_url: str, source: str = "registry config"
) -> tuple[str, list[str]]:
    """The user's config with remoteurl and the debug server set; and the changes made."""
    config = parse_config(text, source)
    # A mapping node builds a dict: the YAML document as yaml.safe_load gives it.
    document = cast(dict[str, Any], config.doc.value(config.doc.root))
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
    """Where a filesystem-storage registry keeps its data; None for other drivers.

    ``None`` also when the config names no single driver (the registry would not
    start). RegistryConfigError for text that is not YAML.
    """
    return parse_config(text, "registry config").rootdirectory


def listen_port(text: str) -> int:
    """The port from ``http.addr`` (``:5000`` -> 5000); RegistryConfigError as storage_root."""
    return parse_config(text, "registry config").listen_port

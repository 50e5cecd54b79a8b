"""distribution's config.yml as a parsed object: values by dotted key, with their positions.

The one reader of a registry config: the lint judges this object, and the lab
asks it where the cache lives and which port the registry listens on. Every
way in raises one error type, YamlReadError, whose ``finding`` names the file,
line, column and fix: the readers for anything that is not YAML whose values
can be built (a binary file, a syntax error, ``!!int x``), and
:func:`load_runnable_config` / :func:`read_runnable_config` also for a file
that is empty or not a mapping (a YAML list, a scalar): nothing can run it.

Usage::

    from mirrorcheck.rules.registry.config import load_runnable_config, read_config

    config = read_config("registry-mirror-config.yml")   # YamlReadError on bad input
    config = load_runnable_config(text, "config.yml")     # ... or on a list, scalar, empty file
    config.remoteurl, config.storage_driver, config.rootdirectory, config.debug_addr
    config.listen_port                                    # 5000 unless http.addr says otherwise
    config.where("proxy.remoteurl")                       # (line, column)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node

from mirrorcheck.findings import Finding
from mirrorcheck.rules.registry.catalog import NOT_A_MAPPING
from mirrorcheck.rules.registry.schema import DEFAULT_ROOTDIRECTORY, STORAGE_SECTIONS_V3
from mirrorcheck.text.yaml_source import (
    YamlDocument,
    YamlReadError,
    entries,
    is_null,
    kind,
    load_yaml,
    position,
    read_text,
    scalar_text,
)

CODE = "registry-config"
CONSEQUENCE = "the registry refuses to start on this file"
DEFAULT_PORT = 5000  # distribution's default http.addr is :5000


def port_of(addr: str | None) -> int | None:
    """``":5000"`` / ``"0.0.0.0:5000"`` / ``"[::]:5000"`` -> 5000; ``None`` when absent."""
    if not addr:
        return None
    tail = str(addr).rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


@dataclass
class RegistryConfig:
    """A parsed config.yml: values by dotted key, with their positions.

    >>> cfg = load_config("version: 0.1\\nproxy:\\n  remoteurl: https://registry-1.docker.io\\n")
    >>> cfg.remoteurl, cfg.where("proxy.remoteurl")
    ('https://registry-1.docker.io', (3, 14))
    """

    doc: YamlDocument
    # Nodes set by a REGISTRY_* variable (id(node) -> its EnvSetting): they point at the stack.
    origins: dict[int, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.doc.path

    def node(self, key: str) -> Node | None:
        """The value node at a dotted key (``storage.filesystem.rootdirectory``)."""
        return self.doc.find(tuple(key.split(".")))

    def get(self, key: str, default: object = None) -> object:
        """The value at a dotted key as YAML 1.1 reads it (like Go's yaml.v2)."""
        node = self.node(key)
        return default if is_null(node) else self.doc.value(node)

    def where(self, key: str) -> tuple[int | None, int | None]:
        """1-based (line, column) of the value at a dotted key; (None, None) when absent."""
        return self.doc.where(self.node(key))

    def at(self, node: Node | None) -> dict[str, Any]:
        """``path``, ``line``, ``column`` and ``excerpt`` of a node, as ``Rule.finding`` takes.

        A value set by the environment is placed at its variable in the stack
        file, with the variable's name (never its value) as the excerpt.
        """
        origin = self.origins.get(id(node)) if node is not None else None
        if origin is not None:
            return {
                "path": origin.path,
                "line": origin.line,
                "column": origin.column,
                "excerpt": origin.name,
            }
        line, column = position(node) if node is not None else (None, None)
        excerpt = self.doc.line_text(line, column).rstrip() if line else ""
        return {"path": self.path, "line": line, "column": column, "excerpt": excerpt}

    @property
    def remoteurl(self) -> str | None:
        value = self.get("proxy.remoteurl")
        return value if isinstance(value, str) and value else None

    @property
    def storage_drivers(self) -> list[str]:
        """Driver names under ``storage`` (``filesystem``, ``inmemory``, ...)."""
        node = self.node("storage")
        text = scalar_text(node)
        if text is not None:
            return [text]
        return [e.key for e in entries(node) if e.key not in STORAGE_SECTIONS_V3]

    @property
    def storage_driver(self) -> str | None:
        drivers = self.storage_drivers
        return drivers[0] if len(drivers) == 1 else None

    @property
    def rootdirectory(self) -> str | None:
        """Where the filesystem driver keeps the cache; ``None`` for other drivers."""
        if self.storage_driver != "filesystem":
            return None
        value = self.get("storage.filesystem.rootdirectory")
        return str(value) if value else DEFAULT_ROOTDIRECTORY

    @property
    def delete_enabled(self) -> bool:
        return self.get("storage.delete.enabled") is True

    @property
    def http_addr(self) -> str | None:
        value = self.get("http.addr")
        return str(value) if value else None

    @property
    def listen_port(self) -> int:
        """The registry's port from ``http.addr``; 5000 when absent or without a port."""
        return port_of(self.http_addr) or DEFAULT_PORT

    @property
    def debug_addr(self) -> str | None:
        value = self.get("http.debug.addr")
        return str(value) if value else None

    @property
    def debug_port(self) -> int | None:
        """The debug server's port from ``http.debug.addr``; ``None`` when it is off."""
        return port_of(self.debug_addr)


def load_config(text: str, path: str = "config.yml") -> RegistryConfig:
    """Parse config text; YamlReadError carries the finding for a syntax error."""
    return RegistryConfig(load_yaml(text, path=path, code_prefix=CODE, consequence=CONSEQUENCE))


def read_config(path: str | Path) -> RegistryConfig:
    """Read and parse a config file; YamlReadError for a missing file or bad YAML."""
    return load_config(read_text(path, code_prefix=CODE), path=str(path))


def structure(config: RegistryConfig) -> list[Finding]:
    """The finding when the file is empty or not a mapping: nothing else can be judged."""
    root = config.doc.root
    if is_null(root):
        return [
            NOT_A_MAPPING.finding(
                f"the file is empty: {CONSEQUENCE} (no version, no storage)",
                fix="start from the reference config (version: 0.1, storage, proxy.remoteurl)",
                **config.at(None),
            )
        ]
    if not isinstance(root, MappingNode):
        return [
            NOT_A_MAPPING.finding(
                f"the top level is a {kind(root)}, not a mapping of keys: {CONSEQUENCE}",
                fix="write the config as 'key: value' lines (version: 0.1, storage:, proxy:)",
                **config.at(root),
            )
        ]
    return []


def load_runnable_config(text: str, path: str = "config.yml") -> RegistryConfig:
    """A config that is a mapping of keys; YamlReadError (with its finding) for anything else.

    What the lab and the checks that need the config's values call: a binary
    file, bad YAML, a value that cannot be built, an empty file, a YAML list or
    a scalar all raise the one error, whose finding is the one the config's
    own check reports.
    """
    config = load_config(text, path)
    problems = structure(config)
    if problems:
        raise YamlReadError(problems[0])
    return config


def read_runnable_config(path: str | Path) -> RegistryConfig:
    """:func:`load_runnable_config` on a file; YamlReadError also when it cannot be read."""
    return load_runnable_config(read_text(path, code_prefix=CODE), path=str(path))

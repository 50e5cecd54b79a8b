"""A strict lint of distribution's config.yml for a registry that must be a Docker Hub mirror.

distribution reads its config with non-strict YAML: a mistyped key, a key in
the wrong case (``remoteUrl``) or a key from another version (``proxy.ttl`` on
2.8) is dropped without a word, and the registry starts as something else
than intended. This lint names each such key with file, dotted key,
line:column and the fix. Keys are compared with the tables in
``mirrorcheck.rules.registry.schema``.

Usage::

    from mirrorcheck.rules.registry.config import lint_config_file, read_config

    for finding in lint_config_file("registry-mirror-config.yml", registry_version="2.8.2"):
        print(finding.render())

    config = read_config("registry-mirror-config.yml")   # YamlReadError on bad input
    config.remoteurl, config.storage_driver, config.rootdirectory, config.debug_addr

From a shell (exit 1 on errors, 0 otherwise, 2 on usage errors)::

    python -m mirrorcheck.rules.registry.config registry-mirror-config.yml \\
        --stack registry.yml --registry-version 2.8.2

Finding codes (all ``registry-config/...``): ``unreadable``, ``yaml-syntax``,
``not-a-mapping``, ``version-missing``, ``version-unsupported``,
``duplicate-key``, ``wrong-type``, ``unknown-key``, ``key-case``,
``key-not-in-version``, ``storage-unknown-key``, ``proxy-missing``,
``proxy-remoteurl-case``, ``proxy-ttl-unsupported``, ``proxy-ttl-invalid``,
``proxy-ttl-disabled``, ``remoteurl-not-https``, ``remoteurl-not-docker-hub``,
``remoteurl-path``, ``remoteurl-unexpected``, ``storage-missing``,
``storage-multiple-drivers``, ``storage-inmemory``, ``rootdirectory-relative``,
``delete-disabled``, ``debug-addr-missing``, ``config-path``. Stack findings
are ``registry-stack/...`` (see ``mirrorcheck.rules.registry.stack``).
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mirrorcheck.findings import Finding, Severity, errors, render_all
from mirrorcheck.rules.limitations import RegistryVersion, parse_version
from mirrorcheck.rules.registry.schema import (
    DEFAULT_ROOTDIRECTORY,
    DOCKER_HUB_REMOTEURL,
    LEAF,
    PLUGIN_SECTIONS,
    STORAGE_SECTIONS_V3,
    ListOf,
    MapOf,
    Open,
    ScalarOr,
    SchemaRow,
    Spec,
    config_path_for,
    lookup,
    other_schemas,
    schema_for,
)
from mirrorcheck.rules.registry.stack import StackInfo, lint_stack, load_stack, read_stack
from mirrorcheck.text.yaml_source import (
    STR_TAG,
    Entry,
    YamlDocument,
    YamlReadError,
    dotted,
    entries,
    entry_for,
    is_null,
    kind,
    load_yaml,
    position,
    read_text,
    scalar_text,
)

__all__ = [
    "DOCKER_HUB_REMOTEURL",
    "RegistryConfig",
    "StackInfo",
    "check_config_path",
    "lint_config",
    "lint_config_file",
    "lint_config_text",
    "lint_deployment",
    "lint_stack",
    "load_config",
    "load_stack",
    "main",
    "read_config",
    "read_stack",
]

CODE = "registry-config"
DEFAULT_VERSION = "2.8"
CONSEQUENCE = "the registry refuses to start on this file"
DOCKER_HUB_HOST = urlsplit(DOCKER_HUB_REMOTEURL).hostname or ""

# Hosts people write instead of registry-1.docker.io, and what each one is.
MISTAKEN_HUB_HOSTS = {
    "docker.io": "docker.io is the name of Docker Hub in image references, not its registry API",
    "www.docker.io": "www.docker.io is a website, not Docker Hub's registry API",
    "hub.docker.com": "hub.docker.com is the Docker Hub website, not its registry API",
    "registry.hub.docker.com": "registry.hub.docker.com is a legacy alias",
    "registry-1.docker.com": "registry-1.docker.com is not Docker Hub (.com instead of .io)",
    "registry.docker.io": "registry.docker.io is not Docker Hub's registry host",
    "registry.docker.com": "registry.docker.com is not Docker Hub's registry host",
    "index.docker.io": "index.docker.io is the legacy v1 index name",
}

# Older names that still answer for Docker Hub: a warning, not an error.
WORKING_HUB_ALIASES = frozenset({"index.docker.io", "registry.hub.docker.com"})

# Go time.ParseDuration: "0" or a sequence of decimal numbers with a unit.
GO_DURATION = re.compile(r"^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$")


def _normalised(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


# --------------------------------------------------------------------------- the parsed file


@dataclass
class RegistryConfig:
    """A parsed config.yml: values by dotted key, with their positions.

    >>> cfg = load_config("version: 0.1\\nproxy:\\n  remoteurl: https://registry-1.docker.io\\n")
    >>> cfg.remoteurl, cfg.where("proxy.remoteurl")
    ('https://registry-1.docker.io', (3, 14))
    """

    doc: YamlDocument

    @property
    def path(self) -> str:
        return self.doc.path

    def node(self, key: str) -> Node | None:
        """The value node at a dotted key (``storage.filesystem.rootdirectory``)."""
        return self.doc.find(tuple(key.split(".")))

    def get(self, key: str, default: object = None) -> object:
        node = self.node(key)
        return default if is_null(node) else self.doc.value(node)

    def where(self, key: str) -> tuple[int | None, int | None]:
        return self.doc.where(self.node(key))

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
    def debug_addr(self) -> str | None:
        value = self.get("http.debug.addr")
        return str(value) if value else None


def load_config(text: str, path: str = "config.yml") -> RegistryConfig:
    """Parse config text; YamlReadError carries the finding for a syntax error."""
    return RegistryConfig(load_yaml(text, path=path, code_prefix=CODE, consequence=CONSEQUENCE))


def read_config(path: str | Path) -> RegistryConfig:
    """Read and parse a config file; YamlReadError for a missing file or bad YAML."""
    return load_config(read_text(path, code_prefix=CODE), path=str(path))


# --------------------------------------------------------------------------- the lint


class _Lint:
    """One pass over one file; collects findings in file order."""

    def __init__(self, config: RegistryConfig, version: RegistryVersion, expected: str) -> None:
        self.config = config
        self.expected = expected.rstrip("/")
        self.row: SchemaRow = schema_for(version)
        self.findings: list[Finding] = []
        self.reported_remoteurl_case = False

    # -- helpers

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        fix: str,
        *,
        key: str = "",
        node: Node | None = None,
    ) -> None:
        line, column = position(node) if node is not None else (None, None)
        self.findings.append(
            Finding(
                severity=severity,
                code=f"{CODE}/{code}",
                message=message,
                fix=fix,
                path=self.config.path,
                line=line,
                column=column,
                key=key,
                excerpt=self.config.doc.line_text(line).rstrip() if line else "",
            )
        )

    @property
    def release(self) -> str:
        return self.row.name

    # -- structure

    def check_structure(self) -> bool:
        root = self.config.doc.root
        if is_null(root):
            self.add(
                Severity.ERROR,
                "not-a-mapping",
                f"the file is empty: {CONSEQUENCE} (no version, no storage)",
                "start from the reference config (version: 0.1, storage, proxy.remoteurl)",
            )
            return False
        if not isinstance(root, MappingNode):
            self.add(
                Severity.ERROR,
                "not-a-mapping",
                f"the top level is a {kind(root)}, not a mapping of keys: {CONSEQUENCE}",
                "write the config as 'key: value' lines (version: 0.1, storage:, proxy:)",
                node=root,
            )
            return False
        return True

    def check_version(self) -> None:
        entry = entry_for(self.config.doc.root, "version")
        if entry is None or is_null(entry.value):
            self.add(
                Severity.ERROR,
                "version-missing",
                f"no 'version' key: {CONSEQUENCE} ('unsupported version: \"\"')",
                "add 'version: 0.1' as the first line",
                key="version",
                node=entry.key_node if entry else None,
            )
            return
        text = scalar_text(entry.value)
        if text != "0.1":
            self.add(
                Severity.ERROR,
                "version-unsupported",
                f"version is {text or kind(entry.value)!r}: the only config format distribution "
                f"knows is 0.1, so {CONSEQUENCE}",
                "write 'version: 0.1' (the format version, not the registry's)",
                key="version",
                node=entry.value,
            )

    def check_keys(self, node: Node | None, spec: Spec, path: tuple[str, ...]) -> None:
        """Walk the file alongside the schema: unknown keys, duplicates, wrong shapes."""
        if is_null(node) or isinstance(spec, Open):
            return
        assert node is not None
        key = dotted(path)
        if isinstance(spec, ScalarOr):
            if isinstance(node, ScalarNode):
                return
            spec = spec.struct
        if isinstance(spec, ListOf):
            if not isinstance(node, SequenceNode):
                self.wrong_type(node, key, "a list")
                return
            for index, item in enumerate(node.value):
                self.check_keys(item, spec.item, (*path, f"[{index}]"))
            return
        # Below a storage driver or section, values are Go interface{}: yaml.v2 takes
        # any shape there and the driver reads what it knows.
        typed = not (path[:1] == ("storage",) and len(path) > 2)
        if spec == LEAF:
            if typed and not isinstance(node, ScalarNode):
                self.wrong_type(node, key, "a single value")
            return
        if not isinstance(node, MappingNode):
            if typed:
                self.wrong_type(node, key, "a mapping of keys")
            return
        self.check_duplicates(node, path)
        for entry in entries(node):
            if isinstance(spec, MapOf):
                self.check_keys(entry.value, spec.value, (*path, entry.key))
            elif entry.key in spec:
                self.check_keys(entry.value, spec[entry.key], (*path, entry.key))
            else:
                self.unknown_key(entry, path, spec)

    def wrong_type(self, node: Node, key: str, expected: str) -> None:
        self.add(
            Severity.ERROR,
            "wrong-type",
            f"{key} must be {expected}, found a {kind(node)}: {CONSEQUENCE}",
            f"write {key} as {expected} (see the reference config)",
            key=key,
            node=node,
        )

    def check_duplicates(self, node: MappingNode, path: tuple[str, ...]) -> None:
        seen: dict[str, Entry] = {}
        for entry in entries(node):
            if entry.merged:
                continue
            first = seen.get(entry.key)
            if first is None:
                seen[entry.key] = entry
                continue
            line = position(first.key_node)[0]
            key = dotted((*path, entry.key))
            self.add(
                Severity.ERROR,
                "duplicate-key",
                f"{key} is written twice; distribution keeps only this later one and drops "
                f"the one on line {line} without a word",
                f"merge the two {key} blocks into one",
                key=key,
                node=entry.key_node,
            )

    def unknown_key(self, entry: Entry, path: tuple[str, ...], spec: dict) -> None:
        key = dotted((*path, entry.key))
        parent = dotted(path) or "the top level"
        same = [name for name in spec if _normalised(name) == _normalised(entry.key)]
        parent_node = self.config.doc.find(path) if path else self.config.doc.root
        if path == ("proxy",) and same == ["remoteurl"] and not entry_for(parent_node, "remoteurl"):
            self.reported_remoteurl_case = True
            self.add(
                Severity.ERROR,
                "proxy-remoteurl-case",
                f"{key}: distribution reads only the lower-case 'remoteurl' and ignores "
                f"'{entry.key}', so proxy.remoteurl is empty and the registry starts as a "
                "plain registry, NOT a mirror (nodes fall back to Docker Hub silently)",
                f"rename '{entry.key}' to 'remoteurl'",
                key=key,
                node=entry.key_node,
            )
            return
        if path == ("proxy",) and entry.key == "ttl":
            self.add(
                Severity.ERROR,
                "proxy-ttl-unsupported",
                f"proxy.ttl does not exist in {self.release} and is ignored: cached content "
                "still expires after the built-in 168h",
                "remove proxy.ttl, or run distribution 3 (image registry:3) where it exists",
                key=key,
                node=entry.key_node,
            )
            return
        plugin = PLUGIN_SECTIONS.get(path)
        consequence = (
            f"distribution takes it for {plugin} name and refuses to start"
            if plugin
            else f"{self.release} ignores it without a word"
        )
        code = "storage-unknown-key" if path == ("storage",) else "unknown-key"
        if same:
            present = entry_for(parent_node, same[0])
            fix = (
                f"remove '{entry.key}' ('{same[0]}' is set on line {position(present.key_node)[0]})"
                if present
                else f"rename '{entry.key}' to '{same[0]}'"
            )
            self.add(
                Severity.ERROR,
                code if plugin else "key-case",
                f"{key}: keys are lower case and '{entry.key}' is not '{same[0]}'; {consequence}",
                fix,
                key=key,
                node=entry.key_node,
            )
            return
        elsewhere = [
            other.name
            for other in other_schemas(self.row)
            if lookup(other.keys, _schema_path((*path, entry.key))) is not None
        ]
        if elsewhere and not plugin:
            self.add(
                Severity.ERROR,
                "key-not-in-version",
                f"{key} exists in {' and '.join(elsewhere)} but not in {self.release}, "
                "which ignores it without a word",
                f"remove {key}, or run the distribution version that has it",
                key=key,
                node=entry.key_node,
            )
            return
        close = difflib.get_close_matches(entry.key, list(spec), n=1, cutoff=0.75) or [
            name
            for name in spec
            if min(len(name), len(entry.key)) >= 4
            and (name.startswith(entry.key) or entry.key.startswith(name))
        ]
        homes = _paths_with_key(self.row.keys, entry.key)
        if close:
            fix = f"did you mean '{close[0]}'? rename it"
        elif homes:
            fix = f"move it to {' or '.join(homes)}"
        else:
            fix = f"remove it; {parent} knows: {', '.join(sorted(spec)) or 'no keys'}"
        self.add(
            Severity.ERROR,
            code,
            f"{key} is not a key of {parent}; {consequence}",
            fix,
            key=key,
            node=entry.key_node,
        )

    # -- the mirror

    def check_proxy(self) -> None:
        proxy = entry_for(self.config.doc.root, "proxy")
        remote = entry_for(proxy.value, "remoteurl") if proxy else None
        if remote is None or is_null(remote.value) or scalar_text(remote.value) == "":
            if self.reported_remoteurl_case:
                return
            where = (remote.key_node if remote else None) or (proxy.key_node if proxy else None)
            self.add(
                Severity.ERROR,
                "proxy-missing",
                "no proxy.remoteurl: the registry runs as a plain registry, not a pull-through "
                "cache; nodes get 'manifest unknown' from it and fall back to Docker Hub "
                "silently",
                f"add 'proxy:' with 'remoteurl: {DOCKER_HUB_REMOTEURL}' (or set "
                "REGISTRY_PROXY_REMOTEURL in the container's environment)",
                key="proxy.remoteurl",
                node=where,
            )
            return
        self.check_remoteurl(remote)
        ttl = entry_for(proxy.value, "ttl") if proxy else None
        if ttl is not None and "ttl" in self.row.keys["proxy"]:
            self.check_ttl(ttl)

    def check_remoteurl(self, remote: Entry) -> None:
        key = "proxy.remoteurl"
        url = scalar_text(remote.value) or ""
        if not isinstance(remote.value, ScalarNode):
            return  # wrong-type already said it
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        if not parts.scheme or not host:
            self.add(
                Severity.ERROR,
                "remoteurl-not-https",
                f"{key} {url!r} is not a URL with a scheme: the registry panics at start "
                "('unsupported protocol scheme')",
                f"write the full URL: {self.expected}",
                key=key,
                node=remote.value,
            )
            return
        expected = urlsplit(self.expected)
        if expected.scheme == "https" and parts.scheme != "https":
            self.add(
                Severity.ERROR,
                "remoteurl-not-https",
                f"{key} uses {parts.scheme}://: the mirror would fetch images from upstream "
                "without TLS (Docker Hub answers plain http with a redirect at best)",
                f"use https: {self.expected}",
                key=key,
                node=remote.value,
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            self.add(
                Severity.ERROR,
                "remoteurl-path",
                f"{key} {url!r} has a path: the proxy appends /v2/ to remoteurl itself "
                "(registry/proxy/proxyauth.go), so the start-up request goes to the wrong place",
                f"use the registry's root URL: {self.expected}",
                key=key,
                node=remote.value,
            )
        elif parts.path == "/":
            self.add(
                Severity.WARNING,
                "remoteurl-path",
                f"{key} ends with '/': the proxy appends '/v2/' and asks upstream for '//v2/'",
                f"drop the trailing slash: {self.expected}",
                key=key,
                node=remote.value,
            )
        if expected.hostname == DOCKER_HUB_HOST:
            self.check_docker_hub(host, url, remote.value)
        elif host != expected.hostname or (parts.port or None) != (expected.port or None):
            self.add(
                Severity.ERROR,
                "remoteurl-unexpected",
                f"{key} is {url!r}, expected {self.expected}",
                f"set {key}: {self.expected}",
                key=key,
                node=remote.value,
            )

    def check_docker_hub(self, host: str, url: str, node: Node) -> None:
        key = "proxy.remoteurl"
        if host == DOCKER_HUB_HOST:
            return
        what = MISTAKEN_HUB_HOSTS.get(host)
        looks_mistyped = (
            what is not None
            or "docker" in host
            or (difflib.SequenceMatcher(None, host, DOCKER_HUB_HOST).ratio() > 0.75)
        )
        if host in WORKING_HUB_ALIASES:
            severity = Severity.WARNING
            reason = f"{what}, not the endpoint dockerd itself pulls from ({DOCKER_HUB_HOST})"
        elif looks_mistyped:
            severity = Severity.ERROR
            reason = (
                f"{what or f'{host} looks like a mistyped Docker Hub host'}: pulls through the "
                "mirror fail ('manifest unknown' or a start-up panic) and every node falls back "
                "to Docker Hub silently"
            )
        else:
            severity = Severity.ERROR
            reason = (
                f"{host} is not Docker Hub: dockerd sends only Docker Hub images to its "
                "registry-mirrors, so a mirror of another registry is never asked by the nodes"
            )
        self.add(
            severity,
            "remoteurl-not-docker-hub",
            f"{key} is {url!r}: {reason}",
            f"set {key}: {DOCKER_HUB_REMOTEURL}",
            key=key,
            node=node,
        )

    def check_ttl(self, ttl: Entry) -> None:
        key = "proxy.ttl"
        text = scalar_text(ttl.value)
        if text is None:
            return
        if ttl.value.tag != STR_TAG and text.lstrip("+-").isdigit() and int(text) != 0:
            self.add(
                Severity.ERROR,
                "proxy-ttl-invalid",
                f"{key} is the bare number {text}: a Go duration without a unit counts "
                "nanoseconds, so cached content expires at once",
                "write a duration with a unit, e.g. 'ttl: 168h'",
                key=key,
                node=ttl.value,
            )
            return
        if not GO_DURATION.match(text.strip()):
            self.add(
                Severity.ERROR,
                "proxy-ttl-invalid",
                f"{key} {text!r} is not a Go duration: {CONSEQUENCE}",
                "use h, m or s units (7 days is 'ttl: 168h'; there is no 'd')",
                key=key,
                node=ttl.value,
            )
            return
        if not re.search(r"[1-9]", text):
            self.add(
                Severity.INFO,
                "proxy-ttl-disabled",
                f"{key} is zero: expiry is off and the cache only grows",
                "set a duration (default 168h) unless the disk holds every image ever pulled",
                key=key,
                node=ttl.value,
            )

    def check_storage(self) -> None:
        storage = entry_for(self.config.doc.root, "storage")
        if storage is None or is_null(storage.value):
            self.add(
                Severity.ERROR,
                "storage-missing",
                f"no storage driver: {CONSEQUENCE} ('no storage configuration provided')",
                f"add 'storage:' with 'filesystem: {{rootdirectory: {DEFAULT_ROOTDIRECTORY}}}'",
                key="storage",
                node=storage.key_node if storage else None,
            )
            return
        drivers = [e for e in entries(storage.value) if e.key not in self.row.storage_sections]
        if isinstance(storage.value, ScalarNode):
            names = [storage.value.value]
            where = storage.value
        else:
            names = [e.key for e in drivers]
            where = drivers[1].key_node if len(drivers) > 1 else None
        if not names:
            self.add(
                Severity.ERROR,
                "storage-missing",
                f"storage names no driver, only {', '.join(e.key for e in entries(storage.value))}:"
                f" {CONSEQUENCE}",
                f"add 'filesystem:' with 'rootdirectory: {DEFAULT_ROOTDIRECTORY}' under storage",
                key="storage",
                node=storage.key_node,
            )
        elif len(names) > 1:
            self.add(
                Severity.ERROR,
                "storage-multiple-drivers",
                f"storage names {len(names)} drivers ({', '.join(names)}): {CONSEQUENCE}",
                "keep exactly one driver (filesystem for a mirror)",
                key="storage",
                node=where,
            )
        if "inmemory" in names:
            node = (
                storage.value
                if isinstance(storage.value, ScalarNode)
                else next(e.key_node for e in drivers if e.key == "inmemory")
            )
            self.add(
                Severity.ERROR,
                "storage-inmemory",
                "storage.inmemory keeps the cache in the registry's memory: every restart "
                "empties it and the next pull of every image goes to Docker Hub again "
                "(the docs: for testing only)",
                f"use 'filesystem: {{rootdirectory: {DEFAULT_ROOTDIRECTORY}}}' on a persistent "
                "volume",
                key="storage.inmemory",
                node=node,
            )
        root = self.config.node("storage.filesystem.rootdirectory")
        text = scalar_text(root)
        if text and not text.startswith("/"):
            self.add(
                Severity.WARNING,
                "rootdirectory-relative",
                f"storage.filesystem.rootdirectory {text!r} is relative to the registry's "
                "working directory, not to a volume",
                f"use an absolute path on a volume, e.g. {DEFAULT_ROOTDIRECTORY}",
                key="storage.filesystem.rootdirectory",
                node=root,
            )
        self.check_delete(storage)

    def check_delete(self, storage: Entry) -> None:
        key = "storage.delete.enabled"
        delete = entry_for(storage.value, "delete")
        enabled = entry_for(delete.value, "enabled") if delete else None
        why = (
            "expiry deletes cached content, and distribution deletes nothing unless "
            "storage.delete.enabled is the boolean true: expired content stays and the "
            "cache only grows"
        )
        fix = "add under storage: 'delete:' with 'enabled: true'"
        if enabled is None or is_null(enabled.value):
            where = delete.key_node if delete else storage.key_node
            self.add(
                Severity.ERROR,
                "delete-disabled",
                f"{key} is not set: {why}",
                fix,
                key=key,
                node=where,
            )
            return
        value = self.config.doc.value(enabled.value)
        if value is True:
            return
        if isinstance(value, str):
            said = f"is the string {value!r}, not a boolean"
            fix = "write 'enabled: true' without quotes"
        else:
            said = f"is {scalar_text(enabled.value) or kind(enabled.value)}"
        self.add(
            Severity.ERROR,
            "delete-disabled",
            f"{key} {said}: {why}",
            fix,
            key=key,
            node=enabled.value,
        )

    def check_debug(self) -> None:
        if self.config.debug_addr:
            return
        http = entry_for(self.config.doc.root, "http")
        self.add(
            Severity.INFO,
            "debug-addr-missing",
            "no http.debug.addr: the mirror's own counters (/debug/vars, registry.proxy.*) "
            "cannot be read",
            "add under http: 'debug: {addr: \":5001\"}' and keep that port unpublished",
            key="http.debug.addr",
            node=http.key_node if http else None,
        )

    def run(self) -> list[Finding]:
        if not self.check_structure():
            return self.findings
        self.check_version()
        self.check_keys(self.config.doc.root, self.row.keys, ())
        self.check_proxy()
        self.check_storage()
        self.check_debug()
        return sorted(self.findings, key=_file_order)


def _file_order(finding: Finding) -> tuple[int, int]:
    """File-level findings first, then by line and column."""
    return finding.line or 0, finding.column or 0


def _schema_path(path: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part for part in path if not part.startswith("["))


def _paths_with_key(keys: dict, name: str, prefix: tuple[str, ...] = ()) -> list[str]:
    """Dotted schema paths whose last key is ``name`` (where a misplaced key belongs)."""
    found: list[str] = []
    for key, spec in keys.items():
        if key == name:
            found.append(dotted((*prefix, key)))
        inner = spec
        while isinstance(inner, ListOf | ScalarOr | MapOf):
            inner = (
                inner.item
                if isinstance(inner, ListOf)
                else inner.struct
                if isinstance(inner, ScalarOr)
                else inner.value
            )
        if isinstance(inner, dict):
            found.extend(_paths_with_key(inner, name, (*prefix, key)))
    return found


def _version(registry_version: str | RegistryVersion | None) -> RegistryVersion:
    parsed = parse_version(registry_version if registry_version is not None else DEFAULT_VERSION)
    if parsed is None:
        raise ValueError(
            f"registry version {registry_version!r} is not a version like 2.8.2 or 3.0.0"
        )
    return parsed


def check_config_path(
    mount_target: str,
    registry_version: str | RegistryVersion | None = DEFAULT_VERSION,
    *,
    path: str = "",
    line: int | None = None,
    column: int | None = None,
) -> list[Finding]:
    """A finding when the config is mounted where this image version does not read it."""
    version = _version(registry_version)
    expected = config_path_for(version)
    if mount_target.rstrip("/") == expected:
        return []
    return [
        Finding(
            severity=Severity.ERROR,
            code=f"{CODE}/config-path",
            message=(
                f"the config is mounted at {mount_target} but distribution {version} "
                f"(registry:{version.major}) reads {expected}: the image's built-in config "
                "runs instead, a plain registry without proxy, NOT a mirror"
            ),
            fix=f"mount the config file at {expected}",
            path=path,
            line=line,
            column=column,
            key="config",
        )
    ]


def lint_config(
    config: RegistryConfig,
    *,
    registry_version: str | RegistryVersion | None = DEFAULT_VERSION,
    mount_target: str | None = None,
    expected_remoteurl: str = DOCKER_HUB_REMOTEURL,
) -> list[Finding]:
    """Every finding on a parsed config, in file order.

    ``registry_version``: distribution version the file is for (default 2.8).
    ``mount_target``: where the file is mounted in the container, to check it
    is the path that version reads. ``expected_remoteurl``: the upstream the
    mirror must proxy; anything but Docker Hub only makes sense in a lab.
    """
    version = _version(registry_version)
    findings = _Lint(config, version, expected_remoteurl).run()
    if mount_target is not None:
        findings[:0] = check_config_path(mount_target, version, path=config.path)
    return findings


def lint_config_text(text: str, path: str = "config.yml", **options: object) -> list[Finding]:
    """Lint config text; a YAML syntax error is the one finding returned."""
    try:
        config = load_config(text, path)
    except YamlReadError as err:
        return [err.finding]
    return lint_config(config, **options)  # type: ignore[arg-type]


def lint_config_file(path: str | Path, **options: object) -> list[Finding]:
    """Lint a config file; a missing file or bad YAML is the one finding returned."""
    try:
        config = read_config(path)
    except YamlReadError as err:
        return [err.finding]
    return lint_config(config, **options)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- command line


def lint_deployment(
    config_path: str | Path,
    stack_path: str | Path | None = None,
    *,
    registry_version: str | RegistryVersion | None = None,
    service: str | None = None,
    mount_target: str | None = None,
    expected_remoteurl: str = DOCKER_HUB_REMOTEURL,
) -> list[Finding]:
    """Config lint, plus the stack lint and cross-checks when a stack file is given.

    Without ``registry_version`` the version comes from the stack's image tag,
    else 2.8.
    """
    stack = None
    findings: list[Finding] = []
    if stack_path is not None:
        try:
            stack = read_stack(stack_path, service=service)
        except YamlReadError as err:
            findings.append(err.finding)
    version = parse_version(registry_version) if registry_version else None
    if version is None and stack is not None:
        version = stack.version
    try:
        config = read_config(config_path)
    except YamlReadError as err:
        return [err.finding, *findings]
    findings[:0] = lint_config(
        config,
        registry_version=version or DEFAULT_VERSION,
        mount_target=mount_target,
        expected_remoteurl=expected_remoteurl,
    )
    if stack is not None:
        findings += lint_stack(stack, config, registry_version=version)
    return findings


def _version_arg(text: str) -> RegistryVersion:
    parsed = parse_version(text)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a version like 2.8.2 or 3.0.0")
    return parsed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mirrorcheck.rules.registry.config",
        description="Strict lint of a distribution config.yml used as a Docker Hub mirror.",
    )
    parser.add_argument("config", help="the registry's config.yml")
    parser.add_argument("--stack", help="the swarm stack / compose file that runs the registry")
    parser.add_argument("--service", help="the registry's service in the stack file")
    parser.add_argument(
        "--registry-version",
        type=_version_arg,
        help="distribution version, e.g. 2.8.2 or 3.0.0 (default: the stack's image tag, else 2.8)",
    )
    parser.add_argument(
        "--mount-target", help="where the config is mounted in the container (checked per version)"
    )
    parser.add_argument(
        "--expected-remoteurl",
        default=DOCKER_HUB_REMOTEURL,
        help=f"the upstream the mirror must proxy (default {DOCKER_HUB_REMOTEURL})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Print the findings; 1 when any is an error, 0 otherwise, 2 on usage errors."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    findings = lint_deployment(
        args.config,
        args.stack,
        registry_version=args.registry_version,
        service=args.service,
        mount_target=args.mount_target,
        expected_remoteurl=args.expected_remoteurl,
    )
    if findings:
        print(render_all(findings))
    return 1 if errors(findings) else 0


if __name__ == "__main__":
    sys.exit(main())

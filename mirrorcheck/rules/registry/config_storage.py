"""The storage and debug sections: where the cache lives, whether it expires, its counters.

Usage::

    from mirrorcheck.rules.registry.config_storage import check_debug, check_storage

    findings = check_storage(config, row) + check_debug(config)
"""

from __future__ import annotations

from yaml.nodes import ScalarNode

from mirrorcheck.findings import Finding
from mirrorcheck.rules.registry.catalog import (
    DEBUG_ADDR_MISSING,
    DELETE_DISABLED,
    ROOTDIRECTORY_RELATIVE,
    STORAGE_INMEMORY,
    STORAGE_MISSING,
    STORAGE_MULTIPLE_DRIVERS,
)
from mirrorcheck.rules.registry.config import CONSEQUENCE, RegistryConfig
from mirrorcheck.rules.registry.schema import DEFAULT_ROOTDIRECTORY, SchemaRow
from mirrorcheck.text.yaml_source import Entry, entries, entry_for, is_null, kind, scalar_text


def check_storage(config: RegistryConfig, row: SchemaRow) -> list[Finding]:
    """One persistent driver, an absolute rootdirectory, and deletion on (expiry needs it)."""
    storage = entry_for(config.doc.root, "storage")
    if storage is None or is_null(storage.value):
        return [
            STORAGE_MISSING.finding(
                f"no storage driver: {CONSEQUENCE} ('no storage configuration provided')",
                fix=f"add 'storage:' with 'filesystem: {{rootdirectory: {DEFAULT_ROOTDIRECTORY}}}'",
                key="storage",
                **config.at(storage.key_node if storage else None),
            )
        ]
    findings: list[Finding] = []
    drivers = [e for e in entries(storage.value) if e.key not in row.storage_sections]
    if isinstance(storage.value, ScalarNode):
        names = [storage.value.value]
        where = storage.value
    else:
        names = [e.key for e in drivers]
        where = drivers[1].key_node if len(drivers) > 1 else None
    if not names:
        findings.append(
            STORAGE_MISSING.finding(
                f"storage names no driver, only {', '.join(e.key for e in entries(storage.value))}:"
                f" {CONSEQUENCE}",
                fix=f"add 'filesystem:' with 'rootdirectory: {DEFAULT_ROOTDIRECTORY}' under "
                "storage",
                key="storage",
                **config.at(storage.key_node),
            )
        )
    elif len(names) > 1:
        findings.append(
            STORAGE_MULTIPLE_DRIVERS.finding(
                f"storage names {len(names)} drivers ({', '.join(names)}): {CONSEQUENCE}",
                fix="keep exactly one driver (filesystem for a mirror)",
                key="storage",
                **config.at(where),
            )
        )
    if "inmemory" in names:
        node = (
            storage.value
            if isinstance(storage.value, ScalarNode)
            else next(e.key_node for e in drivers if e.key == "inmemory")
        )
        findings.append(
            STORAGE_INMEMORY.finding(
                "storage.inmemory keeps the cache in the registry's memory: every restart "
                "empties it and the next pull of every image goes to Docker Hub again "
                "(the docs: for testing only)",
                fix=f"use 'filesystem: {{rootdirectory: {DEFAULT_ROOTDIRECTORY}}}' on a "
                "persistent volume",
                key="storage.inmemory",
                **config.at(node),
            )
        )
    root = config.node("storage.filesystem.rootdirectory")
    text = scalar_text(root)
    if text and not text.startswith("/"):
        findings.append(
            ROOTDIRECTORY_RELATIVE.finding(
                f"storage.filesystem.rootdirectory {text!r} is relative to the registry's "
                "working directory, not to a volume",
                fix=f"use an absolute path on a volume, e.g. {DEFAULT_ROOTDIRECTORY}",
                key="storage.filesystem.rootdirectory",
                **config.at(root),
            )
        )
    return findings + _check_delete(config, storage)


def _check_delete(config: RegistryConfig, storage: Entry) -> list[Finding]:
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
        return [
            DELETE_DISABLED.finding(
                f"{key} is not set: {why}", fix=fix, key=key, **config.at(where)
            )
        ]
    value = config.doc.value(enabled.value)
    if value is True:
        return []
    if isinstance(value, str):
        said = f"is the string {value!r}, not a boolean"
        fix = "write 'enabled: true' without quotes"
    else:
        said = f"is {scalar_text(enabled.value) or kind(enabled.value)}"
    return [
        DELETE_DISABLED.finding(
            f"{key} {said}: {why}", fix=fix, key=key, **config.at(enabled.value)
        )
    ]


def check_debug(config: RegistryConfig) -> list[Finding]:
    """An info finding when the debug server (the mirror's own counters) is off."""
    if config.debug_addr:
        return []
    http = entry_for(config.doc.root, "http")
    return [
        DEBUG_ADDR_MISSING.finding(
            "no http.debug.addr: the mirror's own counters (/debug/vars, registry.proxy.*) "
            "cannot be read",
            fix="add under http: 'debug: {addr: \":5001\"}' and keep that port unpublished",
            key="http.debug.addr",
            **config.at(http.key_node if http else None),
        )
    ]

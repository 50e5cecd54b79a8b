"""The config's keys against the schema of its distribution version.

distribution reads its config with non-strict YAML: a mistyped key, a key in
the wrong case (``remoteUrl``) or a key from another version (``proxy.ttl`` on
2.8) is dropped without a word, and the registry starts as something else
than intended. This walk names each such key, each key written twice and
each value of the wrong shape. Keys are compared with the tables in
:mod:`mirrorcheck.rules.registry.schema`.

Usage::

    from mirrorcheck.rules.registry.config_keys import check_keys
    from mirrorcheck.rules.registry.schema import schema_for

    findings = check_keys(config, schema_for(version))   # config: RegistryConfig
"""

from __future__ import annotations

import difflib

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mirrorcheck.findings import Finding
from mirrorcheck.rules.registry.catalog import (
    DUPLICATE_KEY,
    KEY_CASE,
    KEY_NOT_IN_VERSION,
    PROXY_REMOTEURL_CASE,
    PROXY_TTL_UNSUPPORTED,
    STORAGE_UNKNOWN_KEY,
    UNKNOWN_KEY,
    WRONG_TYPE,
)
from mirrorcheck.rules.registry.config import CONSEQUENCE, RegistryConfig
from mirrorcheck.rules.registry.schema import (
    LEAF,
    PLUGIN_SECTIONS,
    ListOf,
    MapOf,
    Open,
    ScalarOr,
    SchemaRow,
    Spec,
    lookup,
    other_schemas,
    unwrap,
)
from mirrorcheck.text.yaml_source import (
    Entry,
    dotted,
    entries,
    entry_for,
    is_null,
    kind,
    position,
)


def check_keys(config: RegistryConfig, row: SchemaRow) -> list[Finding]:
    """Unknown keys, keys in the wrong case or version, duplicates and wrong shapes."""
    findings: list[Finding] = []
    _walk(config, row, config.doc.root, row.keys, (), findings)
    return findings


def _normalised(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _walk(
    config: RegistryConfig,
    row: SchemaRow,
    node: Node | None,
    spec: Spec,
    path: tuple[str, ...],
    out: list[Finding],
) -> None:
    """Walk the file alongside the schema."""
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
            out.append(_wrong_type(config, node, key, "a list"))
            return
        for index, item in enumerate(node.value):
            _walk(config, row, item, spec.item, (*path, f"[{index}]"), out)
        return
    # Below a storage driver or section, values are Go interface{}: yaml.v2 takes
    # any shape there and the driver reads what it knows.
    typed = not (path[:1] == ("storage",) and len(path) > 2)
    if spec == LEAF:
        if typed and not isinstance(node, ScalarNode):
            out.append(_wrong_type(config, node, key, "a single value"))
        return
    if not isinstance(node, MappingNode):
        if typed:
            out.append(_wrong_type(config, node, key, "a mapping of keys"))
        return
    out += _duplicates(config, node, path)
    for entry in entries(node):
        if isinstance(spec, MapOf):
            _walk(config, row, entry.value, spec.value, (*path, entry.key), out)
        elif entry.key in spec:
            _walk(config, row, entry.value, spec[entry.key], (*path, entry.key), out)
        else:
            out.append(_unknown_key(config, row, entry, path, spec))


def _wrong_type(config: RegistryConfig, node: Node, key: str, expected: str) -> Finding:
    return WRONG_TYPE.finding(
        f"{key} must be {expected}, found a {kind(node)}: {CONSEQUENCE}",
        fix=f"write {key} as {expected} (see the reference config)",
        key=key,
        **config.at(node),
    )


def _duplicates(config: RegistryConfig, node: MappingNode, path: tuple[str, ...]) -> list[Finding]:
    found: list[Finding] = []
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
        found.append(
            DUPLICATE_KEY.finding(
                f"{key} is written twice; distribution keeps only this later one and drops "
                f"the one on line {line} without a word",
                fix=f"merge the two {key} blocks into one",
                key=key,
                **config.at(entry.key_node),
            )
        )
    return found


def _unknown_key(
    config: RegistryConfig, row: SchemaRow, entry: Entry, path: tuple[str, ...], spec: dict
) -> Finding:
    key = dotted((*path, entry.key))
    at = config.at(entry.key_node)
    parent = dotted(path) or "the top level"
    same = [name for name in spec if _normalised(name) == _normalised(entry.key)]
    parent_node = config.doc.find(path) if path else config.doc.root
    if path == ("proxy",) and same == ["remoteurl"] and not entry_for(parent_node, "remoteurl"):
        return PROXY_REMOTEURL_CASE.finding(
            f"{key}: distribution reads only the lower-case 'remoteurl' and ignores "
            f"'{entry.key}', so proxy.remoteurl is empty and the registry starts as a "
            "plain registry, NOT a mirror (nodes fall back to Docker Hub silently)",
            fix=f"rename '{entry.key}' to 'remoteurl'",
            key=key,
            **at,
        )
    if path == ("proxy",) and entry.key == "ttl":
        return PROXY_TTL_UNSUPPORTED.finding(
            f"proxy.ttl does not exist in {row.name} and is ignored: cached content "
            "still expires after the built-in 168h",
            key=key,
            **at,
        )
    plugin = PLUGIN_SECTIONS.get(path)
    consequence = (
        f"distribution takes it for {plugin} name and refuses to start"
        if plugin
        else f"{row.name} ignores it without a word"
    )
    rule = STORAGE_UNKNOWN_KEY if path == ("storage",) else UNKNOWN_KEY
    if same:
        present = entry_for(parent_node, same[0])
        fix = (
            f"remove '{entry.key}' ('{same[0]}' is set on line {position(present.key_node)[0]})"
            if present
            else f"rename '{entry.key}' to '{same[0]}'"
        )
        return (rule if plugin else KEY_CASE).finding(
            f"{key}: keys are lower case and '{entry.key}' is not '{same[0]}'; {consequence}",
            fix=fix,
            key=key,
            **at,
        )
    elsewhere = [
        other.name
        for other in other_schemas(row)
        if lookup(other.keys, _schema_path((*path, entry.key))) is not None
    ]
    if elsewhere and plugin:
        return rule.finding(
            f"{key}: {row.name} has no {entry.key!r} (it exists in {' and '.join(elsewhere)}, "
            f"removed since); {consequence}",
            fix=f"move the data to a driver {row.name} has "
            f"({', '.join(sorted(_drivers(row, path)))}), or run the version that has it",
            key=key,
            **at,
        )
    if elsewhere and not plugin:
        return KEY_NOT_IN_VERSION.finding(
            f"{key} exists in {' and '.join(elsewhere)} but not in {row.name}, "
            "which ignores it without a word",
            fix=f"remove {key}, or run the distribution version that has it",
            key=key,
            **at,
        )
    close = difflib.get_close_matches(entry.key, list(spec), n=1, cutoff=0.75) or [
        name
        for name in spec
        if min(len(name), len(entry.key)) >= 4
        and (name.startswith(entry.key) or entry.key.startswith(name))
    ]
    homes = _paths_with_key(row.keys, entry.key)
    if close:
        fix = f"did you mean '{close[0]}'? rename it"
    elif homes:
        fix = f"move it to {' or '.join(homes)}"
    else:
        fix = f"remove it; {parent} knows: {', '.join(sorted(spec)) or 'no keys'}"
    return rule.finding(f"{key} is not a key of {parent}; {consequence}", fix=fix, key=key, **at)


def _drivers(row: SchemaRow, path: tuple[str, ...]) -> list[str]:
    """The plug-in names a section knows in this version (storage sections left out)."""
    spec = unwrap(lookup(row.keys, path) or {})
    names = spec if isinstance(spec, dict) else {}
    return [name for name in names if name not in row.storage_sections]


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

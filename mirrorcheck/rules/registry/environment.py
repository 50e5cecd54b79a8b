"""distribution's ``REGISTRY_*`` environment, applied over the config file as the registry does.

distribution (``configuration/parser.go``, the same at v2.8.2, v3.0.0 and
v3.1.1) reads every environment variable whose name starts with
``REGISTRY_``, in name order, after the file: it splits the name at each
``_`` and walks the parsed config with the parts.

- At a struct, a part must equal the Go field name in upper case
  (``PROXY``, ``REMOTEURL``); any other part, lower or mixed case included,
  is dropped with the log line "Ignoring unrecognized environment variable".
- At a map (``storage``, ``auth``, ``middleware``, a driver's parameters) the
  part names a key: an existing key with that upper case, else the part
  in lower case, added. ``REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY`` sets
  ``storage.filesystem.rootdirectory``; a misspelt driver adds a driver.
- At a list the part is an index (the next free index appends); a part past
  the end, or not a number, makes the registry refuse to start.
- At a scalar with parts left over, the variable is dropped silently.
- The value is YAML (``true``, ``168h``, ``{remoteurl: ...}`` for a section).
- Fields whose YAML name differs from their Go name are reached by the Go
  name (``HEALTH_FILECHECKERS``, not ``HEALTH_FILE``); from 3.1.0 the inline
  ``redis`` options are reached as ``REDIS_ADDRS``, before that not at all.

Usage::

    from mirrorcheck.rules.registry.environment import effective_config, settings_of

    config = effective_config(config, settings_of(stack), version)
    environment_findings(settings_of(stack), version)   # names distribution drops
    config.remoteurl              # the environment's value when it sets one
    config.at(config.node("proxy.remoteurl"))   # the stack file's line of the variable
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import yaml
from yaml.error import Mark, YAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mirrorcheck.findings import Finding
from mirrorcheck.rules.limitations import RegistryVersion, VersionRange, parse_version
from mirrorcheck.rules.registry.catalog import ENV_BREAKS_START, ENV_IGNORED
from mirrorcheck.rules.registry.config import RegistryConfig, load_config
from mirrorcheck.rules.registry.schema import ListOf, MapOf, Open, ScalarOr, Spec, schema_for
from mirrorcheck.text.yaml_source import NULL_TAG, STR_TAG, entries, entry_for

PREFIX = "REGISTRY_"
SOURCE = "distribution/distribution configuration/parser.go (v2.8.2, v3.0.0, v3.1.1)"

# YAML name -> Go field name where they differ (configuration.go v2.8.2 and v3.1.1).
GO_NAMES: Mapping[tuple[str, ...], str] = {
    ("compatibility", "schema1", "signingkeyfile"): "trustkey",
    ("log", "hooks", "options"): "mailoptions",
    ("health", "file"): "filecheckers",
    ("health", "http"): "httpcheckers",
    ("health", "tcp"): "tcpcheckers",
    ("notifications", "events"): "eventconfig",
}
# Sections whose Go type is a map although the schema lists their usual keys.
MAP_SECTIONS = (("storage",), ("auth",))
# 3.0 made ``redis``'s options an inline struct, which the parser reaches into from 3.1.0.
INLINE_UNREACHABLE = {
    ("redis",): VersionRange(parse_version("3.0.0-alpha.1"), parse_version("3.1.0"))
}
INLINE_OWN_KEYS = {("redis",): ("tls",)}


@dataclass(frozen=True)
class EnvSetting:
    """One ``NAME=value`` of the registry's environment and where it is written."""

    name: str
    value: str
    path: str = ""
    line: int | None = None
    column: int | None = None


def settings_of(stack: object) -> list[EnvSetting]:
    """The environment of a :class:`~mirrorcheck.rules.registry.stack.StackInfo`, with places."""
    environment: Mapping[str, str] = getattr(stack, "environment", {}) or {}
    found = []
    for name, value in environment.items():
        line, column = stack.where(f"environment.{name}")  # type: ignore[attr-defined]
        found.append(EnvSetting(name, value or "", stack.path, line, column))  # type: ignore[attr-defined]
    return found


def environment_for_mirror(stack: object) -> dict[str, str]:
    """The stack's environment as the registry container gets it: ``{name: value}``."""
    return {s.name: s.value for s in settings_of(stack)}


@dataclass(frozen=True)
class Resolved:
    """Where a variable lands: the YAML key path (``("proxy", "remoteurl")``), or why not."""

    path: tuple[str, ...] | None
    problem: str = ""
    refuses_start: bool = False


def resolve(
    name: str, version: RegistryVersion | None, config: RegistryConfig | None = None
) -> Resolved:
    """The config key ``name`` sets in ``version``, as distribution's parser finds it.

    >>> resolve("REGISTRY_PROXY_REMOTEURL", None).path
    ('proxy', 'remoteurl')
    >>> resolve("REGISTRY_PROXY_REMOTE_URL", None).problem
    "'REMOTE' names no field of proxy"
    """
    if not name.startswith(PREFIX):
        return Resolved(None, "distribution reads only names that start with REGISTRY_")
    spec: Spec = dict(schema_for(version).keys)
    path: tuple[str, ...] = ()
    node = config.doc.root if config is not None else None
    parts = name.split("_")[1:]
    for index, part in enumerate(parts):
        here = ".".join(p for p in path if not p.isdigit()) or "the top level"
        if isinstance(spec, ScalarOr) or path in MAP_SECTIONS or isinstance(spec, MapOf | Open):
            key = _map_key(node, part)
            inner = spec.struct if isinstance(spec, ScalarOr) else spec
            if isinstance(inner, dict):
                if key not in inner:
                    if path in MAP_SECTIONS:
                        return Resolved(
                            None,
                            f"{key!r} is not a key of {here}, and distribution adds it as one",
                            refuses_start=True,
                        )
                    return Resolved(None, f"{key!r} is not a key of {here}")
                spec = inner[key]
            elif isinstance(inner, MapOf):
                spec = inner.value
        elif isinstance(spec, ListOf):
            if not part.isdigit():
                return Resolved(None, f"{part!r} is not an index of {here}", refuses_start=True)
            key, spec = part, spec.item
        elif isinstance(spec, dict):
            key = _field(spec, path, part, version)
            if key is None:
                hint = ""
                if part != part.upper() and _field(spec, path, part.upper(), version):
                    hint = f" (the parser compares upper case: {part.upper()})"
                return Resolved(None, f"{part!r} names no field of {here}{hint}")
            spec = spec[key]
        else:
            rest = "_".join(parts[index:])
            return Resolved(None, f"{here} is a value: the rest ({rest}) is dropped silently")
        path += (key,)
        node = _child(node, key)
    return Resolved(path)


def _field(
    spec: dict, path: tuple[str, ...], part: str, version: RegistryVersion | None
) -> str | None:
    """The YAML key whose Go field name in upper case is ``part``; ``None`` when none is."""
    plain = tuple(p for p in path if not p.isdigit())
    unreachable = plain in INLINE_UNREACHABLE and version in INLINE_UNREACHABLE[plain]
    for key in spec:
        if unreachable and key not in INLINE_OWN_KEYS[plain]:
            continue
        if GO_NAMES.get((*plain, key), key).upper() == part:
            return key
    return None


def _map_key(node: Node | None, part: str) -> str:
    """An existing key of a map with this upper case, else the part in lower case."""
    for entry in entries(node) if node is not None else []:
        if entry.key.upper() == part:
            return entry.key
    return part.lower()


def _child(node: Node | None, key: str) -> Node | None:
    if isinstance(node, SequenceNode):
        return node.value[int(key)] if key.isdigit() and int(key) < len(node.value) else None
    entry = entry_for(node, key) if isinstance(node, MappingNode) else None
    return entry.value if entry else None


def effective_config(
    config: RegistryConfig,
    settings: list[EnvSetting] | Mapping[str, str],
    registry_version: str | RegistryVersion | None = None,
) -> RegistryConfig:
    """The config distribution runs: a copy of the file with the environment applied.

    ``settings``: :func:`settings_of` a stack, or a plain ``{name: value}``.
    A value set by the environment points at the variable's line in the
    stack file (:meth:`RegistryConfig.at`). Variables distribution drops or
    refuses are left out (:func:`environment_findings` names them). A file
    that is not a mapping is returned as it is: nothing applies over it.
    """
    version = parse_version(registry_version) if registry_version else None
    result = load_config(config.doc.text, config.path)
    if not isinstance(result.doc.root, MappingNode):
        return config
    for setting in sorted(_as_settings(settings), key=lambda s: s.name):
        resolved = resolve(setting.name, version, result)
        mark = _mark(setting)
        value = _value_node(setting, mark)
        if resolved.path is None or value is None:
            continue
        _set(result.doc.root, resolved.path, value, mark)
        # The value and every key or section made for it point at the variable.
        made = (n for n in _subtree(result.doc.root) if n.start_mark is mark)
        result.origins.update({id(n): setting for n in made})
    return result


def environment_findings(
    settings: list[EnvSetting] | Mapping[str, str],
    registry_version: str | RegistryVersion | None = None,
    config: RegistryConfig | None = None,
) -> list[Finding]:
    """One finding per variable distribution drops (ENV_IGNORED) or refuses (ENV_BREAKS_START).

    Names that do not start with ``REGISTRY_`` in any case are not
    distribution's and are left alone. Each finding points at the variable.
    """
    version = parse_version(registry_version) if registry_version else None
    findings: list[Finding] = []
    for setting in sorted(_as_settings(settings), key=lambda s: s.name):
        if not setting.name.upper().startswith(PREFIX):
            continue
        where = {
            "path": setting.path,
            "line": setting.line,
            "column": setting.column,
            "excerpt": setting.name,
            "key": f"environment.{setting.name}",
        }
        resolved = resolve(setting.name, version, config)
        if resolved.path is None and resolved.refuses_start:
            findings.append(
                ENV_BREAKS_START.finding(
                    f"environment {setting.name}: {resolved.problem}; the registry refuses "
                    "to start",
                    fix=ENV_BREAKS_START.fix,
                    **where,
                )
            )
        elif resolved.path is None:
            findings.append(
                ENV_IGNORED.finding(
                    f"environment {setting.name}: {resolved.problem}; distribution ignores "
                    "it, so its value never reaches the registry",
                    fix=ENV_IGNORED.fix,
                    **where,
                )
            )
        elif _value_node(setting) is None:
            findings.append(
                ENV_BREAKS_START.finding(
                    f"environment {setting.name}: its value is not YAML; the registry "
                    "refuses to start",
                    fix="quote the value or write it as YAML",
                    **where,
                )
            )
    return findings


def _as_settings(settings: list[EnvSetting] | Mapping[str, str]) -> list[EnvSetting]:
    if isinstance(settings, Mapping):
        return [EnvSetting(k, v) for k, v in settings.items()]
    return list(settings)


def _mark(setting: EnvSetting) -> Mark:
    return Mark(setting.path, 0, (setting.line or 1) - 1, (setting.column or 1) - 1, None, None)


def _value_node(setting: EnvSetting, mark: Mark | None = None) -> Node | None:
    """The variable's value as a YAML node placed at its line; ``None`` when it is not YAML."""
    try:
        node = yaml.compose(setting.value, Loader=yaml.SafeLoader)
    except YAMLError:
        return None
    mark = mark or _mark(setting)
    if node is None:
        return ScalarNode(NULL_TAG, "", mark, mark)
    for each in _subtree(node):
        each.start_mark = each.end_mark = mark
    return node


def _subtree(node: Node) -> list[Node]:
    found = [node]
    if isinstance(node, MappingNode):
        for key, value in node.value:
            found += _subtree(key) + _subtree(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            found += _subtree(item)
    return found


def _set(root: Node, path: tuple[str, ...], value: Node, mark: Mark) -> None:
    """Put ``value`` at ``path``, making the maps on the way (a bare ``storage: x`` included)."""
    node = root
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, SequenceNode):
            index = int(key)
            if index >= len(node.value):
                node.value.append(ScalarNode(NULL_TAG, "", mark, mark))
            if last:
                node.value[index] = value
                return
            node.value[index] = _container(node.value[index], path[depth + 1], mark)
            node = node.value[index]
            continue
        assert isinstance(node, MappingNode)
        entry = entry_for(node, key)
        child = value if last else _container(entry.value if entry else None, path[depth + 1], mark)
        if entry is not None and not entry.merged:
            index = next(i for i, (k, _) in enumerate(node.value) if k is entry.key_node)
            node.value[index] = (entry.key_node, child)
        else:
            node.value.append((ScalarNode(STR_TAG, key, mark, mark), child))
        node = child


def _container(node: Node | None, next_key: str, mark: Mark) -> Node:
    """The map or list to descend into: ``node`` when it is one, else an empty one."""
    if next_key.isdigit():
        if isinstance(node, SequenceNode):
            return node
        return SequenceNode("tag:yaml.org,2002:seq", [], mark, mark)
    if isinstance(node, MappingNode):
        return node
    pairs = []
    if isinstance(node, ScalarNode) and node.tag != NULL_TAG and node.value:
        # ``storage: inmemory`` is the map {inmemory: {}} to distribution.
        pairs.append((node, ScalarNode(NULL_TAG, "", node.start_mark, node.end_mark)))
    return MappingNode("tag:yaml.org,2002:map", pairs, mark, mark)

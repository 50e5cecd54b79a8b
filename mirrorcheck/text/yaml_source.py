"""YAML read as a node tree that remembers where every key and value was written.

PyYAML's composer keeps the position of each node (``start_mark``), so a
rule can say ``config.yml:21:3`` instead of "somewhere in the file". The
parser is libyaml's (``yaml.CSafeLoader``) where PyYAML was built with it:
several times faster on large files, with the same nodes and positions;
else PyYAML's own. A file that cannot be read, parsed or built into values
becomes one Finding with line, column, the offending line and a fix, carried
by ``YamlReadError``, the only error :func:`load_yaml` raises; the wording of
each cause is :mod:`mirrorcheck.text.yaml_errors`.

Usage::

    from mirrorcheck.text.yaml_source import YamlReadError, load_yaml

    try:
        doc = load_yaml(text, path="config.yml", code_prefix="registry-config",
                        consequence="the registry refuses to start")
    except YamlReadError as err:
        print(err.finding.render())
    else:
        node = doc.find(("proxy", "remoteurl"))
        print(doc.where(node), doc.value(node))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mirrorcheck.findings import Finding, Severity
from mirrorcheck.text.yaml_errors import (
    MAX_DEPTH,
    YamlReadError,
    bad_value,
    excerpt,
    first_non_printable,
    line_col,
    not_text,
    recursive_alias,
    shown,
    syntax_error,
    too_deep,
    window,
)

__all__ = [
    "LIBYAML",
    "MAX_DEPTH",
    "Entry",
    "TooDeep",
    "YamlDocument",
    "YamlReadError",
    "dotted",
    "entries",
    "entry_for",
    "excerpt",
    "is_null",
    "kind",
    "load_yaml",
    "position",
    "read_text",
    "scalar_text",
    "to_python",
]

LIBYAML: bool = bool(getattr(yaml, "__with_libyaml__", False))
"""True when PyYAML was built with libyaml: the fast C parser reads the files."""
_LOADER: type = yaml.CSafeLoader if LIBYAML else yaml.SafeLoader

MERGE_TAG = "tag:yaml.org,2002:merge"
NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Entry:
    """One ``key: value`` pair of a mapping; ``merged`` when it came from ``<<: *anchor``."""

    key: str
    key_node: Node
    value: Node
    merged: bool = False


def position(node: Node) -> tuple[int, int]:
    """1-based (line, column) where ``node`` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def is_null(node: Node | None) -> bool:
    return node is None or (isinstance(node, ScalarNode) and node.tag == NULL_TAG)


def kind(node: Node) -> str:
    """'mapping', 'sequence' or 'scalar', as a message would say it."""
    if isinstance(node, MappingNode):
        return "mapping"
    if isinstance(node, SequenceNode):
        return "sequence"
    return "scalar"


def entries(node: Node) -> list[Entry]:
    """The pairs of a mapping in file order, merge keys expanded (explicit keys win)."""
    if not isinstance(node, MappingNode):
        return []
    explicit: list[Entry] = []
    merged: list[Entry] = []
    for key_node, value_node in node.value:
        if key_node.tag == MERGE_TAG:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                merged.extend(
                    Entry(e.key, e.key_node, e.value, merged=True) for e in entries(source)
                )
            continue
        key = key_node.value if isinstance(key_node, ScalarNode) else str(key_node.value)
        explicit.append(Entry(key, key_node, value_node))
    names = {e.key for e in explicit}
    return explicit + [e for e in merged if e.key not in names]


def entry_for(node: Node | None, key: str) -> Entry | None:
    """The entry the parser keeps for ``key``: the last explicit one (non-strict YAML)."""
    if node is None:
        return None
    found = None
    for entry in entries(node):
        if entry.key == key and (found is None or found.merged or not entry.merged):
            found = entry
    return found


def scalar_text(node: Node | None) -> str | None:
    """The text of a scalar as written (``5000:5000`` stays a string); ``None`` otherwise."""
    if isinstance(node, ScalarNode) and node.tag != NULL_TAG:
        return node.value
    return None


class TooDeep(ValueError):
    """A value nests more than :data:`MAX_DEPTH` mappings and sequences deep, from ``node`` on."""

    def __init__(self, node: Node) -> None:
        super().__init__(f"nested more than {MAX_DEPTH} levels deep")
        self.node = node


class _Builder(SafeConstructor):
    """PyYAML's safe constructor, refusing to nest deeper than MAX_DEPTH (TooDeep)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0

    def construct_object(self, node: Node, deep: bool = False) -> object:
        if isinstance(node, ScalarNode):
            return super().construct_object(node, deep=deep)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise TooDeep(node)
            return super().construct_object(node, deep=deep)
        finally:
            self.depth -= 1

    # PyYAML expands merge keys (<<: *anchor) by rewriting the nodes in place;
    # these work on copies, so the tree keeps the file as written.
    def construct_mapping(self, node: Node, deep: bool = False) -> dict:
        if isinstance(node, MappingNode):
            node = _copy(node)
        return super().construct_mapping(node, deep=deep)

    def flatten_mapping(self, node: MappingNode) -> None:
        node.value = [(k, _copy(v) if k.tag == MERGE_TAG else v) for k, v in node.value]
        super().flatten_mapping(node)


def _copy(node: Node) -> Node:
    """A mapping with its own list of pairs; a sequence of such mappings; else ``node``."""
    if isinstance(node, MappingNode):
        return MappingNode(node.tag, list(node.value), node.start_mark, node.end_mark)
    if isinstance(node, SequenceNode):
        items = [_copy(item) for item in node.value]
        return SequenceNode(node.tag, items, node.start_mark, node.end_mark)
    return node


def to_python(node: Node) -> object:
    """The value PyYAML would construct for ``node`` (YAML 1.1, like Go's yaml.v2).

    Raises what PyYAML's safe constructor raises for a value it cannot build
    (ConstructorError, ValueError...), and TooDeep past MAX_DEPTH levels;
    :func:`load_yaml` has checked every value of the document it returns.
    """
    return _Builder().construct_object(node, deep=True)


@dataclass
class YamlDocument:
    """A parsed YAML file: its root node and the path it came from."""

    path: str
    text: str
    root: Node | None

    def find(self, keys: tuple[str, ...]) -> Node | None:
        """The value node at a key path, or ``None`` when any key is missing."""
        node = self.root
        for key in keys:
            entry = entry_for(node, key)
            if entry is None:
                return None
            node = entry.value
        return node

    def value(self, node: Node | None) -> object:
        return None if node is None else to_python(node)

    def where(self, node: Node | None) -> tuple[int | None, int | None]:
        return position(node) if node is not None else (None, None)

    @cached_property
    def lines(self) -> list[str]:
        """The text's lines, split once however many findings ask for them."""
        return self.text.splitlines()

    def line_text(self, line: int | None, column: int | None = None) -> str:
        """A 1-based line as an excerpt shows it: cut to a window around ``column``."""
        if line is None or not 0 < line <= len(self.lines):
            return ""
        return window(self.lines[line - 1], column)[0]


def dotted(path: tuple[str, ...]) -> str:
    """``("health", "[0]", "uri")`` -> ``health[0].uri``."""
    text = ""
    for part in path:
        if part.startswith("["):
            text += part
        else:
            text += ("." if text else "") + part
    return text


def read_text(path: str | Path, *, code_prefix: str) -> str:
    """The file's text, or YamlReadError naming the file and why it cannot be read.

    Bytes that are not UTF-8 are placed by line and column (of the text before them).
    """
    line = column = None
    try:
        data = Path(path).read_bytes()
        return data.decode("utf-8")
    except FileNotFoundError:
        reason = "does not exist"
        fix = "pass the path of an existing file"
    except IsADirectoryError:
        reason = "is a directory"
        fix = "pass the path of the file, not its directory"
    except UnicodeDecodeError as err:
        before = data[: err.start].decode("utf-8", errors="replace")
        line, column = line_col(before, len(before))
        shown_bytes = data[err.start : err.end].hex(" ")
        reason = f"is not UTF-8 text: byte {shown_bytes} (a binary file, or another encoding?)"
        fix = "give the YAML file itself, saved as UTF-8 text"
    except OSError as err:
        reason = f"cannot be read ({err.strerror})"
        fix = "check the path and its permissions"
    raise YamlReadError(
        Finding(
            severity=Severity.ERROR,
            code=f"{code_prefix}/unreadable",
            message=f"the file {reason}",
            fix=fix,
            path=str(path),
            line=line,
            column=column,
        )
    )


def load_yaml(text: str, *, path: str, code_prefix: str, consequence: str) -> YamlDocument:
    """Parse ``text`` into a node tree whose values can all be built; else YamlReadError.

    ``consequence`` completes the message (``"the registry refuses to start"``).
    What raises: a character YAML refuses (a binary file), a syntax error,
    nesting deeper than :data:`MAX_DEPTH`, an alias inside its own anchor, a
    value YAML cannot build (``!!int x``, an unknown tag, a list as a key). The
    node tree comes from libyaml where PyYAML has it (:data:`LIBYAML`), else
    from PyYAML's own parser; both give the same nodes and positions.
    """
    where = {"path": path, "code_prefix": code_prefix, "consequence": consequence}
    bad = first_non_printable(text)
    if bad is not None:
        raise YamlReadError(not_text(text, bad, **where))
    root = _compose(text, where)
    if root is not None:
        _check_values(text, root, where)
    return YamlDocument(path=path, text=text, root=root)


def _compose(text: str, where: dict[str, str]) -> Node | None:
    loader = _LOADER(text)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        raise YamlReadError(syntax_error(text, err, **where)) from None
    except RecursionError:
        # Only PyYAML's own parser recurses; libyaml stops at 1000 levels with a syntax error.
        mark = loader.get_mark() if hasattr(loader, "get_mark") else None
        raise YamlReadError(too_deep(text, mark, **where)) from None
    except (yaml.YAMLError, ValueError) as err:
        raise YamlReadError(
            Finding(
                severity=Severity.ERROR,
                code=f"{where['code_prefix']}/yaml-syntax",
                message=f"YAML error: {shown(str(err))}; {where['consequence']}",
                fix="save the file as plain UTF-8 YAML",
                path=where["path"],
            )
        ) from None
    finally:
        loader.dispose()


def _check_values(text: str, root: Node, where: dict[str, str]) -> None:
    """YamlReadError at the first node whose value cannot be built, or that nests too deep."""
    try:
        to_python(root)
    except TooDeep as err:
        raise YamlReadError(too_deep(text, err.node.start_mark, **where)) from None
    except RecursionError:
        node, cyclic = _deepest(root)
        make = recursive_alias if cyclic else too_deep
        raise YamlReadError(make(text, node.start_mark, **where)) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid value"
        if "recursive" in problem:
            raise YamlReadError(recursive_alias(text, mark, **where)) from None
        raise YamlReadError(bad_value(text, mark, problem, **where)) from None
    except Exception as err:  # PyYAML's constructors fail in assorted ways on a bad value
        node = _first_unbuildable(root) or root
        problem = str(err)
        if isinstance(node, ScalarNode):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            shown_value = node.value if len(node.value) <= 40 else node.value[:40] + "..."
            problem = f"{tag} cannot hold {shown_value!r}"
        raise YamlReadError(bad_value(text, node.start_mark, problem, **where)) from None


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _deepest(root: Node) -> tuple[Node, bool]:
    """Where the node tree goes deeper than MAX_DEPTH, or into itself (then ``True``).

    Iterative, and each node is measured once, so shared aliases cost nothing.
    """
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            height[key] = 1 + max((height.get(id(c), 0) for c in _children(node)), default=0)
        elif key in on_path:
            return node, True
        elif key not in height and not isinstance(node, ScalarNode):
            on_path.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    node = root
    for _ in range(MAX_DEPTH):
        children = [c for c in _children(node) if not isinstance(c, ScalarNode)]
        if not children:
            break
        node = max(children, key=lambda c: height.get(id(c), 0))
    return node, False


def _first_unbuildable(root: Node) -> Node | None:
    """The first scalar, in file order, whose value cannot be built on its own."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            try:
                to_python(node)
            except Exception:
                return node
        stack.extend(reversed(_children(node)))
    return None

"""YAML read as a node tree that remembers where every key and value was written.

PyYAML's ``compose()`` keeps the position of each node (``start_mark``), so
a rule can say ``config.yml:21:3`` instead of "somewhere in the file". A file
that cannot be read or parsed becomes one Finding with line, column, the
offending line and a fix, carried by ``YamlReadError``.

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
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mirrorcheck.findings import Finding, Severity

MERGE_TAG = "tag:yaml.org,2002:merge"
NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"


class YamlReadError(Exception):
    """The file could not be read or parsed; ``finding`` says where and how to fix it."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.render())
        self.finding = finding


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


def to_python(node: Node) -> object:
    """The value PyYAML would construct for ``node`` (YAML 1.1, like Go's yaml.v2)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


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

    def line_text(self, line: int | None) -> str:
        if line is None:
            return ""
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


def dotted(path: tuple[str, ...]) -> str:
    """``("health", "[0]", "uri")`` -> ``health[0].uri``."""
    text = ""
    for part in path:
        if part.startswith("["):
            text += part
        else:
            text += ("." if text else "") + part
    return text


def excerpt(text: str, line: int | None, column: int | None) -> str:
    """The line with a caret under the column, tabs shown as ``→`` so they can be seen."""
    if line is None:
        return ""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return ""
    row = lines[line - 1].replace("\t", "→")
    if column is None:
        return row
    return f"{row}\n{' ' * (column - 1)}^"


# PyYAML problem text -> what to do about it.
_SYNTAX_FIXES = (
    (
        "'\\t'",
        "indent with spaces: YAML forbids tab characters in indentation",
    ),
    (
        "mapping values are not allowed here",
        "check the indentation of this line against its siblings, and quote values "
        "that contain ': '",
    ),
    (
        "could not find expected ':'",
        "add ': ' after the key, or quote a value that spans lines",
    ),
    (
        "did not find expected key",
        "line the key up with its siblings (same number of spaces)",
    ),
    (
        "expected <block end>",
        "line the key up with its siblings (same number of spaces)",
    ),
    (
        "expected a single document",
        "keep one YAML document in the file (remove the extra '---')",
    ),
    (
        "found undefined alias",
        "define the anchor (&name) before using the alias (*name)",
    ),
)


def _syntax_fix(problem: str) -> str:
    for needle, fix in _SYNTAX_FIXES:
        if needle in problem:
            return fix
    return "fix the YAML syntax at this position"


def _describe(err: yaml.MarkedYAMLError, problem: str) -> str:
    if err.context and err.problem and not err.context.startswith("while"):
        return f"{err.context}, {problem}"
    return problem


def read_text(path: str | Path, *, code_prefix: str) -> str:
    """The file's text, or YamlReadError naming the file and why it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        reason = "does not exist"
        fix = "pass the path of an existing file"
    except IsADirectoryError:
        reason = "is a directory"
        fix = "pass the path of the file, not its directory"
    except UnicodeDecodeError as err:
        reason = f"is not UTF-8 text ({err.reason} at byte {err.start})"
        fix = "save the file as UTF-8"
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
        )
    )


def load_yaml(text: str, *, path: str, code_prefix: str, consequence: str) -> YamlDocument:
    """Parse ``text`` into a node tree; a syntax error raises YamlReadError.

    ``consequence`` completes the message (``"the registry refuses to start"``).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = err.problem or err.context or "invalid YAML"
        both = f"{err.problem or ''} {err.context or ''}"
        if "'\\t'" in problem:
            problem = "a tab character where YAML allows only spaces"
        raise YamlReadError(
            Finding(
                severity=Severity.ERROR,
                code=f"{code_prefix}/yaml-syntax",
                message=f"YAML syntax error: {_describe(err, problem)}; {consequence}",
                fix=_syntax_fix(both),
                path=path,
                line=line,
                column=column,
                excerpt=excerpt(text, line, column),
            )
        ) from None
    except yaml.YAMLError as err:
        raise YamlReadError(
            Finding(
                severity=Severity.ERROR,
                code=f"{code_prefix}/yaml-syntax",
                message=f"YAML error: {err}; {consequence}",
                fix="save the file as plain UTF-8 YAML",
                path=path,
            )
        ) from None
    return YamlDocument(path=path, text=text, root=root)

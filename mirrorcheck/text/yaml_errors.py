"""Why a YAML file could not be read, as one Finding with line, column, excerpt and fix.

:class:`YamlReadError` is the one error the YAML reader
(:func:`mirrorcheck.text.yaml_source.load_yaml`) raises; the functions here
word each cause: a file that is not text, a syntax error, a value YAML cannot
build, nesting deeper than :data:`MAX_DEPTH`.

Usage::

    from mirrorcheck.text.yaml_errors import excerpt, first_non_printable, line_col

    first_non_printable("a: b\\n\\x00")      # 5: the offset of the NUL
    excerpt("a: \\x1b[31m", 1, 4)            # 'a: \\\\x1b[31m\\n   ^': escaped, never raw
"""

from __future__ import annotations

import re

import yaml

from mirrorcheck.findings import Finding, Severity

MAX_DEPTH = 100
"""How deep mappings and sequences may nest (libyaml stops at 1000; no config nests past 10)."""

# What YAML 1.1 allows in a stream (PyYAML's Reader.NON_PRINTABLE), plus U+FFFD:
# the mark a decoder leaves where bytes were not UTF-8.
_NOT_TEXT = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffc\ufeff\U00010000-\U0010ffff]"
)
_YAML_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


class YamlReadError(Exception):
    """The file could not be read or parsed; ``finding`` says where and how to fix it."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.render())
        self.finding = finding


def first_non_printable(text: str) -> int | None:
    """The offset of the first character YAML does not allow (or U+FFFD), else ``None``."""
    match = _NOT_TEXT.search(text)
    return match.start() if match else None


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset``, counting line breaks as YAML does."""
    line, start = 1, 0
    for match in _YAML_BREAK.finditer(text, 0, offset):
        line, start = line + 1, match.end()
    return line, offset - start + 1


def place(text: str, mark: yaml.Mark | None) -> tuple[int | None, int | None]:
    """1-based line and column of a PyYAML or libyaml mark, or of the text's end for one past it.

    libyaml places the end of a file without a final line break on a line after it.
    """
    if mark is None:
        return None, None
    if mark.index >= len(text):
        return line_col(text, len(text))
    return mark.line + 1, mark.column + 1


def shown(text: str) -> str:
    """``text`` with characters a terminal would act on written as escapes (``\\x1b``)."""
    return _NOT_TEXT.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def window(row: str, column: int | None, span: int = 96) -> tuple[str, int]:
    """``row`` cut to ``span`` characters around ``column`` (marked '...'), and the cut's start."""
    if len(row) <= span:
        return row, 0
    cut = max(0, min((column or 1) - 1 - span // 2, len(row) - span))
    return ("..." if cut else "") + row[cut : cut + span] + (
        "..." if cut + span < len(row) else ""
    ), cut


def excerpt(text: str, line: int | None, column: int | None) -> str:
    """The line with a caret under the column, as a terminal may show it.

    Tabs are shown as ``→``, control characters escaped, a long line cut around the column.
    """
    if line is None:
        return ""
    lines = _YAML_BREAK.split(text)
    if not 0 < line <= len(lines):
        return ""
    raw = lines[line - 1]
    row, cut = window(raw, column)
    row = shown(row.replace("\t", "→"))
    if column is None:
        return row
    before = ("..." if cut else "") + shown(raw[cut : column - 1].replace("\t", "→"))
    return f"{row}\n{' ' * len(before)}^"


def _syntax_finding(
    text: str,
    line: int | None,
    column: int | None,
    *,
    path: str,
    code_prefix: str,
    message: str,
    fix: str,
) -> Finding:
    """The one shape of every reason a YAML file cannot be read: ``<prefix>/yaml-syntax``."""
    return Finding(
        severity=Severity.ERROR,
        code=f"{code_prefix}/yaml-syntax",
        message=message,
        fix=fix,
        path=path,
        line=line,
        column=column,
        excerpt=excerpt(text, line, column),
    )


def not_text(text: str, offset: int, *, path: str, code_prefix: str, consequence: str) -> Finding:
    """The file holds a character YAML refuses: binary data, or bytes that were not UTF-8."""
    line, column = line_col(text, offset)
    char = text[offset]
    what = (
        "bytes that are not UTF-8" if char == "\ufffd" else f"the control character {shown(char)}"
    )
    return _syntax_finding(
        text,
        line,
        column,
        path=path,
        code_prefix=code_prefix,
        message=f"not a YAML text file: it holds {what} (a binary file?); {consequence}",
        fix="give the YAML file itself, saved as UTF-8 text",
    )


def too_deep(
    text: str, mark: yaml.Mark | None, *, path: str, code_prefix: str, consequence: str
) -> Finding:
    """Mappings and sequences nest deeper than mirrorcheck reads, from ``mark`` on."""
    line, column = place(text, mark)
    return _syntax_finding(
        text,
        line,
        column,
        path=path,
        code_prefix=code_prefix,
        message=f"mappings and sequences nest more than {MAX_DEPTH} levels deep here: "
        f"mirrorcheck reads no deeper, and no setting nests like this; {consequence}",
        fix="flatten the value: no registry config or stack key nests more than a few levels",
    )


def recursive_alias(
    text: str, mark: yaml.Mark | None, *, path: str, code_prefix: str, consequence: str
) -> Finding:
    """An alias (``*name``) used inside the node its anchor (``&name``) names."""
    line, column = place(text, mark)
    return _syntax_finding(
        text,
        line,
        column,
        path=path,
        code_prefix=code_prefix,
        message=f"this value contains itself through an alias: it has no end; {consequence}",
        fix="use the alias (*name) outside the node that defines its anchor (&name)",
    )


def bad_value(
    text: str,
    mark: yaml.Mark | None,
    problem: str,
    *,
    path: str,
    code_prefix: str,
    consequence: str,
) -> Finding:
    """A value YAML parses but cannot build (``!!int x``, an unknown tag, a list as a key)."""
    line, column = place(text, mark)
    return _syntax_finding(
        text,
        line,
        column,
        path=path,
        code_prefix=code_prefix,
        message=f"YAML cannot build this value: {shown(problem)}; {consequence}",
        fix="write a plain value (drop the !!tag, quote the text, use a plain key)",
    )


# PyYAML problem text -> what to do about it.
_SYNTAX_FIXES = (
    (
        "'\\t'",
        "indent with spaces: YAML forbids tab characters in indentation",
    ),
    (
        "tab character",
        "indent with spaces: YAML forbids tab characters in indentation",
    ),
    (
        "mapping values are not allowed",
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
        "expected '-' indicator",
        "line the list item up with its siblings, or the key with its parent's keys",
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
        "but found another document",
        "keep one YAML document in the file (remove the extra '---')",
    ),
    (
        "found undefined alias",
        "define the anchor (&name) before using the alias (*name)",
    ),
    (
        "maximum nesting depth",
        "flatten the value: no registry config or stack key nests more than a few levels",
    ),
)


def _syntax_fix(problem: str) -> str:
    for needle, fix in _SYNTAX_FIXES:
        if needle in problem:
            return fix
    return "fix the YAML syntax at this position"


def syntax_error(
    text: str, err: yaml.MarkedYAMLError, *, path: str, code_prefix: str, consequence: str
) -> Finding:
    """A scanner, parser or composer error, at its mark, with the fix for its kind."""
    mark = err.problem_mark or err.context_mark
    line, column = place(text, mark)
    problem = err.problem or err.context or "invalid YAML"
    both = f"{err.problem or ''} {err.context or ''}"
    if "'\\t'" in problem or "tab character" in problem:
        problem = "a tab character where YAML allows only spaces"
    elif problem == "found character that cannot start any token" and mark:
        # libyaml's wording leaves the character out; PyYAML's names it.
        char = text[mark.index : mark.index + 1] if mark.index < len(text) else ""
        problem = f"found character {char!r} that cannot start any token"
    if err.context and err.problem and not err.context.startswith("while"):
        problem = f"{err.context}, {problem}"
    return _syntax_finding(
        text,
        line,
        column,
        path=path,
        code_prefix=code_prefix,
        message=f"YAML syntax error: {shown(problem)}; {consequence}",
        fix=_syntax_fix(both),
    )

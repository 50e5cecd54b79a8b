"""A parsed JSON value that knows where each part starts and ends in the text.

The tree :func:`mirrorcheck.text.json_positions.parse_json` returns, the
error it raises, and values described in words for messages.

Usage::

    from mirrorcheck.text.json_tree import describe_value

    describe_value(1.0, "1.0")    # 'the number 1.0 (not a whole number as written)'
    describe_value(["a", 1])      # 'a list of numbers and strings'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class JsonNode:
    """A parsed JSON value with the offsets where it starts and ends in the text."""

    kind: str  # object, array, string, number, true, false, null
    value: Any
    start: int
    end: int
    members: list[JsonMember] = field(default_factory=list)
    items: list[JsonNode] = field(default_factory=list)
    literal: str = ""


@dataclass
class JsonMember:
    """One ``"key": value`` pair of an object, in file order (duplicates included)."""

    key: str
    key_start: int
    value: JsonNode


class JsonSyntaxError(Exception):
    """Where the text stops being JSON, what is wrong and how to fix it.

    ``offset``: where the parser noticed (for a missing comma, the start of
    the next member); ``context_from``: an earlier offset the excerpt should
    show too (the end of the value the comma belongs after); ``go_error``:
    Go's encoding/json wording of the same error, where it names the cause.
    """

    def __init__(
        self,
        offset: int,
        message: str,
        fix: str,
        context_from: int | None = None,
        go_error: str = "",
    ):
        super().__init__(message)
        self.offset = offset
        self.message = message
        self.fix = fix
        self.context_from = context_from
        self.go_error = go_error


class JsonTooDeep(JsonSyntaxError):
    """Objects and lists nest deeper than :data:`MAX_DEPTH` at ``offset``: reading stops there."""


MAX_DEPTH = 100
"""How many objects and lists deep the parser reads (Go's encoding/json reads 10000)."""


@dataclass
class ParsedJson:
    """What :func:`parse_json` found: the value, what follows it, and repeated keys."""

    root: JsonNode | None  # None: the text is empty or only whitespace
    trailing: int | None  # offset of the first non-blank character after the value
    duplicates: list[tuple[JsonMember, JsonMember]]  # (the repeat, the member before it)


def describe_value(value: Any, literal: str = "") -> str:
    """A parsed value in words, for messages: ``the number 1.0 (not a whole number ...)``.

    ``literal`` is the number as written (:attr:`JsonNode.literal`), so 1.0 is not shown as 1.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the number {literal or value} (not a whole number as written)"
    if isinstance(value, str):
        return f"a string ({value!r})" if len(value) <= 60 else "a string"
    if isinstance(value, list):
        kinds = sorted({_KIND_NAMES[type(v)] for v in value})
        return "an empty list" if not value else f"a list of {' and '.join(kinds)}"
    return "an object"


_KIND_NAMES = {
    str: "strings",
    int: "numbers",
    float: "numbers",
    bool: "booleans",
    dict: "objects",
    list: "lists",
    type(None): "nulls",
}

"""JSON read with positions: every value knows where it starts and ends in the text.

The parser follows RFC 8259 as Go's encoding/json reads it, and stops at the
first error with a message that names the cause and the fix (a missing comma,
a trailing comma, a comment, single quotes, ``True``...). Duplicate keys are
kept in file order and listed, not silently merged. It knows nothing of
Docker: :mod:`mirrorcheck.rules.daemon_json.reader` puts it to work on daemon.json.
The grammar is :mod:`mirrorcheck.text.json_parser`, the tree
:mod:`mirrorcheck.text.json_tree`, lines and columns :mod:`mirrorcheck.text.positions`.

Usage::

    from mirrorcheck.text.json_positions import JsonSyntaxError, Positions, parse_json

    text = '{"debug": true,\\n "debug": false}'
    positions = Positions(text)
    try:
        parsed = parse_json(text, positions)
    except JsonSyntaxError as error:
        print(positions.line_col(error.offset), error.message, error.fix)
        print(positions.excerpt(error.offset, error.context_from))
    else:
        parsed.root.value                  # {'debug': False}: the last value wins
        repeat, earlier = parsed.duplicates[0]
        positions.line_col(repeat.key_start)   # (2, 2)
        parsed.trailing                    # offset of text after the value, or None

Offsets are indexes into the text (characters); lines and columns are
1-based and count characters, so a tab is one column.
"""

from __future__ import annotations

from mirrorcheck.text.json_parser import JsonParser
from mirrorcheck.text.json_tree import (
    MAX_DEPTH,
    JsonMember,
    JsonNode,
    JsonSyntaxError,
    JsonTooDeep,
    ParsedJson,
    describe_value,
)
from mirrorcheck.text.positions import Positions

__all__ = [
    "MAX_DEPTH",
    "JsonMember",
    "JsonNode",
    "JsonSyntaxError",
    "JsonTooDeep",
    "ParsedJson",
    "Positions",
    "describe_value",
    "parse_json",
]


def parse_json(text: str, positions: Positions | None = None) -> ParsedJson:
    """Parse one JSON value; raise :class:`JsonSyntaxError` at the first error.

    Objects and lists nested more than :data:`MAX_DEPTH` deep raise
    :class:`JsonTooDeep` (a JsonSyntaxError) where the next level opens.

    ``positions`` (of the same text) words places in messages as line:column;
    pass the one used for excerpts to share its line table.
    """
    parser = JsonParser(text, positions or Positions(text))
    root, trailing = parser.document()
    return ParsedJson(root, trailing, parser.duplicates)

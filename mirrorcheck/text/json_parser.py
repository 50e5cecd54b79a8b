"""The JSON grammar of RFC 8259 as Go's encoding/json reads it, with positions and kind errors.

:func:`mirrorcheck.text.json_positions.parse_json` is the way in; this module
holds the recursive-descent parser and the wording of each syntax error
(what is wrong, where, and the fix).

Usage::

    from mirrorcheck.text.json_parser import JsonParser
    from mirrorcheck.text.positions import Positions

    parser = JsonParser('{"a": 1}', Positions('{"a": 1}'))
    root, trailing = parser.document()     # JsonNode('object', ...), None
    parser.duplicates                      # []
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mirrorcheck.text.json_tree import (
    MAX_DEPTH,
    JsonMember,
    JsonNode,
    JsonSyntaxError,
    JsonTooDeep,
)
from mirrorcheck.text.positions import Positions

_WS = " \t\n\r"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_PLAIN_STRING = re.compile(r'[^"\\\x00-\x1f]*')
_BAREWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/+\-]*")
_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_VALUE_START = set('{["-0123456789tfn')


class JsonParser:
    """RFC 8259 JSON, as Go's encoding/json reads it, with positions and kind errors."""

    def __init__(self, text: str, positions: Positions):
        self.text = text
        self.pos = 0
        self.where = positions
        self.duplicates: list[tuple[JsonMember, JsonMember]] = []
        self.depth = 0

    # -- helpers
    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _skip_ws(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            c = text[self.pos]
            if c in _WS:
                self.pos += 1
            elif c == "/" and text[self.pos + 1 : self.pos + 2] in ("/", "*"):
                raise JsonSyntaxError(
                    self.pos,
                    "comments are not allowed in JSON",
                    "remove the comment; JSON has no comments",
                    go_error="invalid character '/'",
                )
            else:
                return

    def _at(self, offset: int) -> str:
        line, col = self.where.line_col(offset)
        return f"{line}:{col}"

    # -- grammar
    def document(self) -> tuple[JsonNode | None, int | None]:
        """The top-level value and the offset of anything after it."""
        self._skip_ws()
        if self.pos >= len(self.text):
            return None, None
        node = self._value()
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1
        return node, (self.pos if self.pos < len(self.text) else None)

    def _value(self) -> JsonNode:
        self._skip_ws()
        c = self._peek()
        if c and c in "{[":
            return self._nested(self._object if c == "{" else self._array)
        if c == '"':
            start = self.pos
            text = self._string()
            return JsonNode("string", text, start, self.pos)
        if c == "-" or c.isdigit():
            return self._number()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                start = self.pos
                self.pos += len(word)
                if self.pos < len(self.text) and (
                    self.text[self.pos].isalnum() or self.text[self.pos] == "_"
                ):
                    break
                return JsonNode(word, value, start, self.pos)
        raise self._not_a_value()

    def _nested(self, parse: Callable[[], JsonNode]) -> JsonNode:
        """An object or a list, one level deeper; JsonTooDeep past MAX_DEPTH levels."""
        if self.depth >= MAX_DEPTH:
            raise JsonTooDeep(
                self.pos,
                f"objects and lists nest more than {MAX_DEPTH} levels deep here",
                "flatten the value: no daemon.json setting nests more than a few levels",
            )
        self.depth += 1
        try:
            return parse()
        finally:
            self.depth -= 1

    def _not_a_value(self) -> JsonSyntaxError:
        c = self._peek()
        if not c:
            return JsonSyntaxError(
                self.pos, "unexpected end of file: a value is missing", "complete the value"
            )
        if c == "'":
            return JsonSyntaxError(
                self.pos,
                "single quotes are not JSON: strings need double quotes",
                "replace ' with \"",
            )
        match = _BAREWORD.match(self.text, self.pos)
        if match:
            word = match.group(0)
            lower = {
                "true": "true",
                "false": "false",
                "none": "null",
                "null": "null",
                "nil": "null",
            }
            if word.lower() in lower:
                good = lower[word.lower()]
                return JsonSyntaxError(
                    self.pos,
                    f"{word} is not a JSON value: JSON writes {good} in lower case",
                    f"write {good}",
                )
            return JsonSyntaxError(
                self.pos,
                f"unquoted text {word!r}: JSON strings need double quotes",
                f'write "{word}"',
            )
        if c in ",}]":
            return JsonSyntaxError(
                self.pos, f"a value is missing before {c!r}", "write the value, or remove the key"
            )
        return JsonSyntaxError(
            self.pos, f"unexpected character {c!r} where a value should start", "remove it"
        )

    def _string(self) -> str:
        start = self.pos
        self.pos += 1
        parts: list[str] = []
        text = self.text
        while True:
            match = _PLAIN_STRING.match(text, self.pos)
            parts.append(match.group(0))
            self.pos = match.end()
            if self.pos >= len(text):
                raise JsonSyntaxError(
                    start,
                    "this string is never closed: the file ends inside it",
                    "add the closing '\"'",
                )
            c = text[self.pos]
            if c == '"':
                self.pos += 1
                return "".join(parts)
            if c == "\\":
                parts.append(self._escape())
                continue
            where = "a line break" if c in "\r\n" else f"control character {c!r}"
            raise JsonSyntaxError(
                self.pos,
                f"{where} inside the string that starts at {self._at(start)}",
                "close the string with '\"' before the end of the line, or write \\n",
                go_error="invalid character in string literal",
            )

    def _escape(self) -> str:
        start = self.pos
        c = self.text[self.pos + 1 : self.pos + 2]
        if c in _ESCAPES:
            self.pos += 2
            return _ESCAPES[c]
        if c == "u":
            code = self._hex4(self.pos + 2)
            self.pos += 6
            if 0xD800 <= code < 0xDC00 and self.text.startswith("\\u", self.pos):
                low = self._hex4(self.pos + 2)
                if 0xDC00 <= low < 0xE000:
                    self.pos += 6
                    return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
            # Go's decoder turns a lone surrogate into U+FFFD; so do we.
            return "\ufffd" if 0xD800 <= code < 0xE000 else chr(code)
        raise JsonSyntaxError(
            start,
            f"invalid escape '\\{c}' in a string",
            'write \\\\ for a backslash (JSON escapes: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)',
        )

    def _hex4(self, at: int) -> int:
        digits = self.text[at : at + 4]
        if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
            raise JsonSyntaxError(
                at - 2,
                "invalid \\u escape: it needs four hex digits",
                "write \\u followed by 4 hex digits",
            )
        return int(digits, 16)

    def _number(self) -> JsonNode:
        start = self.pos
        match = _NUMBER.match(self.text, self.pos)
        end = match.end() if match else start
        after = self.text[end : end + 1]
        if not match or end == start or (after and (after.isalnum() or after in ".+-_")):
            word = re.match(r"[-+.0-9A-Za-z_]+", self.text[start:])
            shown = word.group(0) if word else self.text[start : start + 1]
            raise JsonSyntaxError(
                start,
                f"invalid number {shown!r} (JSON numbers: no leading zeros, no '+', no hex)",
                "write a plain decimal number, or quote it if it is text",
            )
        self.pos = end
        literal = match.group(0)
        value: int | float = float(literal) if match.group(1) or match.group(2) else int(literal)
        return JsonNode("number", value, start, end, literal=literal)

    def _object(self) -> JsonNode:
        start = self.pos
        self.pos += 1
        node = JsonNode("object", {}, start, start)
        seen: dict[str, JsonMember] = {}
        last_comma: int | None = None
        self._skip_ws()
        if self._peek() == "}":
            self.pos += 1
            node.end = self.pos
            return node
        while True:
            self._skip_ws()
            key_start = self.pos
            c = self._peek()
            if c != '"':
                raise self._bad_key(start, last_comma)
            key = self._string()
            self._skip_ws()
            if self._peek() != ":":
                if not self._peek():
                    raise self._unclosed(start, "{", "}")
                raise JsonSyntaxError(
                    self.pos,
                    f"missing ':' after the key {key!r}",
                    f'write "{key}": followed by the value',
                )
            self.pos += 1
            value = self._value()
            member = JsonMember(key, key_start, value)
            if key in seen:
                self.duplicates.append((member, seen[key]))
            seen[key] = member
            node.members.append(member)
            node.value[key] = value.value
            self._skip_ws()
            c = self._peek()
            if c == ",":
                last_comma = self.pos
                self.pos += 1
                continue
            if c == "}":
                self.pos += 1
                node.end = self.pos
                return node
            if not c:
                raise self._unclosed(start, "{", "}")
            raise self._missing_comma_in_object(member)

    def _bad_key(self, start: int, last_comma: int | None) -> JsonSyntaxError:
        c = self._peek()
        if c == "}" and last_comma is not None:
            return self._trailing_comma(last_comma, "}", "member")
        if not c:
            return self._unclosed(start, "{", "}")
        if c == "'":
            return JsonSyntaxError(
                self.pos, "keys need double quotes, not single quotes", "replace ' with \""
            )
        match = _BARE_KEY.match(self.text, self.pos)
        if match:
            return JsonSyntaxError(
                self.pos,
                f"the key {match.group(0)} needs double quotes",
                f'write "{match.group(0)}"',
            )
        return JsonSyntaxError(
            self.pos, f"expected a key in double quotes, found {c!r}", 'write the key as "key"'
        )

    def _missing_comma_in_object(self, previous: JsonMember) -> JsonSyntaxError:
        end = previous.value.end
        after = f"the value of {previous.key!r}, which ends at {self._at(end)}"
        if self._peek() == '"':
            following = re.match(r'"((?:[^"\\\n]|\\.)*)"', self.text[self.pos :])
            name = repr(following.group(1)) if following else "the next key"
            return JsonSyntaxError(
                self.pos,
                f"missing ',' before the key {name}",
                f"add ',' after {after}",
                context_from=end,
                go_error="invalid character '\"' after object key:value pair",
            )
        return JsonSyntaxError(
            self.pos,
            f"expected ',' or '}}' after {after}, found {self._peek()!r}",
            "add ',' between members, or '}' to close the object",
            context_from=end,
        )

    def _array(self) -> JsonNode:
        start = self.pos
        self.pos += 1
        node = JsonNode("array", [], start, start)
        self._skip_ws()
        if self._peek() == "]":
            self.pos += 1
            node.end = self.pos
            return node
        while True:
            item = self._value()
            node.items.append(item)
            node.value.append(item.value)
            self._skip_ws()
            c = self._peek()
            if c == ",":
                comma = self.pos
                self.pos += 1
                self._skip_ws()
                if self._peek() == "]":
                    raise self._trailing_comma(comma, "]", "item")
                continue
            if c == "]":
                self.pos += 1
                node.end = self.pos
                return node
            if not c:
                raise self._unclosed(start, "[", "]")
            if c in _VALUE_START or c == '"':
                raise JsonSyntaxError(
                    self.pos,
                    "missing ',' between two list items",
                    f"add ',' after the item that ends at {self._at(item.end)}",
                    context_from=item.end,
                )
            raise JsonSyntaxError(
                self.pos,
                f"expected ',' or ']' in the list that starts at {self._at(start)}, found {c!r}",
                "add ',' between items, or ']' to close the list",
            )

    def _trailing_comma(self, comma: int, closing: str, what: str) -> JsonSyntaxError:
        return JsonSyntaxError(
            comma,
            f"trailing comma before {closing!r}: JSON allows no comma after the last {what}",
            f"remove the ',' at {self._at(comma)}",
        )

    def _unclosed(self, start: int, opening: str, closing: str) -> JsonSyntaxError:
        return JsonSyntaxError(
            len(self.text.rstrip(_WS)),
            f"the file ends inside the {'object' if opening == '{' else 'list'} "
            f"opened with {opening!r} at {self._at(start)}",
            f"add the missing {closing!r}",
        )

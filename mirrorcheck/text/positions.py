"""Character offsets in a text as 1-based lines and columns, and excerpts with a caret.

Usage::

    from mirrorcheck.text.positions import Positions

    positions = Positions('{"debug": true,\\n "debug": false}')
    positions.line_col(17)        # (2, 2)
    print(positions.excerpt(17))
    # 2 |  "debug": false}
    #   |  ^

Lines end at ``\\n``, ``\\r\\n`` or ``\\r``; columns count characters, so a
tab is one column.
"""

from __future__ import annotations

import bisect
import re


class Positions:
    """Offsets to 1-based line and column (in characters), and excerpts with a caret."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\n|\r", text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of ``offset``."""
        index = bisect.bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1

    def offset(self, line: int, column: int) -> int:
        """The offset of a 1-based line and column: :meth:`line_col` backwards."""
        return self.starts[line - 1] + column - 1

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line break."""
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def excerpt(self, offset: int, context_from: int | None = None, span: int = 96) -> str:
        """The line of ``offset`` (after the line of ``context_from``) with a caret under it.

        Long lines are cut to ``span`` characters around the column, marked with '...'.
        """
        line, col = self.line_col(offset)
        first = self.line_col(context_from)[0] if context_from is not None else line
        first = max(first, line - 2)
        width = len(str(line))
        text = self.line_text(line)
        cut = max(0, min(col - 1 - span // 2, len(text) - span)) if len(text) > span else 0

        def shown(row: str) -> str:
            if len(row) <= span and not cut:
                return row
            part = row[cut : cut + span]
            return ("..." if cut else "") + part + ("..." if cut + span < len(row) else "")

        rows = [f"{n:>{width}} | {shown(self.line_text(n))}" for n in range(first, line + 1)]
        # Keep tabs so the caret lines up under tab-indented text.
        pad = "".join(ch if ch == "\t" else " " for ch in text[cut : col - 1])
        rows.append(f"{'':>{width}} | {'   ' if cut else ''}{pad}^")
        return "\n".join(rows)

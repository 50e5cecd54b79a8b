"""The guide's placeholder for the mirror's name, said and filled the same way by every linter.

The reference guide writes ``<your registry mirror FQDN>`` (daemon.json) and
``<your mirror FQDN>`` (the stack's Traefik rule) where the mirror's host
name belongs. A file that still holds one is a template: each linter reports
it as one finding with :data:`FIX`; given ``--mirror-fqdn HOST`` the linters
fill it in first (:func:`fill`), as the suites and the lab do.

Usage::

    from mirrorcheck.rules.placeholder import FIX, fill, first_placeholder, message

    fill('Host(`<your mirror FQDN>`)', "mirror.example.com")   # 'Host(`mirror.example.com`)'
    first_placeholder("a\\nrule=Host(`<your mirror FQDN>`)")    # Spot(line=2, column=12, ...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import AnyStr

FQDN_PLACEHOLDERS = ("<your registry mirror FQDN>", "<your mirror FQDN>")
"""The guide's words for the mirror's host name: daemon.json's, then the stack file's."""

_GUIDE = re.compile(r"<your [^<>\n]*FQDN>")
_GUIDE_BYTES = re.compile(rb"<your [^<>\n]*FQDN>")
ANY = re.compile(r"<[^<>\n]+>")
"""Any ``<...>`` placeholder (a label value or a URL holds no ``<`` otherwise)."""

FIX = (
    "fill in the mirror FQDN (the host of the nodes' registry-mirrors URL), or pass "
    "--mirror-fqdn HOST to fill it in as the suites do"
)


@dataclass(frozen=True)
class Spot:
    """The first placeholder of a text: where (1-based line and column), which, and how many."""

    line: int
    column: int
    text: str
    count: int


def fill(text: AnyStr, fqdn: str) -> AnyStr:
    """``text`` (or bytes) with the guide's placeholders for the mirror's name made ``fqdn``."""
    if isinstance(text, bytes):
        return _GUIDE_BYTES.sub(fqdn.encode(), text)
    return _GUIDE.sub(fqdn, text)


def first_placeholder(text: str, pattern: re.Pattern[str] = ANY) -> Spot | None:
    """Where ``text`` first holds a placeholder, and how many it holds; None when none."""
    found = list(pattern.finditer(text))
    if not found:
        return None
    start = found[0].start()
    line_start = text.rfind("\n", 0, start) + 1
    line = text.count("\n", 0, start) + 1
    return Spot(line, start - line_start + 1, found[0].group(), len(found))


def message(what: str, placeholder: str, count: int = 1) -> str:
    """The finding's message: ``what`` (e.g. ``the mirror '...'``) still holds ``placeholder``."""
    more = f" (and {count - 1} more)" if count > 1 else ""
    return (
        f"{what} still holds the placeholder {placeholder!r}{more} where the mirror's FQDN "
        "belongs: the file is a template, not yet a deployment"
    )

"""Secrets taken out of text before it leaves the program: terminal, junit, summary, html, lint.

What counts as a secret:

- the userinfo of a URL that carries a password: ``scheme://user:pass@host``
  becomes ``scheme://***@host`` (the user goes too: a token is often written
  as the user). A user alone (``ssh://admin@node1``) authenticates nothing and
  names the account a node is reached as, so it stays;
- the value of a key named like a credential (``password``, ``passwd``,
  ``pass``, ``token``, ``secret``, ``auth``/``authorization``, ``credential``,
  ``api_key``, ``private_key``; any case, any prefix or suffix such as
  ``REGISTRY_PROXY_PASSWORD``; not ``passed``, ``author``,
  ``WWW-Authenticate``): YAML block ``Password: x``, YAML flow
  ``{password: x}``, JSON ``"password": "x"``, environment
  ``REGISTRY_PROXY_PASSWORD=x``. The key stays, the value becomes ``***``.
  A word in a path is no key: ``/etc/passwd: is a file`` is kept;
- every literal of ``known`` secrets (found in the inputs by
  :func:`secrets_in_text` and :func:`url_secret`), wherever it appears, also
  percent-encoded. Literals shorter than ``MIN_SECRET_LENGTH`` are left to
  the two rules above: replacing every ``pw`` in a report would garble it.

Usage::

    from mirrorcheck.text.redact import Redactor, secrets_in_text

    redactor = Redactor(secrets_in_text(open("config.yml").read()))
    redactor.text("--mirror-url https://u:hunter22@mirror.example.com")
    # '--mirror-url https://***@mirror.example.com'
    redactor.text("proxy: {remoteurl: x, password: hunter22}")
    # 'proxy: {remoteurl: x, password: ***}'
    redactor.value({"message": "token=abc123"})      # {'message': 'token=***'}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote

MASK = "***"
MIN_SECRET_LENGTH = 4
# Secrets are looked for in this much of a file; the rest is redacted by form only.
SECRET_SCAN_BYTES = 16 * 1024 * 1024

_CORE = (
    r"(?:passw(?:or)?d|pass(?![a-z])|token|secret|credential|api[_-]?key|private[_-]?key"
    r"|auth(?!or(?!iz)|entic))"
)
_KEY = r"[\w.-]*" + _CORE + r"[\w.-]*"
_QUOTED = r"\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'"
_WORD = r"[^\s,{}\[\]\"'#][^\s,}\]\"'#]*"
_SPACED = _WORD + r"(?:[ \t]+" + _WORD + r")*"
# key, then ': ' (YAML, Python reprs) or '":' (JSON): the value may hold spaces up to the
# line's end; or '=' (environment, command lines): one word.
# A key starts after neither a word character nor a path separator: the ``passwd`` of
# ``/etc/passwd: is a file`` is a file's name, not a key.
_KEY_VALUE = re.compile(
    rf"(?P<key>(?<![\w.\-/\\])[\"']?{_KEY}[\"']?)"
    rf"(?:(?P<sep>[ \t]*:(?=[ \t\"'])[ \t]*)(?P<value>{_QUOTED}|{_SPACED})"
    rf"|(?P<eq>[ \t]*=[ \t]*)(?P<word>{_QUOTED}|{_WORD}))",
    re.IGNORECASE,
)
# The key-value scan runs only on the lines holding one of these (lower case): a fast first look.
_HINTS = ("pass", "token", "secret", "credential", "auth", "api", "private")
_URL_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s\"'<>?#:]*:[^/\s\"'<>?#]*)@"
)


def _mask_quoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[0] + MASK + value[0]
    return MASK


def _mask_match(match: re.Match[str]) -> str:
    if match.group("eq") is not None:
        return match.group("key") + match.group("eq") + _mask_quoted(match.group("word"))
    return match.group("key") + match.group("sep") + _mask_quoted(match.group("value"))


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _hinted_lines(text: str, hints: tuple[str, ...] = _HINTS) -> list[tuple[int, int]]:
    """(start, end) of each line of ``text`` that holds one of ``hints``, in order."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters lower-case to two: positions would shift
        return [(0, len(text))]
    spans = set()
    for hint in hints:
        found = lowered.find(hint)
        while found != -1:
            end = text.find("\n", found)
            end = len(text) if end == -1 else end
            spans.add((text.rfind("\n", 0, found) + 1, end))
            found = lowered.find(hint, end)
    return sorted(spans)


def _matches(pattern: re.Pattern[str], text: str, hints: tuple[str, ...]) -> list[re.Match[str]]:
    """``pattern``'s matches in the lines of ``text`` that hold a hint (none span lines)."""
    return [
        m for start, end in _hinted_lines(text, hints) for m in pattern.finditer(text, start, end)
    ]


def _substituted(
    text: str, matches: list[re.Match[str]], mask: Callable[[re.Match[str]], str]
) -> str:
    pieces, done = [], 0
    for match in matches:
        pieces += [text[done : match.start()], mask(match)]
        done = match.end()
    return "".join(pieces) + text[done:]


def url_secret(text: str) -> list[str]:
    """The passwords in the URLs of ``text`` (``scheme://user:password@host``)."""
    found = []
    for match in _matches(_URL_USERINFO, text, ("@",)):
        password = match.group("userinfo").partition(":")[2]
        if password:
            found.append(password)
    return found


def secrets_in_text(text: str) -> set[str]:
    """The literal secrets ``text`` holds: credential-like keys' values and URL passwords.

    Feed it each input file (registry config, stack file, daemon.json) and
    each option value; give the result to ``Redactor(known=...)``.
    """
    found = set(url_secret(text))
    for match in _matches(_KEY_VALUE, text, _HINTS):
        value = _unquote(match.group("value") or match.group("word")).strip()
        if value and value != MASK:
            found.add(value)
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH and MASK not in s}


def secrets_in_file(path: str | Path | None) -> set[str]:
    """``secrets_in_text`` of a file's first ``SECRET_SCAN_BYTES`` (none when unreadable)."""
    if not path:
        return set()
    try:
        with Path(path).open("rb") as file:
            head = file.read(SECRET_SCAN_BYTES)
    except (OSError, ValueError):
        return set()
    return secrets_in_text(head.decode("utf-8", "replace"))


class Redactor:
    """Takes secrets out of text, and out of JSON-like data (dicts, lists, tuples, strings)."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        literals: set[str] = set()
        for secret in known:
            if len(secret) >= MIN_SECRET_LENGTH:
                literals.update({secret, quote(secret, safe="")})
        # Longest first, so a secret containing another is replaced whole.
        ordered = sorted(literals, key=len, reverse=True)
        self._known = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def text(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        if not text:
            return text
        text = _substituted(
            text, _matches(_URL_USERINFO, text, ("@",)), lambda m: m.group("scheme") + MASK + "@"
        )
        text = _substituted(text, _matches(_KEY_VALUE, text, _HINTS), _mask_match)
        if self._known is not None:
            text = self._known.sub(MASK, text)
        return text

    def value(self, value: object) -> object:
        """``value`` with every string in it redacted (keys of dicts too); other types kept."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.value(v) for v in value)
        return value


_NOT_PLAIN = re.compile(r"[^\n\t -~]")  # anything but newline, tab and printable ASCII


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), newlines and tabs kept.

    For echoing bytes of a file that may be binary: no escape sequence reaches the terminal.
    Printable non-ASCII letters stay as they are.
    """
    return _NOT_PLAIN.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return char if char.isprintable() else ascii(char)[1:-1]

"""URLs split the way Go's ``url.Parse`` splits them, which is not how Python's urllib does.

dockerd validates ``registry-mirrors`` entries with Go's net/url, which
accepts and refuses other strings than :func:`urllib.parse.urlsplit`: a
bare trailing ``?`` or ``#`` is kept, a scheme is lower-cased but remembered
as written, control characters and bad percent escapes are refused. Only the
parts dockerd's ValidateMirror looks at are modelled.

Usage::

    from mirrorcheck.text.go_url import GoURL, parse_go_url

    url = parse_go_url("HTTPS://user@mirror.example.com:5000/v2?")
    url.scheme, url.raw_scheme, url.host    # ('https', 'HTTPS', 'mirror.example.com:5000')
    url.userinfo, url.path, url.force_query   # ('user', '/v2', True)
    parse_go_url("https://mirror example.com")  # "invalid character ' ' in host name"

Source: golang/go ``src/net/url/url.go`` (Parse, parse, getScheme,
parseAuthority, parseHost, validUserinfo, unescape).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GoURL:
    """The parts of a URL as Go's ``url.URL`` holds them."""

    scheme: str  # lower-cased, as url.Parse does
    raw_scheme: str
    opaque: str
    userinfo: str | None
    host: str  # host[:port] as written (url.URL.Host)
    path: str
    raw_query: str
    force_query: bool
    fragment: str | None


_HOST_OK = re.compile(r"[A-Za-z0-9\-_.~!$&'()*+,;=:\[\]<>\"%\x80-\U0010ffff]*")
_USERINFO_OK = re.compile(r"[A-Za-z0-9\-._:~!$&'()*+,;=%@\x80-\U0010ffff]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def parse_go_url(raw: str) -> GoURL | str:
    """Go's url.Parse of ``raw``: the parts, or Go's reason for refusing it as a string."""
    rest, hash_sign, fragment = raw.partition("#")
    if hash_sign and _BAD_ESCAPE.search(fragment):
        return "invalid URL escape in the fragment"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in rest):
        return "invalid control character in URL"
    scheme, after = "", rest
    for i, c in enumerate(rest):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                break
            continue
        if c == ":":
            if i == 0:
                return "missing protocol scheme"
            scheme, after = rest[:i], rest[i + 1 :]
        break
    raw_query, force_query = "", False
    if after.endswith("?") and after.count("?") == 1:
        force_query, after = True, after[:-1]
    else:
        after, _, raw_query = after.partition("?")
    fragment_value = fragment if hash_sign else None
    if not after.startswith("/"):
        if scheme:
            return GoURL(
                scheme.lower(), scheme, after, None, "", "", raw_query, force_query, fragment_value
            )
        if ":" in after.split("/", 1)[0]:
            return "first path segment in URL cannot contain colon"
    userinfo, host = None, ""
    if (scheme or not after.startswith("///")) and after.startswith("//"):
        authority, slash, tail = after[2:].partition("/")
        after = slash + tail
        at = authority.rfind("@")
        host = authority[at + 1 :] if at >= 0 else authority
        if host.startswith("["):
            close = host.rfind("]")
            if close < 0:
                return "missing ']' in host"
            port = host[close + 1 :]
        else:
            colon = host.rfind(":")
            port = host[colon:] if colon >= 0 else ""
        if port and not re.fullmatch(r":[0-9]*", port):
            return f"invalid port {port!r} after host"
        if _BAD_ESCAPE.search(host) or not _HOST_OK.fullmatch(host):
            bad = next((c for c in host if not _HOST_OK.fullmatch(c)), "%")
            return f"invalid character {bad!r} in host name"
        if at >= 0:
            userinfo = authority[:at]
            if not _USERINFO_OK.fullmatch(userinfo):
                return "invalid userinfo"
    if _BAD_ESCAPE.search(after):
        return "invalid URL escape in the path"
    return GoURL(
        scheme.lower(), scheme, "", userinfo, host, after, raw_query, force_query, fragment_value
    )

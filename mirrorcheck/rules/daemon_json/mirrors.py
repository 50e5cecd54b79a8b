"""The rules on registry-mirrors and insecure-registries, and the mirrors dockerd ends up with.

Each registry-mirrors entry is parsed as dockerd's ValidateMirror parses it,
with Go's url.Parse (which accepts and refuses other strings than Python's
urllib): the guide's placeholder left in, no or another scheme, user and
password, query, fragment, a path (refused before Engine 25.0), plain HTTP,
repeats. An insecure-registries entry must be
``host[:port]`` or a CIDR; a mirror under it, or on a loopback address, is
used without certificate checks. When a mirror is expected, it must be there
and first.

Usage::

    from mirrorcheck.rules.daemon_json.mirrors import (
        ExpectedMirror, check_mirrors, effective_mirrors, normalise_mirror,
    )
    from mirrorcheck.rules.daemon_json.reader import parse_daemon_json

    doc = parse_daemon_json(
        '{"registry-mirrors": ["http://other.example", "https://mirror.example.com"]}'
    )
    expected = ExpectedMirror.parse("https://mirror.example.com")  # ValueError on a placeholder
    [i.finding.code for i in check_mirrors(doc, expected)]
    # ['daemon-json/mirror-http', 'daemon-json/mirror-not-first']
    effective_mirrors(doc)        # ['http://other.example/', 'https://mirror.example.com/']
    normalise_mirror("https://mirror.example.com")   # 'https://mirror.example.com/'

Sources (moby/moby): ``registry/config.go`` (ValidateMirror, LoadMirrors,
LoadInsecureRegistries, validateHostPort), ``registry/service_v2.go``
(lookupV2Endpoints), commit c587ba3422 (mirror paths, Engine 25.0);
golang/go ``src/net/url/url.go`` (Parse, parseAuthority, parseHost).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mirrorcheck.findings import Finding, Severity
from mirrorcheck.rules.daemon_json.keys import EngineVersion
from mirrorcheck.rules.daemon_json.reader import DaemonJson, DocumentRules, Issue
from mirrorcheck.text.json_positions import JsonMember, JsonNode

MIRROR_PATH_FROM = EngineVersion(25, 0)
"""From 25.0 a mirror URL may carry a path prefix (moby commit c587ba3422)."""

PLACEHOLDER = "<your registry mirror FQDN>"
"""What the reference guide writes where the mirror's host name belongs."""


def normalise_mirror(url: str) -> str:
    """A mirror URL as dockerd stores it: one trailing '/' removed, then '/' appended.

    >>> normalise_mirror("https://mirror.example.com")
    'https://mirror.example.com/'
    """
    return url.removesuffix("/") + "/"


def effective_mirrors(doc: DaemonJson | Mapping[str, Any] | None) -> list[str]:
    """The mirrors `docker info` (RegistryConfig.Mirrors) shows once dockerd runs with ``doc``.

    Normalised and de-duplicated in order, as moby's LoadMirrors does. Entries
    dockerd would refuse are kept as written: dockerd would not start at all.
    """
    document = doc.document if isinstance(doc, DaemonJson) else doc
    if not isinstance(document, Mapping):
        return []
    mirrors = document.get("registry-mirrors")
    if not isinstance(mirrors, list):
        return []
    unique: list[str] = []
    for mirror in mirrors:
        if isinstance(mirror, str) and normalise_mirror(mirror) not in unique:
            unique.append(normalise_mirror(mirror))
    return unique


@dataclass(frozen=True)
class ExpectedMirror:
    """The mirror that must be configured, given as a URL or as ``host[:port]``.

    A URL must match scheme, host, port (443 for https) and path; a bare
    ``host[:port]`` matches any scheme, and any port when it names none.
    """

    text: str
    scheme: str | None
    host: str
    port: str
    path: str

    @classmethod
    def parse(cls, text: str) -> ExpectedMirror:
        """ValueError naming the fix when ``text`` is a placeholder or neither form."""
        if "<" in text or ">" in text:
            raise ValueError(
                f"the expected mirror {text!r} is an unfilled placeholder: fill in the mirror FQDN"
            )
        if "://" in text:
            parsed = _go_url_parse(text)
            if isinstance(parsed, str):
                raise ValueError(f"the expected mirror {text!r} is not a URL: {parsed}")
            if not parsed.host:
                raise ValueError(
                    f"the expected mirror {text!r} has no host: write https://<mirror FQDN>"
                )
            host, port = _split_host_port(parsed.host)
            scheme = parsed.scheme
            return cls(
                text,
                scheme,
                host.lower(),
                port or _DEFAULT_PORTS.get(scheme, ""),
                parsed.path.rstrip("/"),
            )
        if not text or "/" in text:
            raise ValueError(f"the expected mirror {text!r} is neither a URL nor host[:port]")
        host, port = _split_host_port(text)
        return cls(text, None, host.lower(), port, "")

    def matches(self, url: _GoURL) -> bool:
        """True when ``url`` (a registry-mirrors entry) is this mirror."""
        host, port = _split_host_port(url.host)
        if host.lower() != self.host:
            return False
        if self.scheme is None:
            return not self.port or port == self.port
        port = port or _DEFAULT_PORTS.get(url.scheme, "")
        return url.scheme == self.scheme and port == self.port and url.path.rstrip("/") == self.path

    def same_host(self, url: _GoURL) -> bool:
        """True when ``url`` names this mirror's host, whatever its scheme, port or path."""
        return _split_host_port(url.host)[0].lower() == self.host

    @property
    def shown(self) -> str:
        """The mirror as messages name it: a URL normalised as dockerd stores it."""
        return normalise_mirror(self.text) if self.scheme else self.text


_DEFAULT_PORTS = {"https": "443", "http": "80"}


def check_mirrors(
    doc: DaemonJson,
    expected: ExpectedMirror | None = None,
    *,
    allow_other_mirrors: bool = False,
    mirror_ips: Iterable[str] = (),
) -> list[Issue]:
    """registry-mirrors and insecure-registries of ``doc``, and the ``expected`` mirror in them.

    ``allow_other_mirrors``: other mirrors may come before the expected one.
    ``mirror_ips``: addresses the mirror's name resolves to on the node (to
    find it under an insecure CIDR).
    """
    rules = _MirrorRules(doc, expected, allow_other_mirrors, mirror_ips)
    rules.mirrors()
    return rules.issues


class _MirrorRules(DocumentRules):
    def __init__(
        self,
        doc: DaemonJson,
        expected: ExpectedMirror | None,
        allow_other_mirrors: bool,
        mirror_ips: Iterable[str],
    ):
        super().__init__(doc)
        self.expected = expected
        self.allow_other_mirrors = allow_other_mirrors
        self.mirror_ips = [ip for ip in (_ip_of(text) for text in mirror_ips) if ip is not None]

    def mirrors(self) -> None:
        """Each registry-mirrors entry, repeats, insecure-registries, the expected mirror."""
        mirrors = self.doc.member("registry-mirrors")
        insecure = self.insecure_entries()
        parsed: list[tuple[JsonNode, _GoURL]] = []
        broken = False
        if mirrors is not None and mirrors.value.kind == "array":
            for item in mirrors.value.items:
                if item.kind != "string":
                    continue
                before = len(self.issues)
                url = self.mirror(item)
                broken = broken or any(
                    i.finding.severity is Severity.ERROR for i in self.issues[before:]
                )
                if url is not None:
                    parsed.append((item, url))
        self.duplicates(parsed)
        checked: set[str] = set()
        for item, url in parsed:
            if url.scheme == "https" and url.host and url.host not in checked:
                checked.add(url.host)
                self.insecure(item, url, insecure)
        # A broken entry is reported already; "missing" on top of it would be noise.
        usable = mirrors is None or mirrors.value.kind == "array"
        if self.expected is not None and usable and not broken:
            self.expected_mirror(mirrors, parsed)

    def mirror(self, item: JsonNode) -> _GoURL | None:
        raw: str = item.value
        where = {"offset": item.start, "key": "registry-mirrors"}
        parsed = _go_url_parse(raw)
        if "<" in raw or ">" in raw:
            self.add(
                isinstance(parsed, str),
                Severity.ERROR,
                "daemon-json/mirror-placeholder",
                f"the mirror {raw!r} still holds a placeholder such as {PLACEHOLDER!r}",
                'fill in the mirror FQDN, e.g. "https://mirror.example.com"',
                **where,
            )
            return None
        if isinstance(parsed, str):
            spaced = raw != raw.strip() or " " in raw
            self.add(
                True,
                Severity.ERROR,
                "daemon-json/mirror-invalid-url",
                f"the mirror {raw!r} is not a valid URL ({parsed}): dockerd {self.engine} refuses "
                'to start ("invalid mirror: ... is not a valid URI")',
                "remove the spaces" if spaced else "write it as https://host[:port]",
                **where,
            )
            return None
        if parsed.userinfo and ":" in parsed.userinfo:
            where["secret"] = parsed.userinfo.split(":", 1)[1]
            raw = _mask(raw, parsed)
        if parsed.scheme not in ("http", "https"):
            hint = (
                f'write "https://{raw}"'
                if not parsed.scheme or "://" not in raw
                else f"use https:// instead of {parsed.raw_scheme}://"
            )
            what = "has no scheme" if "://" not in raw else f"has the scheme {parsed.raw_scheme!r}"
            self.add(
                True,
                Severity.ERROR,
                "daemon-json/mirror-scheme",
                f"the mirror {raw!r} {what}; dockerd {self.engine} refuses to start "
                "(invalid mirror: unsupported scheme)",
                hint,
                **where,
            )
            return None
        if parsed.raw_scheme != parsed.scheme:
            self.add(
                False,
                Severity.ERROR,
                "daemon-json/mirror-scheme-case",
                f"the mirror {raw!r} writes its scheme as {parsed.raw_scheme!r}: dockerd "
                "accepts it, but when pulling it puts https:// in front of any mirror not "
                "starting with a lower-case http:// or https://, so this mirror is never reached",
                f"write {parsed.scheme}:// in lower case",
                **where,
            )
        if parsed.userinfo is not None:
            self.add(
                True,
                Severity.ERROR,
                "daemon-json/mirror-userinfo",
                f"the mirror {raw!r} carries a user name/password: dockerd "
                f"{self.engine} refuses to start (username/password not allowed in URI)",
                "remove 'user:password@'; mirror credentials are not taken from the URL",
                **where,
            )
        if parsed.raw_query or parsed.force_query:
            self.add(
                bool(parsed.raw_query),
                Severity.ERROR,
                "daemon-json/mirror-query",
                f"the mirror {raw!r} has a query ('?'): "
                + (
                    f"dockerd {self.engine} refuses to start"
                    if parsed.raw_query
                    else "dockerd keeps it and asks https://host?/v2/..., which is not the mirror"
                ),
                "remove everything from '?' on",
                **where,
            )
        if parsed.fragment is not None:
            self.add(
                bool(parsed.fragment),
                Severity.ERROR,
                "daemon-json/mirror-fragment",
                f"the mirror {raw!r} has a fragment ('#'): "
                + (
                    f"dockerd {self.engine} refuses to start"
                    if parsed.fragment
                    else "it breaks the URL"
                ),
                "remove everything from '#' on",
                **where,
            )
        if not parsed.host:
            self.add(
                False,
                Severity.ERROR,
                "daemon-json/mirror-no-host",
                f"the mirror {raw!r} has no host: dockerd {self.engine} accepts it and has nothing "
                "to connect to",
                'write https://FQDN, e.g. "https://mirror.example.com"',
                **where,
            )
            return None
        if parsed.path not in ("", "/"):
            if self.engine < MIRROR_PATH_FROM:
                self.add(
                    True,
                    Severity.ERROR,
                    "daemon-json/mirror-path",
                    f"the mirror {raw!r} has the path {parsed.path!r}: dockerd {self.engine} "
                    "refuses to start (path at end of the URI); Engine 25.0 and later accept it",
                    f"write {parsed.scheme}://{parsed.host} (the daemon adds /v2/ itself)",
                    **where,
                )
            elif parsed.path.rstrip("/").endswith("/v2"):
                self.add(
                    False,
                    Severity.WARNING,
                    "daemon-json/mirror-path",
                    f"the mirror {raw!r} ends in /v2: dockerd {self.engine} adds /v2/ itself and "
                    "asks .../v2/v2/...",
                    f"write {parsed.scheme}://{parsed.host}",
                    **where,
                )
        if parsed.scheme == "http":
            self.add(
                False,
                Severity.WARNING,
                "daemon-json/mirror-http",
                f"the mirror {raw!r} is plain HTTP: image data travels without TLS",
                f"serve the mirror over HTTPS and write https://{parsed.host}",
                **where,
            )
        return parsed

    def duplicates(self, parsed: list[tuple[JsonNode, _GoURL]]) -> None:
        seen: dict[str, JsonNode] = {}
        folded: dict[str, JsonNode] = {}
        for item, _url in parsed:
            exact = normalise_mirror(item.value)
            fold = exact.lower()
            earlier = seen.get(exact, folded.get(fold))
            if earlier is not None:
                line, col = self.doc.line_col(earlier.start)
                how = (
                    f"repeats the one at {line}:{col}; dockerd drops it silently"
                    if exact in seen
                    else f"differs from the one at {line}:{col} only in letter case: dockerd "
                    "keeps both and tries the same server twice"
                )
                self.add(
                    False,
                    Severity.WARNING,
                    "daemon-json/mirror-duplicate",
                    f"the mirror {item.value!r} {how}",
                    "remove the repeated entry",
                    offset=item.start,
                    key="registry-mirrors",
                )
            seen.setdefault(exact, item)
            folded.setdefault(fold, item)

    def insecure_entries(
        self,
    ) -> list[tuple[JsonNode, str, ipaddress.IPv4Network | ipaddress.IPv6Network | None]]:
        """(entry, host[:port] or CIDR text, network) for each usable insecure-registries entry."""
        member = self.doc.member("insecure-registries")
        if member is None or member.value.kind != "array":
            return []
        entries = []
        for item in member.value.items:
            if item.kind != "string":
                continue
            raw: str = item.value
            text = raw
            if raw.lower().startswith(("http://", "https://")):
                text = raw.split("://", 1)[1]
                self.add(
                    False,
                    Severity.WARNING,
                    "daemon-json/insecure-scheme",
                    f"insecure-registries entry {raw!r} has a scheme: dockerd strips it and "
                    f"uses {text!r}",
                    f"write {text!r}",
                    offset=item.start,
                    key="insecure-registries",
                )
            network = None
            problem = ""
            if "://" in text:
                problem = "should not contain '://'"
            elif text.startswith("-") or text.endswith("-"):
                problem = "cannot begin or end with a hyphen"
            elif "/" in text:
                try:
                    network = ipaddress.ip_network(text, strict=False)
                except ValueError:
                    problem = "is neither a CIDR nor host[:port]"
            elif not _valid_host_port(text):
                problem = "is not a valid host[:port]"
            if problem:
                self.add(
                    True,
                    Severity.ERROR,
                    "daemon-json/insecure-invalid",
                    f"insecure-registries entry {raw!r} {problem}: "
                    f"dockerd {self.engine} refuses to start",
                    "write host[:port] (e.g. registry.example.com:5000) or a CIDR (10.0.0.0/8)",
                    offset=item.start,
                    key="insecure-registries",
                )
                continue
            entries.append((item, text, network))
        return entries

    def insecure(self, item: JsonNode, url: _GoURL, insecure: list) -> None:
        for entry, text, network in insecure:
            if network is None and text == url.host:
                line, col = self.doc.line_col(item.start)
                self.add(
                    False,
                    Severity.ERROR,
                    "daemon-json/mirror-insecure",
                    f"the mirror host {url.host!r} (registry-mirrors at {line}:{col}) is listed in "
                    "insecure-registries: dockerd does not verify its certificate, so a wrong or "
                    "expired certificate goes unnoticed",
                    f"remove {entry.value!r} from insecure-registries; put a private CA in "
                    f"/etc/docker/certs.d/{url.host}/ca.crt",
                    offset=entry.start,
                    key="insecure-registries",
                )
                return
        host = _split_host_port(url.host)[0]
        addresses = list(self.mirror_ips)
        ip = _ip_of(host)
        if ip is not None:
            addresses.append(ip)
        elif host.lower() == "localhost":
            addresses += [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
        for entry, _text, network in insecure:
            if network is not None and any(
                a in network for a in addresses if a.version == network.version
            ):
                self.add(
                    False,
                    Severity.ERROR,
                    "daemon-json/mirror-insecure",
                    f"the mirror {item.value!r} falls in insecure-registries {entry.value!r}: "
                    "dockerd does not verify its certificate",
                    f"remove {entry.value!r} from insecure-registries, or address the mirror "
                    "outside it",
                    offset=entry.start,
                    key="insecure-registries",
                )
                return
        loopback = ipaddress.ip_network("127.0.0.0/8")
        if any(a.version == 4 and a in loopback for a in addresses):
            self.add(
                False,
                Severity.ERROR,
                "daemon-json/mirror-insecure",
                f"the mirror {item.value!r} is a loopback address: dockerd always treats "
                "127.0.0.0/8 as insecure, so the mirror's certificate is never verified",
                "address the mirror by its FQDN, with a certificate for that name",
                offset=item.start,
                key="registry-mirrors",
            )

    def expected_mirror(
        self, mirrors: JsonMember | None, parsed: list[tuple[JsonNode, _GoURL]]
    ) -> None:
        expected = self.expected
        assert expected is not None
        index = next((i for i, (_n, url) in enumerate(parsed) if expected.matches(url)), None)
        if index is None:
            self.issues.append(Issue(missing_mirror(self.doc, expected, mirrors, parsed), False))
            return
        all_items = mirrors.value.items if mirrors is not None else []
        position = all_items.index(parsed[index][0])
        if position > 0 and not self.allow_other_mirrors:
            before = ", ".join(repr(i.value) for i in all_items[:position])
            self.add(
                False,
                Severity.ERROR,
                "daemon-json/mirror-not-first",
                f"the expected mirror {expected.shown!r} is number {position + 1} in "
                f"registry-mirrors: dockerd tries {before} first and only falls back to it",
                "move it to the front, or pass --allow-other-mirrors if that order is meant",
                offset=parsed[index][0].start,
                key="registry-mirrors",
            )


def missing_mirror(
    doc: DaemonJson,
    expected: ExpectedMirror,
    mirrors: JsonMember | None,
    parsed: Sequence[tuple[JsonNode, _GoURL]] = (),
) -> Finding:
    """The expected mirror is not in ``mirrors`` (None: no registry-mirrors key at all).

    ``parsed``: the entries that parsed, to name one on the same host.
    """
    example = expected.shown if expected.scheme else f"https://{expected.text}"
    near = [node.value for node, url in parsed if expected.same_host(url)]
    if mirrors is None:
        message = (
            f"no 'registry-mirrors' key: the expected mirror {expected.shown!r} is not configured"
        )
        if doc.member("registry-mirror") is not None:
            message += " ('registry-mirror', singular, is ignored)"
        offset = None
    else:
        message = f"the expected mirror {expected.shown!r} is not in registry-mirrors"
        if near:
            message += (
                f" (found {', '.join(map(repr, near))}: same host, other scheme, port or path)"
            )
        offset = mirrors.key_start
    return doc.finding(
        Severity.ERROR,
        "daemon-json/mirror-missing",
        message,
        f'add "registry-mirrors": ["{example.rstrip("/")}"]',
        offset=offset,
        key="registry-mirrors",
    )


_DOMAIN = re.compile(
    r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?"
)


def _valid_host_port(text: str) -> bool:
    """moby validateHostPort: a reference.DomainRegexp match or an IP, and a port <= 65535."""
    host, port = _split_host_port(text)
    if not _DOMAIN.fullmatch(text) and _ip_of(host) is None:
        return False
    return not port or (port.isdigit() and int(port) <= 65535)


def _mask(raw: str, url: _GoURL) -> str:
    if url.userinfo and ":" in url.userinfo:
        user = url.userinfo.split(":", 1)[0]
        return raw.replace(url.userinfo + "@", f"{user}:xxxxx@", 1)
    return raw


# --------------------------------------------------------------------------
# Mirror URLs, the way Go's net/url and moby's registry package see them


@dataclass(frozen=True)
class _GoURL:
    """The parts of a URL as Go's url.URL holds them."""

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


def _go_url_parse(raw: str) -> _GoURL | str:
    """Go's url.Parse, as far as ValidateMirror depends on it; a string is Go's error."""
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
            return _GoURL(
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
    return _GoURL(
        scheme.lower(), scheme, "", userinfo, host, after, raw_query, force_query, fragment_value
    )


def _split_host_port(hostport: str) -> tuple[str, str]:
    """``host[:port]`` (IPv6 in brackets) split into host and port; the port may be ''."""
    if hostport.startswith("["):
        close = hostport.find("]")
        return hostport[1:close], hostport[close + 2 :] if close >= 0 else ""
    host, colon, port = hostport.rpartition(":")
    if not colon or ":" in host:
        return hostport, ""
    return host, port


def _ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address, or None when it is a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None

"""The rules on registry-mirrors, and the mirrors dockerd ends up with.

Each registry-mirrors entry is parsed as dockerd's ValidateMirror parses it,
with Go's url.Parse (:mod:`mirrorcheck.text.go_url`): the guide's placeholder
left in, no or another scheme, user and password, query, fragment, a path
(refused before Engine 25.0), plain HTTP, repeats. A mirror under
insecure-registries is judged by :mod:`mirrorcheck.rules.daemon_json.insecure_entries`.
When a mirror is expected, it must be there and first.

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

Sources (moby/moby): ``registry/config.go`` (ValidateMirror, LoadMirrors),
``registry/service_v2.go`` (lookupV2Endpoints), commit c587ba3422 (mirror
paths, Engine 25.0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mirrorcheck.findings import Severity
from mirrorcheck.rules import placeholder
from mirrorcheck.rules.daemon_json import catalog
from mirrorcheck.rules.daemon_json.catalog import PLACEHOLDER
from mirrorcheck.rules.daemon_json.document import DaemonJson, DocumentRules, Issue
from mirrorcheck.rules.daemon_json.engine import EngineVersion
from mirrorcheck.rules.daemon_json.expected_mirror import (
    ExpectedMirror,
    missing_mirror,
    normalise_mirror,
)
from mirrorcheck.rules.daemon_json.insecure_entries import check_mirror_insecure, read_entries
from mirrorcheck.text.go_url import GoURL, parse_go_url
from mirrorcheck.text.hostport import split_host_port
from mirrorcheck.text.json_positions import JsonMember, JsonNode

__all__ = [
    "MIRROR_PATH_FROM",
    "PLACEHOLDER",
    "ExpectedMirror",
    "check_mirrors",
    "effective_mirrors",
    "first_mirror_host",
    "missing_mirror",
    "normalise_mirror",
]

MIRROR_PATH_FROM = EngineVersion(25, 0)
"""From 25.0 a mirror URL may carry a path prefix (moby commit c587ba3422)."""


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


def first_mirror_host(doc: DaemonJson) -> str | None:
    """The host name of the first registry-mirrors entry, lower-case and without port.

    None when there is no usable first mirror: no list, not a string, the
    guide's placeholder, or not an http(s) URL with a host as Go parses it.
    """
    document = doc.document
    mirrors = document.get("registry-mirrors") if document is not None else None
    if not isinstance(mirrors, list) or not mirrors or not isinstance(mirrors[0], str):
        return None
    raw = mirrors[0]
    if "<" in raw or ">" in raw:
        return None
    url = parse_go_url(raw)
    if isinstance(url, str) or url.scheme not in ("http", "https"):
        return None
    return split_host_port(url.host)[0].lower() or None


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


def _placeholder_in(raw: str) -> str:
    spot = placeholder.first_placeholder(raw)
    return spot.text if spot else raw


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
        self.mirror_ips = list(mirror_ips)

    def mirrors(self) -> None:
        """Each registry-mirrors entry, repeats, insecure-registries, the expected mirror."""
        mirrors = self.doc.member("registry-mirrors")
        insecure = read_entries(self)
        parsed: list[tuple[JsonNode, GoURL]] = []
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
                check_mirror_insecure(self, item, url, insecure, self.mirror_ips)
        # A broken entry is reported already; "missing" on top of it would be noise.
        usable = mirrors is None or mirrors.value.kind == "array"
        if self.expected is not None and usable and not broken:
            self.expected_mirror(mirrors, parsed)

    def mirror(self, item: JsonNode) -> GoURL | None:
        raw: str = item.value
        where = {"offset": item.start, "key": "registry-mirrors"}
        if not raw.strip():
            self.add(
                catalog.MIRROR_SCHEME,
                f"the mirror entry {raw!r} is {'empty' if not raw else 'blank'}: dockerd "
                f'{self.engine} refuses to start (invalid mirror: unsupported scheme "")',
                f"write the mirror's full URL, {self._full_url_example()}, or remove the entry",
                refuses=True,
                **where,
            )
            return None
        parsed = parse_go_url(raw)
        if "<" in raw or ">" in raw:
            self.add(
                catalog.MIRROR_PLACEHOLDER,
                placeholder.message(f"the mirror {raw!r}", _placeholder_in(raw)),
                placeholder.FIX,
                refuses=isinstance(parsed, str),
                **where,
            )
            return None
        if isinstance(parsed, str):
            spaced = raw != raw.strip() or " " in raw
            self.add(
                catalog.MIRROR_INVALID_URL,
                f"the mirror {raw!r} is not a valid URL ({parsed}): dockerd {self.engine} refuses "
                'to start ("invalid mirror: ... is not a valid URI")',
                "remove the spaces" if spaced else "write it as https://host[:port]",
                refuses=True,
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
                catalog.MIRROR_SCHEME,
                f"the mirror {raw!r} {what}; dockerd {self.engine} refuses to start "
                "(invalid mirror: unsupported scheme)",
                hint,
                refuses=True,
                **where,
            )
            return None
        if parsed.raw_scheme != parsed.scheme:
            self.add(
                catalog.MIRROR_SCHEME_CASE,
                f"the mirror {raw!r} writes its scheme as {parsed.raw_scheme!r}: dockerd "
                "accepts it, but when pulling it puts https:// in front of any mirror not "
                "starting with a lower-case http:// or https://, so this mirror is never reached",
                f"write {parsed.scheme}:// in lower case",
                refuses=False,
                **where,
            )
        if parsed.userinfo is not None:
            self.add(
                catalog.MIRROR_USERINFO,
                f"the mirror {raw!r} carries a user name/password: dockerd "
                f"{self.engine} refuses to start (username/password not allowed in URI)",
                "remove 'user:password@'; mirror credentials are not taken from the URL",
                refuses=True,
                **where,
            )
        if parsed.raw_query or parsed.force_query:
            self.add(
                catalog.MIRROR_QUERY,
                f"the mirror {raw!r} has a query ('?'): "
                + (
                    f"dockerd {self.engine} refuses to start"
                    if parsed.raw_query
                    else "dockerd keeps it and asks https://host?/v2/..., which is not the mirror"
                ),
                "remove everything from '?' on",
                refuses=bool(parsed.raw_query),
                **where,
            )
        if parsed.fragment is not None:
            self.add(
                catalog.MIRROR_FRAGMENT,
                f"the mirror {raw!r} has a fragment ('#'): "
                + (
                    f"dockerd {self.engine} refuses to start"
                    if parsed.fragment
                    else "it breaks the URL"
                ),
                "remove everything from '#' on",
                refuses=bool(parsed.fragment),
                **where,
            )
        if not parsed.host:
            self.add(
                catalog.MIRROR_NO_HOST,
                f"the mirror {raw!r} has no host: dockerd {self.engine} accepts it and has nothing "
                "to connect to",
                'write https://FQDN, e.g. "https://mirror.example.com"',
                refuses=False,
                **where,
            )
            return None
        if parsed.path not in ("", "/"):
            if self.engine < MIRROR_PATH_FROM:
                self.add(
                    catalog.MIRROR_PATH,
                    f"the mirror {raw!r} has the path {parsed.path!r}: dockerd {self.engine} "
                    "refuses to start (path at end of the URI); Engine 25.0 and later accept it",
                    f"write {parsed.scheme}://{parsed.host} (the daemon adds /v2/ itself)",
                    refuses=True,
                    **where,
                )
            elif parsed.path.rstrip("/").endswith("/v2"):
                self.add(
                    catalog.MIRROR_PATH,
                    f"the mirror {raw!r} ends in /v2: dockerd {self.engine} adds /v2/ itself and "
                    "asks .../v2/v2/...",
                    f"write {parsed.scheme}://{parsed.host}",
                    refuses=False,
                    severity=Severity.WARNING,
                    **where,
                )
        if parsed.scheme == "http":
            self.add(
                catalog.MIRROR_HTTP,
                f"the mirror {raw!r} is plain HTTP: image data travels without TLS",
                f"serve the mirror over HTTPS and write https://{parsed.host}",
                refuses=False,
                **where,
            )
        return parsed

    def _full_url_example(self) -> str:
        """The expected mirror's URL in quotes, else the form with the FQDN to fill in."""
        expected = self.expected
        if expected is None:
            return '"https://<mirror FQDN>" (e.g. "https://mirror.example.com")'
        # Built from the parts, so userinfo in --mirror-url never reaches the message.
        scheme = expected.scheme or "https"
        default = {"https": "443", "http": "80"}.get(scheme)
        port = f":{expected.port}" if expected.port and expected.port != default else ""
        host = f"[{expected.host}]" if ":" in expected.host else expected.host
        return f'"{scheme}://{host}{port}{expected.path}"'

    def duplicates(self, parsed: list[tuple[JsonNode, GoURL]]) -> None:
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
                    catalog.MIRROR_DUPLICATE,
                    f"the mirror {item.value!r} {how}",
                    "remove the repeated entry",
                    refuses=False,
                    offset=item.start,
                    key="registry-mirrors",
                )
            seen.setdefault(exact, item)
            folded.setdefault(fold, item)

    def expected_mirror(
        self, mirrors: JsonMember | None, parsed: list[tuple[JsonNode, GoURL]]
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
                catalog.MIRROR_NOT_FIRST,
                f"the expected mirror {expected.shown!r} is number {position + 1} in "
                f"registry-mirrors: dockerd tries {before} first and only falls back to it",
                "move it to the front, or pass --allow-other-mirrors if that order is meant",
                refuses=False,
                offset=parsed[index][0].start,
                key="registry-mirrors",
            )


def _mask(raw: str, url: GoURL) -> str:
    if url.userinfo and ":" in url.userinfo:
        user = url.userinfo.split(":", 1)[0]
        return raw.replace(url.userinfo + "@", f"{user}:xxxxx@", 1)
    return raw

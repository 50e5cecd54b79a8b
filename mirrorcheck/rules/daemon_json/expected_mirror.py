"""The mirror a rollout must configure, and the finding when registry-mirrors lacks it.

Usage::

    from mirrorcheck.rules.daemon_json.expected_mirror import ExpectedMirror
    from mirrorcheck.text.go_url import parse_go_url

    expected = ExpectedMirror.parse("https://mirror.example.com")  # ValueError on a placeholder
    expected.matches(parse_go_url("https://mirror.example.com:443/"))   # True
    ExpectedMirror.parse("mirror.example.com").matches(parse_go_url("http://mirror.example.com"))
    # True: a bare host[:port] matches any scheme
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mirrorcheck.findings import Finding
from mirrorcheck.rules.daemon_json.catalog import MIRROR_MISSING
from mirrorcheck.rules.daemon_json.document import DaemonJson
from mirrorcheck.text.go_url import GoURL, parse_go_url
from mirrorcheck.text.hostport import DEFAULT_PORTS, split_host_port
from mirrorcheck.text.json_positions import JsonMember, JsonNode


def normalise_mirror(url: str) -> str:
    """A mirror URL as dockerd stores it: one trailing '/' removed, then '/' appended.

    >>> normalise_mirror("https://mirror.example.com")
    'https://mirror.example.com/'
    """
    return url.removesuffix("/") + "/"


def _default_port(scheme: str) -> str:
    return str(DEFAULT_PORTS[scheme]) if scheme in DEFAULT_PORTS else ""


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
            parsed = parse_go_url(text)
            if isinstance(parsed, str):
                raise ValueError(f"the expected mirror {text!r} is not a URL: {parsed}")
            if not parsed.host:
                raise ValueError(
                    f"the expected mirror {text!r} has no host: write https://<mirror FQDN>"
                )
            host, port = split_host_port(parsed.host)
            scheme = parsed.scheme
            return cls(
                text,
                scheme,
                host.lower(),
                port or _default_port(scheme),
                parsed.path.rstrip("/"),
            )
        if not text or "/" in text:
            raise ValueError(f"the expected mirror {text!r} is neither a URL nor host[:port]")
        host, port = split_host_port(text)
        return cls(text, None, host.lower(), port, "")

    def matches(self, url: GoURL) -> bool:
        """True when ``url`` (a registry-mirrors entry) is this mirror."""
        host, port = split_host_port(url.host)
        if host.lower() != self.host:
            return False
        if self.scheme is None:
            return not self.port or port == self.port
        port = port or _default_port(url.scheme)
        return url.scheme == self.scheme and port == self.port and url.path.rstrip("/") == self.path

    def same_host(self, url: GoURL) -> bool:
        """True when ``url`` names this mirror's host, whatever its scheme, port or path."""
        return split_host_port(url.host)[0].lower() == self.host

    @property
    def shown(self) -> str:
        """The mirror as messages name it: a URL normalised as dockerd stores it."""
        return normalise_mirror(self.text) if self.scheme else self.text


def missing_mirror(
    doc: DaemonJson,
    expected: ExpectedMirror,
    mirrors: JsonMember | None,
    parsed: Sequence[tuple[JsonNode, GoURL]] = (),
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
        MIRROR_MISSING,
        message,
        f'add "registry-mirrors": ["{example.rstrip("/")}"]',
        offset=offset,
        key="registry-mirrors",
    )

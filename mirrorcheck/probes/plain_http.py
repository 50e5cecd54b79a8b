"""What answers in plain HTTP where only TLS should: a refusal, a redirect, or a registry.

One request per call, redirects not followed, bounded by a timeout. The URL
keeps the mirror's name (``Host`` header) while the TCP connection may go to
another address, like ``curl --resolve``. No verdict is made here: a check
decides which answers it accepts.

Usage::

    from mirrorcheck.probes.plain_http import probe_plain_http

    answer = probe_plain_http("mirror.test", "/v2/", address="172.18.0.4")        # port 80
    answer.kind                 # PlainKind.REDIRECT
    answer.redirects_to_https   # True: Location is https://mirror.test/v2/
    answer.serves_registry      # False

    probe_plain_http("mirror.test", "/v2/", address="172.18.0.4", port=5000).kind
    # PlainKind.REFUSED: nothing listens on the registry's plain port there
    answer.describe()           # one line for a failure message

    # The URL's port differs from where the connection goes (--mirror-address):
    probe_plain_http("mirror.test", "/v2/", address="127.0.0.1", port=5000, connect_port=15000)

What counts as the registry's answer is judged by
``mirrorcheck.probes.registry_api.registry_behaviour``, the one judgement of
registry-ness, plus any success: a proxy stripping the registry's headers still
serves its content.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from mirrorcheck.probes.http import make_session
from mirrorcheck.probes.registry_api import (
    API_VERSION_HEADER,
    BODY_KEPT,
    CONTENT_DIGEST_HEADER,
    Answer,
    registry_behaviour,
)

__all__ = [
    "API_VERSION_HEADER",
    "CONTENT_DIGEST_HEADER",
    "PlainHttpAnswer",
    "PlainKind",
    "probe_plain_http",
]

DEFAULT_TIMEOUT = 5.0


class PlainKind(str, enum.Enum):
    """What came back from the plain-HTTP request."""

    REFUSED = "refused"  # TCP connection refused (or reset before any answer)
    TIMEOUT = "timeout"  # no connection or no answer in time (e.g. a firewall dropping)
    NOT_HTTP = "not-http"  # something answered, but not HTTP (a TLS port, say)
    REDIRECT = "redirect"  # 3xx with a Location
    HTTP = "http"  # any other HTTP answer


@dataclass(frozen=True)
class PlainHttpAnswer:
    """The outcome of one plain-HTTP request to ``url`` at ``address:port``."""

    url: str
    address: str
    port: int  # the port in the URL
    kind: PlainKind
    status: int | None = None
    location: str = ""
    api_version: str = ""  # the Docker-Distribution-API-Version header, if any
    content_digest: str = ""  # the Docker-Content-Digest header, if any
    size: int = 0  # bytes of body read
    detail: str = ""
    connect_port: int | None = None  # where the connection went, when not ``port``
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    body: bytes = field(default=b"", repr=False)  # the first 64 KiB

    @property
    def reachable(self) -> bool:
        """Something answered in HTTP."""
        return self.kind in (PlainKind.REDIRECT, PlainKind.HTTP)

    @property
    def redirects_to_https(self) -> bool:
        return self.kind is PlainKind.REDIRECT and urlsplit(self.location).scheme == "https"

    @property
    def registry_behaviour(self) -> str:
        """What in this answer only a registry does (``registry_behaviour``); "" for nothing."""
        if self.kind is not PlainKind.HTTP:
            return ""
        return registry_behaviour(Answer(self.url, self.status, self.headers, self.body))

    @property
    def serves_registry(self) -> bool:
        """The answer is the registry's own (it behaves like one), or any success.

        A registry's 401 or 404 counts too: it proves the registry is reachable
        in plain text, and credentials or content would travel the same way.
        """
        if self.kind is not PlainKind.HTTP:
            return False
        if self.registry_behaviour:
            return True
        # A proxy stripping the registry's headers still serves its content.
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        """One line: what was asked, where, and what came back."""
        where = f"{self.url} (at {self.address}:{self.connect_port or self.port})"
        if self.kind is PlainKind.REDIRECT:
            return f"{where}: HTTP {self.status} redirect to {self.location or '(no Location)'}"
        if self.kind is PlainKind.HTTP:
            extra = "".join(
                f", {name}: {value}"
                for name, value in (
                    (API_VERSION_HEADER, self.api_version),
                    (CONTENT_DIGEST_HEADER, self.content_digest),
                )
                if value
            )
            behaviour = self.registry_behaviour
            extra += f" ({behaviour})" if behaviour else ""
            return f"{where}: HTTP {self.status}, {self.size} bytes{extra}"
        return f"{where}: {self.kind.value} ({self.detail})"


def _classify_error(error: requests.RequestException) -> tuple[PlainKind, str]:
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, requests.Timeout):
        return PlainKind.TIMEOUT, text
    if isinstance(error, requests.ConnectionError):
        lowered = str(error).lower()
        if "refused" in lowered or "reset by peer" in lowered:
            return PlainKind.REFUSED, text
        if "timed out" in lowered:
            return PlainKind.TIMEOUT, text
        # BadStatusLine, RemoteDisconnected...: the peer spoke, but not HTTP.
        return PlainKind.NOT_HTTP, text
    return PlainKind.NOT_HTTP, text


def probe_plain_http(
    host: str,
    path: str = "/v2/",
    *,
    address: str | None = None,
    port: int = 80,
    connect_port: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_body: int = 1 << 20,
) -> PlainHttpAnswer:
    """``GET http://host:port/path`` sent to ``address:connect_port``, redirects not followed.

    ``address`` defaults to ``host``, ``connect_port`` to ``port``. At most
    ``max_body`` bytes of the body are read (the first 64 KiB kept): enough to
    tell content from an error page without downloading a layer.
    """
    netloc = host if port == 80 else f"{host}:{port}"
    url = f"http://{netloc}{path}"
    target = address or host
    to_port = connect_port or port
    moved = connect_port if connect_port not in (None, port) else None
    session = make_session(resolve={f"{host}:{port}": f"{target}:{to_port}"})
    try:
        with session.get(url, allow_redirects=False, stream=True, timeout=timeout) as response:
            size = 0
            kept = bytearray()
            for chunk in response.iter_content(64 << 10):
                size += len(chunk)
                if len(kept) < BODY_KEPT:
                    kept += chunk[: BODY_KEPT - len(kept)]
                if size >= max_body:
                    break
            headers = response.headers
            status = response.status_code
            location = headers.get("Location", "")
            kind = PlainKind.REDIRECT if 300 <= status < 400 and location else PlainKind.HTTP
            return PlainHttpAnswer(
                url=url,
                address=target,
                port=port,
                kind=kind,
                status=status,
                location=location,
                api_version=headers.get(API_VERSION_HEADER, ""),
                content_digest=headers.get(CONTENT_DIGEST_HEADER, ""),
                size=size,
                connect_port=moved,
                headers=dict(headers),
                body=bytes(kept),
            )
    except requests.RequestException as error:
        kind, detail = _classify_error(error)
        return PlainHttpAnswer(
            url=url, address=target, port=port, kind=kind, detail=detail, connect_port=moved
        )
    finally:
        session.close()

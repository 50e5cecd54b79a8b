"""HTTP sessions that reach a registry by name at a chosen address, with a chosen CA.

Like curl's ``--resolve``: the URL keeps the mirror's name (so TLS verifies
the certificate for that name and the ``Host`` header is right) while the TCP
connection goes to the address given.

Usage::

    from mirrorcheck.probes.http import make_session

    session = make_session(ca_file="ca.crt", resolve={"mirror.test:443": "172.18.0.4:443"})
    session.get("https://mirror.test/v2/", timeout=5)
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from mirrorcheck.text.hostport import DEFAULT_PORTS


class ResolvingAdapter(HTTPAdapter):
    """Sends requests for ``host:port`` to another address, keeping SNI and Host."""

    def __init__(self, resolve: Mapping[str, str], **kwargs) -> None:
        self.resolve = dict(resolve)
        super().__init__(**kwargs)

    def send(self, request, **kwargs):  # type: ignore[override]
        parts = urlsplit(request.url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
        target = self.resolve.get(f"{parts.hostname}:{port}")
        if target is None:
            return super().send(request, **kwargs)
        request.url = urlunsplit(parts._replace(netloc=target))
        request.headers["Host"] = parts.netloc
        if parts.scheme == "https":
            # Verify the certificate for the name, not for the address.
            self.poolmanager.connection_pool_kw["server_hostname"] = parts.hostname
            self.poolmanager.connection_pool_kw["assert_hostname"] = parts.hostname
        try:
            return super().send(request, **kwargs)
        finally:
            self.poolmanager.connection_pool_kw.pop("server_hostname", None)
            self.poolmanager.connection_pool_kw.pop("assert_hostname", None)


def make_session(
    ca_file: str | None = None, resolve: Mapping[str, str] | None = None
) -> requests.Session:
    """A requests session trusting ``ca_file`` (else the system store), resolving as told."""
    session = requests.Session()
    session.trust_env = False  # proxies from the environment would break hermetic runs
    if ca_file:
        session.verify = ca_file
    if resolve:
        adapter = ResolvingAdapter(resolve)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session

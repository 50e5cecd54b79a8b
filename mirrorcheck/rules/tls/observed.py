"""The shape of what the TLS rules judge: an endpoint's handshake as a client saw it.

:class:`mirrorcheck.probes.tls.TlsInspection` has this shape; the rules name
only the shape, so that judgement and observation stay independent.

Usage::

    from mirrorcheck.rules.tls.observed import ACCEPTED, ObservedTls, version_label

    def accepts(inspection: ObservedTls, name: str) -> bool:
        probe = inspection.version(name)
        return probe is not None and probe.acceptance == ACCEPTED

    version_label("TLSv1")   # 'TLS 1.0'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

# The values of mirrorcheck.probes.tls_versions.Acceptance (a str enum).
ACCEPTED = "accepted"
REFUSED_BY_SERVER = "refused_by_server"
CLIENT_CANNOT_OFFER = "client_cannot_offer"
UNREACHABLE = "unreachable"


class ObservedVersion(Protocol):
    """One protocol version offered alone: ``version`` as OpenSSL names it ('TLSv1.2')."""

    version: str
    acceptance: str
    detail: str


class ObservedTls(Protocol):
    """What ``address:port`` presented for ``server_name``; dates are aware UTC datetimes."""

    address: str
    port: int
    server_name: str
    ca_file: str | None
    inspected_at: dt.datetime
    connect_error: str
    chain_verified: bool
    verify_code: int | None
    verify_error: str
    hostname_matches: bool | None
    hostname_error: str
    sans: tuple[str, ...]
    issuer: str
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    days_left: int | None
    key_type: str
    key_size: int | None
    signature_hash: str

    @property
    def endpoint(self) -> str: ...

    def version(self, name: str) -> ObservedVersion | None: ...


@dataclass(frozen=True)
class UnprobedVersion:
    """A version no probe was made for: nothing is known about it."""

    version: str
    acceptance: str = CLIENT_CANNOT_OFFER
    detail: str = "it was not probed"


def version_label(name: str) -> str:
    """'TLSv1' -> 'TLS 1.0', 'TLSv1.3' -> 'TLS 1.3', as people write the versions."""
    number = name.removeprefix("TLSv")
    return f"TLS {number if '.' in number else number + '.0'}"

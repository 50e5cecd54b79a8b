"""Which TLS protocol versions an endpoint accepts, one version offered at a time.

Decided by the standard ``ssl`` module (OpenSSL); no verdict is made here (see
``mirrorcheck.rules.tls.versions``).

Usage::

    from mirrorcheck.probes.tls_versions import local_offer_problem, probe_versions

    for probe in probe_versions("10.0.0.7", 443, server_name="mirror.test"):
        print(probe.label, probe.acceptance.value, probe.detail)
    local_offer_problem("TLSv1")   # '' if this client can offer TLS 1.0, else why not

A version probe reports ``CLIENT_CANNOT_OFFER`` whenever the local library
cannot put that version on the wire or aborts the handshake itself: a server
"refusing" TLS 1.0 is only claimed when the server said so.
"""

from __future__ import annotations

import enum
import socket
import ssl
import warnings
from dataclasses import dataclass

DEFAULT_TIMEOUT = 5.0

# Offer every cipher the library has, whatever its security level: a version
# probe asks whether the server speaks a version at all, and OpenSSL 3 refuses
# to complete TLS 1.0/1.1 handshakes (SHA-1 signatures) above level 0.
PROBE_CIPHERS = "ALL:@SECLEVEL=0"


@dataclass(frozen=True)
class TlsVersion:
    """One protocol version: how OpenSSL names it and how the ssl module selects it."""

    name: str  # as SSLSocket.version() reports it
    label: str  # as people write it
    ssl_version: ssl.TLSVersion
    build_flag: str  # ssl.HAS_* flag: False when the OpenSSL build lacks the version


# Source: https://docs.python.org/3/library/ssl.html#ssl.TLSVersion and ssl.HAS_TLSv1*.
TLS_VERSIONS: tuple[TlsVersion, ...] = (
    TlsVersion("TLSv1", "TLS 1.0", ssl.TLSVersion.TLSv1, "HAS_TLSv1"),
    TlsVersion("TLSv1.1", "TLS 1.1", ssl.TLSVersion.TLSv1_1, "HAS_TLSv1_1"),
    TlsVersion("TLSv1.2", "TLS 1.2", ssl.TLSVersion.TLSv1_2, "HAS_TLSv1_2"),
    TlsVersion("TLSv1.3", "TLS 1.3", ssl.TLSVersion.TLSv1_3, "HAS_TLSv1_3"),
)
_BY_NAME = {v.name: v for v in TLS_VERSIONS}


def tls_version(name: str) -> TlsVersion:
    """The table row for ``name`` ('TLSv1', 'TLSv1.1', 'TLSv1.2' or 'TLSv1.3')."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown TLS version {name!r}; use one of {sorted(_BY_NAME)}") from None


class Acceptance(str, enum.Enum):
    """What one version probe proved."""

    ACCEPTED = "accepted"
    REFUSED_BY_SERVER = "refused_by_server"
    CLIENT_CANNOT_OFFER = "client_cannot_offer"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class VersionProbe:
    """The outcome of offering exactly one TLS version."""

    version: str  # TlsVersion.name
    acceptance: Acceptance
    detail: str = ""

    @property
    def label(self) -> str:
        return tls_version(self.version).label


def _version_context(version: TlsVersion, ciphers: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Set once: a later set_ciphers() without @SECLEVEL keeps the earlier level.
    context.set_ciphers(ciphers)
    with warnings.catch_warnings():
        # Offering deprecated versions is the point of the probe.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version.ssl_version
        context.maximum_version = version.ssl_version
    return context


def local_offer_problem(version_name: str, *, ciphers: str = PROBE_CIPHERS) -> str:
    """Why this client cannot put ``version_name`` on the wire, or '' if it can.

    Checked without a network: the OpenSSL build flag, the version setting, and
    whether a ClientHello for that version alone can be built in memory.
    """
    version = tls_version(version_name)
    if not getattr(ssl, version.build_flag, False):
        return f"the local OpenSSL ({ssl.OPENSSL_VERSION}) is built without {version.label}"
    try:
        context = _version_context(version, ciphers)
    except (ValueError, ssl.SSLError) as exc:
        return f"the local OpenSSL ({ssl.OPENSSL_VERSION}) cannot select {version.label}: {exc}"
    client = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="offer.invalid")
    try:
        client.do_handshake()
    except ssl.SSLWantReadError:
        return ""  # the ClientHello is written and the client waits for the server
    except ssl.SSLError as exc:
        return (
            f"the local OpenSSL ({ssl.OPENSSL_VERSION}) cannot build a {version.label} "
            f"ClientHello with ciphers {ciphers!r}: {exc.reason or exc}"
        )
    return f"unexpected: a {version.label} handshake completed without a server"


# Reasons OpenSSL gives, as the client, for a handshake that ended early.
# Reasons for alerts received from the peer are SSL_AD_REASON_OFFSET (1000) and
# above and are all named SSLV3_ALERT_*, TLSV1_* or TLSV13_*
# (openssl include/openssl/sslerr.h): those are the server's own refusal.
_PEER_ALERT_PREFIXES = ("SSLV3_ALERT_", "TLSV1_", "TLSV13_")
_HANDSHAKE_REASONS: dict[str, tuple[Acceptance, str]] = {
    # The server answered with a version outside the single one offered.
    "UNSUPPORTED_PROTOCOL": (Acceptance.REFUSED_BY_SERVER, "the server chose another version"),
    "UNEXPECTED_EOF_WHILE_READING": (
        Acceptance.REFUSED_BY_SERVER,
        "the server closed the connection during the handshake",
    ),
    # The bytes that came back were not a TLS record: not a TLS port at all.
    "WRONG_VERSION_NUMBER": (Acceptance.UNREACHABLE, "the answer is not TLS"),
    "RECORD_LAYER_FAILURE": (Acceptance.UNREACHABLE, "the answer is not TLS"),
    "PACKET_LENGTH_TOO_LONG": (Acceptance.UNREACHABLE, "the answer is not TLS"),
}


def classify_handshake_error(exc: BaseException) -> tuple[Acceptance, str]:
    """What a failed single-version handshake proves, with the reason in words.

    Anything not known to come from the server counts as the client's own
    inability, so that a local failure is never mistaken for a refusal.
    """
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ssl.SSLZeroReturnError)):
        return Acceptance.REFUSED_BY_SERVER, f"the server dropped the connection ({exc})"
    if isinstance(exc, TimeoutError):
        return Acceptance.UNREACHABLE, f"no answer to the ClientHello in time ({exc})"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or ""
        if reason.startswith(_PEER_ALERT_PREFIXES):
            return Acceptance.REFUSED_BY_SERVER, f"the server sent the alert {reason}"
        if reason in _HANDSHAKE_REASONS:
            acceptance, meaning = _HANDSHAKE_REASONS[reason]
            return acceptance, f"{meaning} ({reason})"
        if isinstance(exc, ssl.SSLEOFError):
            return Acceptance.REFUSED_BY_SERVER, f"the server closed the connection ({exc})"
        return (
            Acceptance.CLIENT_CANNOT_OFFER,
            f"the local OpenSSL ({ssl.OPENSSL_VERSION}) ended the handshake itself "
            f"({reason or exc}); the server's answer is unknown",
        )
    if isinstance(exc, OSError):
        return Acceptance.UNREACHABLE, f"{type(exc).__name__}: {exc}"
    return Acceptance.CLIENT_CANNOT_OFFER, f"{type(exc).__name__}: {exc}"


def probe_version(
    address: str,
    port: int,
    version_name: str,
    *,
    server_name: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    ciphers: str = PROBE_CIPHERS,
) -> VersionProbe:
    """Offer ``version_name`` alone and report what happened."""
    version = tls_version(version_name)
    problem = local_offer_problem(version.name, ciphers=ciphers)
    if problem:
        return VersionProbe(version.name, Acceptance.CLIENT_CANNOT_OFFER, problem)
    context = _version_context(version, ciphers)
    try:
        raw = socket.create_connection((address, port), timeout=timeout)
    except ConnectionResetError as exc:
        # The server accepted the connection and reset it before the ClientHello
        # went out (seen under load): it answered, and what it said was no.
        return VersionProbe(
            version.name, Acceptance.REFUSED_BY_SERVER, f"reset by the server: {exc}"
        )
    except OSError as exc:
        return VersionProbe(
            version.name, Acceptance.UNREACHABLE, f"cannot connect: {type(exc).__name__}: {exc}"
        )
    with raw:
        try:
            with context.wrap_socket(raw, server_hostname=server_name or address) as tls:
                negotiated = tls.version()
        except (OSError, ssl.SSLError) as exc:
            acceptance, detail = classify_handshake_error(exc)
            return VersionProbe(version.name, acceptance, detail)
    if negotiated != version.name:
        # min = max makes this impossible; say so rather than guess.
        return VersionProbe(
            version.name,
            Acceptance.CLIENT_CANNOT_OFFER,
            f"offered {version.label} only, yet {negotiated} was negotiated",
        )
    return VersionProbe(version.name, Acceptance.ACCEPTED, f"handshake completed as {negotiated}")


def probe_versions(
    address: str,
    port: int = 443,
    *,
    server_name: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    versions: tuple[str, ...] = tuple(v.name for v in TLS_VERSIONS),
    ciphers: str = PROBE_CIPHERS,
) -> tuple[VersionProbe, ...]:
    """One :func:`probe_version` per version, in the order given."""
    return tuple(
        probe_version(
            address, port, name, server_name=server_name, timeout=timeout, ciphers=ciphers
        )
        for name in versions
    )

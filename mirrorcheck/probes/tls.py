"""What a TLS endpoint presents and which protocol versions it accepts.

Everything is decided by the standard ``ssl`` module (OpenSSL) and parsed by
``cryptography``; no verdict is made here (see ``mirrorcheck.rules.tls.policy``).
The address connected to may differ from the name sent as SNI and verified,
like ``curl --resolve``.

Usage::

    from mirrorcheck.probes.tls import Acceptance, inspect_tls, local_offer_problem, probe_versions

    result = inspect_tls("10.0.0.7", 443, server_name="mirror.test", ca_file="ca.crt")
    result.verified            # chain trusted AND name matches, as a node would need
    result.verify_error        # 'unable to get local issuer certificate', ...
    result.hostname_matches    # decided by OpenSSL against the leaf alone
    result.sans, result.not_after, result.days_left, result.key_type, result.key_size
    result.protocol, result.cipher
    for probe in result.versions:
        print(probe.label, probe.acceptance.value, probe.detail)

    probe_versions("10.0.0.7", 443, server_name="mirror.test")   # versions only
    local_offer_problem("TLSv1")   # '' if this client can offer TLS 1.0, else why not

A version probe reports ``CLIENT_CANNOT_OFFER`` whenever the local library
cannot put that version on the wire or aborts the handshake itself: a server
"refusing" TLS 1.0 is only claimed when the server said so.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import socket
import ssl
import warnings
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

DEFAULT_TIMEOUT = 5.0

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME (include/openssl/x509_vfy.h); the ssl
# module has no name for it. Used so that the name check ignores validity dates.
_X509_V_FLAG_NO_CHECK_TIME = 0x200000

# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH (include/openssl/x509_vfy.h).
X509_V_ERR_HOSTNAME_MISMATCH = 62

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


@dataclass(frozen=True)
class TlsInspection:
    """What ``address:port`` presented for ``server_name``.

    When ``connect_error`` is set no handshake completed and the certificate
    fields are empty. ``ca_file`` None means the system trust store.
    """

    address: str
    port: int
    server_name: str
    ca_file: str | None
    inspected_at: dt.datetime
    connect_error: str = ""
    chain_verified: bool = False
    verify_code: int | None = None
    verify_error: str = ""
    hostname_matches: bool | None = None
    hostname_error: str = ""
    sans: tuple[str, ...] = ()
    subject: str = ""
    issuer: str = ""
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    days_left: int | None = None  # whole days until not_after, floored: negative once expired
    key_type: str = ""
    key_size: int | None = None
    signature_hash: str = ""
    protocol: str = ""
    cipher: str = ""
    versions: tuple[VersionProbe, ...] = field(default=())

    @property
    def verified(self) -> bool:
        """True when a client trusting ``ca_file`` would accept this endpoint."""
        return self.chain_verified and self.hostname_matches is True

    @property
    def endpoint(self) -> str:
        """``server_name:port``, with the address when it differs."""
        where = f"{self.server_name}:{self.port}"
        return where if self.address == self.server_name else f"{where} (at {self.address})"

    def version(self, name: str) -> VersionProbe | None:
        """The probe result for version ``name``, if it was probed."""
        return next((p for p in self.versions if p.version == name), None)


# --- connections -------------------------------------------------------------


@dataclass(frozen=True)
class _Handshake:
    leaf_der: bytes
    protocol: str
    cipher: str


def _handshake(
    context: ssl.SSLContext, address: str, port: int, server_name: str, timeout: float
) -> _Handshake:
    # The timeout stays on the socket, so the handshake is bounded too.
    with (
        socket.create_connection((address, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        cipher = tls.cipher()
        return _Handshake(
            leaf_der=tls.getpeercert(binary_form=True) or b"",
            protocol=tls.version() or "",
            cipher=cipher[0] if cipher else "",
        )


def _unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _chain_context(ca_file: str | None) -> ssl.SSLContext:
    # The chain alone (trust and dates); the name is judged separately so that
    # one failure does not hide the other.
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = False
    return context


def _name_context(leaf_pem: str) -> ssl.SSLContext:
    # The leaf is its own trust anchor (partial chain) and dates are ignored:
    # OpenSSL then checks nothing but the name, whoever issued the certificate.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=leaf_pem)
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | _X509_V_FLAG_NO_CHECK_TIME
    # Go's crypto/x509 (dockerd) ignores the CN since Go 1.15; so do we.
    context.hostname_checks_common_name = False
    return context


# --- certificate fields ------------------------------------------------------

# Public key classes as reported; size is the key's bit length (curve size for EC).
_KEY_TYPES: tuple[tuple[type, str], ...] = (
    (rsa.RSAPublicKey, "RSA"),
    (ec.EllipticCurvePublicKey, "EC"),
    (dsa.DSAPublicKey, "DSA"),
    (ed25519.Ed25519PublicKey, "Ed25519"),
    (ed448.Ed448PublicKey, "Ed448"),
)


def _key_facts(cert: x509.Certificate) -> tuple[str, int | None]:
    key = cert.public_key()
    kind = next((name for cls, name in _KEY_TYPES if isinstance(key, cls)), type(key).__name__)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return kind, key.curve.key_size
    return kind, getattr(key, "key_size", None)


def _signature_hash(cert: x509.Certificate) -> str:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return cert.signature_algorithm_oid.dotted_string
    # Ed25519/Ed448 sign without a separate hash.
    return algorithm.name if algorithm is not None else ""


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    names = extension.value.get_values_for_type(x509.DNSName)
    addresses = [str(ip) for ip in extension.value.get_values_for_type(x509.IPAddress)]
    return tuple(names + addresses)


def _certificate_fields(leaf_der: bytes, now: dt.datetime) -> dict[str, Any]:
    cert = x509.load_der_x509_certificate(leaf_der)
    key_type, key_size = _key_facts(cert)
    not_after = cert.not_valid_after_utc
    return {
        "sans": _sans(cert),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc,
        "not_after": not_after,
        # timedelta.days floors: an expired certificate has a negative count.
        "days_left": (not_after - now).days,
        "key_type": key_type,
        "key_size": key_size,
        "signature_hash": _signature_hash(cert),
    }


def _verify_failure(exc: Exception) -> tuple[int | None, str]:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_code, exc.verify_message or str(exc)
    return None, f"{type(exc).__name__}: {exc}"


# --- inspection ----------------------------------------------------------------


def inspect_tls(
    address: str,
    port: int = 443,
    *,
    server_name: str | None = None,
    ca_file: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check_versions: bool = True,
    now: dt.datetime | None = None,
) -> TlsInspection:
    """Connect to ``address:port`` as a client of ``server_name`` and record what it presented.

    Up to three handshakes (details, chain, name) plus one per TLS version when
    ``check_versions``; each connection is bounded by ``timeout`` seconds.
    """
    name = server_name or address
    ca = os.fspath(ca_file) if ca_file is not None else None
    now = now or dt.datetime.now(dt.timezone.utc)
    base = {"address": address, "port": port, "server_name": name, "ca_file": ca}
    versions = (
        probe_versions(address, port, server_name=name, timeout=timeout) if check_versions else ()
    )

    try:
        details = _handshake(_unverified_context(), address, port, name, timeout)
    except (OSError, ssl.SSLError) as exc:
        return TlsInspection(
            **base,
            inspected_at=now,
            connect_error=f"{type(exc).__name__}: {exc}",
            versions=versions,
        )

    try:
        _handshake(_chain_context(ca), address, port, name, timeout)
        chain_verified, verify_code, verify_error = True, None, ""
    except (OSError, ssl.SSLError) as exc:
        chain_verified = False
        verify_code, verify_error = _verify_failure(exc)

    leaf_pem = ssl.DER_cert_to_PEM_cert(details.leaf_der)
    try:
        _handshake(_name_context(leaf_pem), address, port, name, timeout)
        hostname_matches, hostname_error = True, ""
    except (OSError, ssl.SSLError) as exc:
        code, hostname_error = _verify_failure(exc)
        hostname_matches = False if code == X509_V_ERR_HOSTNAME_MISMATCH else None

    return TlsInspection(
        **base,
        inspected_at=now,
        chain_verified=chain_verified,
        verify_code=verify_code,
        verify_error=verify_error,
        hostname_matches=hostname_matches,
        hostname_error=hostname_error,
        protocol=details.protocol,
        cipher=details.cipher,
        versions=versions,
        **_certificate_fields(details.leaf_der, now),
    )


# --- protocol versions -----------------------------------------------------------


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

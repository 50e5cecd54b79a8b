"""What a TLS endpoint presents: certificate, trust, name, and the versions it accepts.

Everything is decided by the standard ``ssl`` module (OpenSSL) and parsed by
``cryptography``; no verdict is made here (see ``mirrorcheck.rules.tls``).
The address connected to may differ from the name sent as SNI and verified,
like ``curl --resolve``. The version probes live in
``mirrorcheck.probes.tls_versions``, the certificate fields in
``mirrorcheck.probes.tls_certificate``.

Usage::

    from mirrorcheck.probes.tls import inspect_tls

    result = inspect_tls("10.0.0.7", 443, server_name="mirror.test", ca_file="ca.crt")
    result.verified            # chain trusted AND name matches, as a node would need
    result.verify_error        # 'unable to get local issuer certificate', ...
    result.hostname_matches    # decided by OpenSSL against the leaf alone
    result.sans, result.not_after, result.days_left, result.key_type, result.key_size
    result.protocol, result.cipher
    for probe in result.versions:
        print(probe.label, probe.acceptance.value, probe.detail)
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
from dataclasses import dataclass, field

from mirrorcheck.probes.tls_certificate import certificate_fields
from mirrorcheck.probes.tls_versions import DEFAULT_TIMEOUT, VersionProbe, probe_versions

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME (include/openssl/x509_vfy.h); the ssl
# module has no name for it. Used so that the name check ignores validity dates.
_X509_V_FLAG_NO_CHECK_TIME = 0x200000

# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH (include/openssl/x509_vfy.h).
X509_V_ERR_HOSTNAME_MISMATCH = 62


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
        **certificate_fields(details.leaf_der, now),
    )

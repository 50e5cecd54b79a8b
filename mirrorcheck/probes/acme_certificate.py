"""The certificate a TLS endpoint serves for a name, and whether an ACME CA's root issued it.

Observation only: which leaf is served (fingerprint, serial, names, validity,
issuer) and whether its chain, as served, leads to a given root (OpenSSL
decides, with the hostname checked). Used to tell one ACME certificate from
the next: after a restart the same fingerprint means the certificate was kept.

Usage::

    from mirrorcheck.probes.acme_certificate import served_certificate

    served = served_certificate("172.18.0.5", 443, "mirror.test", root_pem=pebble_root)
    served.fingerprint, served.serial, served.issuer, served.sans
    served.trusted        # chain verified up to root_pem, for the name
"""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class ServedCertificate:
    """The leaf served for ``server_name`` at ``address:port``, and its trust.

    ``trusted`` is True when the served chain verifies up to the root given,
    for ``server_name``; ``trust_error`` is OpenSSL's reason otherwise.
    """

    address: str
    port: int
    server_name: str
    fingerprint: str  # sha256 of the DER leaf, hex
    serial: str  # the number in lower-case hex, no leading zeros
    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    trusted: bool
    trust_error: str = ""

    @property
    def lifetime_seconds(self) -> float:
        """notAfter - notBefore, in seconds."""
        return (self.not_after - self.not_before).total_seconds()


def _leaf_der(address: str, port: int, server_name: str, timeout: float) -> bytes:
    # No verification here (``_verified_der`` does it), so no trust store to load: loading the
    # system's costs tens of ms of CPU per call, and the certificate is polled.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((address, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError(f"{address}:{port} presented no certificate for {server_name}")
    return der


def _verified_der(
    address: str, port: int, server_name: str, root_pem: bytes, timeout: float
) -> tuple[bytes | None, str]:
    """The leaf of a handshake that verified up to ``root_pem`` for ``server_name``, or None
    and why it did not verify."""
    with tempfile.TemporaryDirectory(prefix="mirrorcheck-root-") as workdir:
        root_file = Path(workdir) / "root.pem"
        root_file.write_bytes(root_pem)
        context = ssl.create_default_context(cafile=str(root_file))
        try:
            with (
                socket.create_connection((address, port), timeout=timeout) as raw,
                context.wrap_socket(raw, server_hostname=server_name) as tls,
            ):
                return tls.getpeercert(binary_form=True), ""
        except ssl.SSLCertVerificationError as error:
            return None, error.verify_message or str(error)
        except (OSError, ssl.SSLError) as error:
            return None, f"{type(error).__name__}: {error}"


def served_certificate(
    address: str,
    port: int,
    server_name: str,
    *,
    root_pem: bytes,
    timeout: float = DEFAULT_TIMEOUT,
) -> ServedCertificate:
    """What ``address:port`` serves for ``server_name`` (SNI), judged against ``root_pem``.

    One handshake that verifies, and only when it does not, a second that takes
    whatever is served: a trusted certificate is always the one that handshake
    verified (a proxy applying its configuration may serve its default
    certificate to one handshake and the ACME one to the next). Each handshake is
    bounded by ``timeout`` seconds. Raises OSError or ssl.SSLError when the
    second handshake does not complete.
    """
    der, error = _verified_der(address, port, server_name, root_pem, timeout)
    trusted = der is not None
    if der is None:
        der = _leaf_der(address, port, server_name, timeout)
    leaf = x509.load_der_x509_certificate(der)
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(names.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        sans = ()
    return ServedCertificate(
        address=address,
        port=port,
        server_name=server_name,
        fingerprint=hashlib.sha256(der).hexdigest(),
        serial=format(leaf.serial_number, "x"),
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        sans=sans,
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        trusted=trusted,
        trust_error=error,
    )

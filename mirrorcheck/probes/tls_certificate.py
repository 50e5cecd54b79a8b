"""The fields of a certificate that a TLS policy judges, parsed by ``cryptography``.

Usage::

    from mirrorcheck.probes.tls_certificate import certificate_fields

    fields = certificate_fields(leaf_der, now)
    fields["sans"], fields["not_after"], fields["days_left"], fields["key_type"]
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

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


def certificate_fields(leaf_der: bytes, now: dt.datetime) -> dict[str, Any]:
    """The leaf certificate (DER) as :class:`mirrorcheck.probes.tls.TlsInspection` fields.

    ``days_left`` counts whole days from ``now`` (UTC) to notAfter, floored.
    Raises ValueError when ``leaf_der`` is not a certificate.
    """
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

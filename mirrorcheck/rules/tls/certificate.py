"""Judge the certificate a mirror's TLS endpoint presented: name, trust, dates, strength.

Pure judgement on what a client saw
(:class:`mirrorcheck.rules.tls.observed.ObservedTls`, e.g. a
:class:`mirrorcheck.probes.tls.TlsInspection`); nothing here
opens a connection. Each ``judge_*`` answers one claim and reports the endpoint
unreachable when no handshake completed, so a check running it never passes on
an endpoint it could not see.

Usage::

    from mirrorcheck.probes.tls import inspect_tls
    from mirrorcheck.rules.tls.certificate import judge_name, judge_validity
    from mirrorcheck.rules.tls.policy import TlsPolicy

    result = inspect_tls("10.0.0.7", 443, server_name="mirror.test", ca_file="ca.crt")
    judge_name(result)            # [Finding(error, 'tls/hostname-mismatch', ...)] or []
    judge_validity(result, TlsPolicy(min_days_left=30))
"""

from __future__ import annotations

import datetime as dt

from mirrorcheck.findings import Finding
from mirrorcheck.rules.tls.catalog import (
    CHAIN_INVALID,
    EXPIRED,
    EXPIRES_SOON,
    HOSTNAME_MISMATCH,
    HOSTNAME_UNCHECKED,
    NOT_YET_VALID,
    UNREACHABLE,
    UNTRUSTED_ISSUER,
    WEAK_KEY,
    WEAK_SIGNATURE,
)
from mirrorcheck.rules.tls.observed import ObservedTls
from mirrorcheck.rules.tls.policy import TlsPolicy, docker_ca_path

# OpenSSL verify codes (include/openssl/x509_vfy.h) that mean "no path to a
# trusted CA": what dockerd reports as "x509: certificate signed by unknown authority".
UNTRUSTED_VERIFY_CODES = frozenset(
    {
        2,  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
        18,  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        19,  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
        20,  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        21,  # X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
    }
)
# Verify codes about validity dates, already judged from notBefore/notAfter.
NOT_YET_VALID_VERIFY_CODE = 9  # X509_V_ERR_CERT_NOT_YET_VALID
EXPIRED_VERIFY_CODE = 10  # X509_V_ERR_CERT_HAS_EXPIRED


def judge_reachability(inspection: ObservedTls) -> list[Finding]:
    """One ``tls/unreachable`` error when no handshake completed, else nothing."""
    if not inspection.connect_error:
        return []
    return [
        UNREACHABLE.finding(
            f"no TLS handshake: {inspection.connect_error}; "
            "Docker nodes then fall back to Docker Hub without a word",
            fix=f"make the proxy listen on {inspection.address}:{inspection.port} and serve "
            f"TLS for {inspection.server_name} (SNI)",
            path=inspection.endpoint,
            key="connect",
        )
    ]


def judge_name(inspection: ObservedTls) -> list[Finding]:
    """Whether the certificate is valid for the name clients use (subjectAltName only)."""
    if inspection.connect_error:
        return judge_reachability(inspection)
    name = inspection.server_name
    if inspection.hostname_matches is None:
        return [
            HOSTNAME_UNCHECKED.finding(
                f"could not check whether the certificate is valid for {name!r}: "
                f"{inspection.hostname_error}",
                fix="inspect the certificate by hand: openssl s_client -connect "
                f"{inspection.address}:{inspection.port} -servername {name}",
                path=inspection.endpoint,
                key="subjectAltName",
            )
        ]
    if inspection.hostname_matches:
        return []
    listed = ", ".join(inspection.sans) or "no names at all"
    cn_note = (
        ""
        if inspection.sans
        else " (a name only in the subject CN does not count: Go, hence dockerd, ignores the CN)"
    )
    return [
        HOSTNAME_MISMATCH.finding(
            f"the certificate is not valid for {name!r}: its "
            f"subjectAltName lists {listed}{cn_note}; nodes fail with 'x509: certificate "
            "is valid for ..., not ...' and fall back to Docker Hub",
            fix=f"issue the proxy's certificate with DNS:{name} in subjectAltName, or point "
            "the nodes' registry-mirrors at a name the certificate lists",
            path=inspection.endpoint,
            key="subjectAltName",
        )
    ]


def judge_validity(inspection: ObservedTls, policy: TlsPolicy) -> list[Finding]:
    """Whether the certificate is valid now, with ``policy.min_days_left`` days to spare."""
    if inspection.connect_error:
        return judge_reachability(inspection)
    not_before, not_after = inspection.not_before, inspection.not_after
    now = inspection.inspected_at
    if not_before is not None and not_before > now:
        return [
            NOT_YET_VALID.finding(
                f"the certificate is not valid before "
                f"{not_before:%Y-%m-%d %H:%M} UTC; nodes refuse it",
                path=inspection.endpoint,
                key="notBefore",
            )
        ]
    if not_after is None:
        return []
    if not_after <= now:
        return [
            EXPIRED.finding(
                f"the certificate expired on "
                f"{not_after:%Y-%m-%d %H:%M} UTC ({_days(now - not_after)} ago); "
                "nodes fail with 'x509: certificate has expired or is not yet valid' and fall "
                "back to Docker Hub",
                path=inspection.endpoint,
                key="notAfter",
            )
        ]
    if inspection.days_left is not None and inspection.days_left < policy.min_days_left:
        return [
            EXPIRES_SOON.finding(
                f"the certificate expires on {not_after:%Y-%m-%d %H:%M} "
                f"UTC, {_days(not_after - now)} from now (policy: at least "
                f"{policy.min_days_left})",
                path=inspection.endpoint,
                key="notAfter",
            )
        ]
    return []


def judge_trust(inspection: ObservedTls) -> list[Finding]:
    """Whether the chain verifies against the inspection's CA file (or the system store)."""
    if inspection.connect_error:
        return judge_reachability(inspection)
    if inspection.chain_verified:
        return []
    code = inspection.verify_code
    dates_judged = inspection.not_after is not None and inspection.not_before is not None
    if dates_judged and code in (EXPIRED_VERIFY_CODE, NOT_YET_VALID_VERIFY_CODE):
        return []  # judged with dates by judge_validity
    if code in UNTRUSTED_VERIFY_CODES:
        return [
            UNTRUSTED_ISSUER.finding(
                f"the certificate (issuer {inspection.issuer}) does not "
                f"verify against {_trust_source(inspection)}: {inspection.verify_error}; "
                "nodes log 'x509: certificate signed by unknown authority' and fall back to "
                "Docker Hub",
                fix="serve the full chain from the proxy (leaf first, then intermediates), or "
                "install the issuing CA on every node as "
                f"{docker_ca_path(inspection.server_name, inspection.port)}",
                path=inspection.endpoint,
                key="issuer",
            )
        ]
    return [
        CHAIN_INVALID.finding(
            f"the certificate chain does not verify against "
            f"{_trust_source(inspection)}: {inspection.verify_error}"
            + (f" (OpenSSL verify code {code})" if code is not None else ""),
            fix="check the chain the proxy serves: openssl s_client -showcerts -connect "
            f"{inspection.address}:{inspection.port} -servername {inspection.server_name}",
            path=inspection.endpoint,
            key="chain",
        )
    ]


def judge_strength(inspection: ObservedTls, policy: TlsPolicy) -> list[Finding]:
    """Whether the key is long enough and the signature hash is not broken."""
    if inspection.connect_error:
        return judge_reachability(inspection)
    findings = []
    minimum = policy.min_key_bits.get(inspection.key_type)
    if minimum is not None and inspection.key_size is not None and inspection.key_size < minimum:
        findings.append(
            WEAK_KEY.finding(
                f"the certificate has a {inspection.key_type} key of "
                f"{inspection.key_size} bits (policy: at least {minimum})",
                fix=f"reissue it with an RSA key of at least {policy.min_key_bits.get('RSA')} "
                "bits or an EC key on P-256 or larger",
                path=inspection.endpoint,
                key="publicKey",
            )
        )
    digest = inspection.signature_hash.lower()
    if digest in policy.weak_signature_hashes:
        findings.append(
            WEAK_SIGNATURE.finding(
                f"the certificate is signed with {digest.upper()}; Go 1.18 "
                "and later, hence current dockerd builds, reject SHA-1 signed certificates",
                path=inspection.endpoint,
                key="signatureAlgorithm",
            )
        )
    return findings


def _trust_source(inspection: ObservedTls) -> str:
    return f"CA file {inspection.ca_file}" if inspection.ca_file else "the system trust store"


def _days(span: dt.timedelta) -> str:
    whole = span.days
    return "1 day" if whole == 1 else f"{whole} days"

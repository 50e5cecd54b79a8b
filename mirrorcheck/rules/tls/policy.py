"""Judge what a mirror's TLS endpoint presented: certificate, trust, protocol versions.

Pure judgement on a :class:`mirrorcheck.probes.tls.TlsInspection`; nothing here
opens a connection.

Usage::

    from mirrorcheck.probes.tls import inspect_tls
    from mirrorcheck.findings import render_all
    from mirrorcheck.rules.tls.policy import TlsPolicy, judge_tls

    result = inspect_tls("10.0.0.7", 443, server_name="mirror.test", ca_file="ca.crt")
    findings = judge_tls(result, TlsPolicy(min_days_left=30))
    print(render_all(findings))
    # mirror.test:443 (at 10.0.0.7): error [tls/hostname-mismatch] certificate ... is not
    #   valid for 'mirror.test': its subjectAltName lists not-the-mirror.invalid ...

A version the client could not test is a WARNING, never a pass.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType

from mirrorcheck.findings import Finding, Severity
from mirrorcheck.probes.tls import TLS_VERSIONS, Acceptance, TlsInspection, VersionProbe

CODE_UNREACHABLE = "tls/unreachable"
CODE_HOSTNAME_MISMATCH = "tls/hostname-mismatch"
CODE_HOSTNAME_UNCHECKED = "tls/hostname-unchecked"
CODE_EXPIRED = "tls/expired"
CODE_NOT_YET_VALID = "tls/not-yet-valid"
CODE_EXPIRES_SOON = "tls/expires-soon"
CODE_UNTRUSTED_ISSUER = "tls/untrusted-issuer"
CODE_CHAIN_INVALID = "tls/chain-invalid"
CODE_WEAK_KEY = "tls/weak-key"
CODE_WEAK_SIGNATURE = "tls/weak-signature"
CODE_LEGACY_VERSION_ACCEPTED = "tls/legacy-version-accepted"
CODE_VERSION_REFUSED = "tls/version-refused"
CODE_VERSION_UNTESTABLE = "tls/version-untestable"

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


class Expect(str, enum.Enum):
    ACCEPT = "accept"
    REFUSE = "refuse"


@dataclass(frozen=True)
class VersionExpectation:
    expect: Expect
    severity: Severity  # when the server does the opposite
    why: str


# TLS 1.0 and 1.1 are deprecated by RFC 8996; Mozilla's "intermediate"
# configuration (https://wiki.mozilla.org/Security/Server_Side_TLS) serves
# TLS 1.2 and 1.3. TLS 1.3 missing breaks nothing, hence a warning.
VERSION_EXPECTATIONS: Mapping[str, VersionExpectation] = MappingProxyType(
    {
        "TLSv1": VersionExpectation(Expect.REFUSE, Severity.ERROR, "deprecated by RFC 8996"),
        "TLSv1.1": VersionExpectation(Expect.REFUSE, Severity.ERROR, "deprecated by RFC 8996"),
        "TLSv1.2": VersionExpectation(
            Expect.ACCEPT,
            Severity.ERROR,
            "clients without TLS 1.3 (OpenSSL 1.0.x, Go before 1.13) cannot connect",
        ),
        "TLSv1.3": VersionExpectation(
            Expect.ACCEPT,
            Severity.WARNING,
            "current clients, dockerd included, prefer it; Mozilla's intermediate profile has it",
        ),
    }
)

# How to set the protocol list on the proxies the reference setups use.
PROXY_PROTOCOLS_FIX = (
    "nginx `ssl_protocols TLSv1.2 TLSv1.3;`, "
    "Traefik `tls.options.default.minVersion: VersionTLS12`, "
    "Caddy `tls { protocols tls1.2 tls1.3 }`"
)


def docker_ca_path(host: str, port: int | None = None) -> PurePosixPath:
    """Where a Docker node looks for the CA of registry ``host[:port]``.

    dockerd reads ``/etc/docker/certs.d/<host[:port]>/*.crt``; the port is part
    of the directory name only when the registry URL names one.
    """
    name = host if port in (None, 443) else f"{host}:{port}"
    return PurePosixPath("/etc/docker/certs.d") / name / "ca.crt"


@dataclass(frozen=True)
class TlsPolicy:
    """Thresholds; the defaults suit a mirror that Docker nodes reach over HTTPS."""

    min_days_left: int = 14
    # Smallest acceptable key per key type (bits; EC counts the curve size).
    min_key_bits: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"RSA": 2048, "DSA": 2048, "EC": 256})
    )
    weak_signature_hashes: frozenset[str] = frozenset({"md5", "sha1"})
    versions: Mapping[str, VersionExpectation] = field(default_factory=lambda: VERSION_EXPECTATIONS)


def judge_tls(inspection: TlsInspection, policy: TlsPolicy | None = None) -> list[Finding]:
    """Every way ``inspection`` falls short of ``policy``; empty when it does not."""
    policy = policy or TlsPolicy()
    if inspection.connect_error:
        return [_unreachable(inspection), *_version_findings(inspection, policy)]
    findings = [
        *_hostname_findings(inspection),
        *_validity_findings(inspection, policy),
        *_chain_findings(inspection),
        *_key_findings(inspection, policy),
        *_version_findings(inspection, policy),
    ]
    return findings


def _finding(
    inspection: TlsInspection, severity: Severity, code: str, message: str, fix: str, key: str
) -> Finding:
    return Finding(
        severity=severity,
        code=code,
        message=message,
        fix=fix,
        path=inspection.endpoint,
        key=key,
    )


def _trust_source(inspection: TlsInspection) -> str:
    return f"CA file {inspection.ca_file}" if inspection.ca_file else "the system trust store"


def _unreachable(inspection: TlsInspection) -> Finding:
    return _finding(
        inspection,
        Severity.ERROR,
        CODE_UNREACHABLE,
        f"no TLS handshake: {inspection.connect_error}; "
        "Docker nodes then fall back to Docker Hub without a word",
        f"make the proxy listen on {inspection.address}:{inspection.port} and serve TLS "
        f"for {inspection.server_name} (SNI)",
        key="connect",
    )


def _hostname_findings(inspection: TlsInspection) -> list[Finding]:
    name = inspection.server_name
    if inspection.hostname_matches is None:
        return [
            _finding(
                inspection,
                Severity.WARNING,
                CODE_HOSTNAME_UNCHECKED,
                f"could not check whether the certificate is valid for {name!r}: "
                f"{inspection.hostname_error}",
                "inspect the certificate by hand: openssl s_client -connect "
                f"{inspection.address}:{inspection.port} -servername {name}",
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
        _finding(
            inspection,
            Severity.ERROR,
            CODE_HOSTNAME_MISMATCH,
            f"the certificate is not valid for {name!r}: its "
            f"subjectAltName lists {listed}{cn_note}; nodes fail with 'x509: certificate "
            "is valid for ..., not ...' and fall back to Docker Hub",
            f"issue the proxy's certificate with DNS:{name} in subjectAltName, or point "
            "the nodes' registry-mirrors at a name the certificate lists",
            key="subjectAltName",
        )
    ]


def _validity_findings(inspection: TlsInspection, policy: TlsPolicy) -> list[Finding]:
    not_before, not_after = inspection.not_before, inspection.not_after
    now = inspection.inspected_at
    renew = (
        "renew the proxy's certificate and reload the proxy (Traefik with Let's Encrypt: "
        "find why the ACME renewal failed in Traefik's log)"
    )
    if not_before is not None and not_before > now:
        return [
            _finding(
                inspection,
                Severity.ERROR,
                CODE_NOT_YET_VALID,
                f"the certificate is not valid before "
                f"{not_before:%Y-%m-%d %H:%M} UTC; nodes refuse it",
                "check the clocks of the proxy host and the nodes, or reissue the certificate",
                key="notBefore",
            )
        ]
    if not_after is None:
        return []
    if not_after <= now:
        return [
            _finding(
                inspection,
                Severity.ERROR,
                CODE_EXPIRED,
                f"the certificate expired on "
                f"{not_after:%Y-%m-%d %H:%M} UTC ({_days(now - not_after)} ago); "
                "nodes fail with 'x509: certificate has expired or is not yet valid' and fall "
                "back to Docker Hub",
                renew,
                key="notAfter",
            )
        ]
    if inspection.days_left is not None and inspection.days_left < policy.min_days_left:
        return [
            _finding(
                inspection,
                Severity.WARNING,
                CODE_EXPIRES_SOON,
                f"the certificate expires on {not_after:%Y-%m-%d %H:%M} "
                f"UTC, {_days(not_after - now)} from now (policy: at least "
                f"{policy.min_days_left})",
                renew,
                key="notAfter",
            )
        ]
    return []


def _chain_findings(inspection: TlsInspection) -> list[Finding]:
    if inspection.chain_verified:
        return []
    code = inspection.verify_code
    dates_judged = inspection.not_after is not None and inspection.not_before is not None
    if dates_judged and code in (EXPIRED_VERIFY_CODE, NOT_YET_VALID_VERIFY_CODE):
        return []  # reported by the validity findings, with dates
    if code in UNTRUSTED_VERIFY_CODES:
        return [
            _finding(
                inspection,
                Severity.ERROR,
                CODE_UNTRUSTED_ISSUER,
                f"the certificate (issuer {inspection.issuer}) does not "
                f"verify against {_trust_source(inspection)}: {inspection.verify_error}; "
                "nodes log 'x509: certificate signed by unknown authority' and fall back to "
                "Docker Hub",
                "serve the full chain from the proxy (leaf first, then intermediates), or "
                "install the issuing CA on every node as "
                f"{docker_ca_path(inspection.server_name, inspection.port)}",
                key="issuer",
            )
        ]
    return [
        _finding(
            inspection,
            Severity.ERROR,
            CODE_CHAIN_INVALID,
            f"the certificate chain does not verify against "
            f"{_trust_source(inspection)}: {inspection.verify_error}"
            + (f" (OpenSSL verify code {code})" if code is not None else ""),
            "check the chain the proxy serves: openssl s_client -showcerts -connect "
            f"{inspection.address}:{inspection.port} -servername {inspection.server_name}",
            key="chain",
        )
    ]


def _key_findings(inspection: TlsInspection, policy: TlsPolicy) -> list[Finding]:
    findings = []
    minimum = policy.min_key_bits.get(inspection.key_type)
    if minimum is not None and inspection.key_size is not None and inspection.key_size < minimum:
        findings.append(
            _finding(
                inspection,
                Severity.ERROR,
                CODE_WEAK_KEY,
                f"the certificate has a {inspection.key_type} key of "
                f"{inspection.key_size} bits (policy: at least {minimum})",
                f"reissue it with an RSA key of at least {policy.min_key_bits.get('RSA')} bits "
                f"or an EC key on P-256 or larger",
                key="publicKey",
            )
        )
    digest = inspection.signature_hash.lower()
    if digest in policy.weak_signature_hashes:
        findings.append(
            _finding(
                inspection,
                Severity.ERROR,
                CODE_WEAK_SIGNATURE,
                f"the certificate is signed with {digest.upper()}; Go 1.18 "
                "and later, hence current dockerd builds, reject SHA-1 signed certificates",
                "reissue it signed with SHA-256 or stronger",
                key="signatureAlgorithm",
            )
        )
    return findings


def _version_findings(inspection: TlsInspection, policy: TlsPolicy) -> list[Finding]:
    findings = []
    for version in TLS_VERSIONS:
        expectation = policy.versions.get(version.name)
        if expectation is None:
            continue
        probe = inspection.version(version.name)
        if probe is None:
            probe = VersionProbe(version.name, Acceptance.CLIENT_CANNOT_OFFER, "it was not probed")
        if probe.acceptance is Acceptance.UNREACHABLE and inspection.connect_error:
            continue  # the endpoint as a whole is reported unreachable
        finding = _version_finding(inspection, probe, expectation)
        if finding is not None:
            findings.append(finding)
    return findings


def _version_finding(
    inspection: TlsInspection, probe: VersionProbe, expectation: VersionExpectation
) -> Finding | None:
    label = probe.label
    if probe.acceptance in (Acceptance.CLIENT_CANNOT_OFFER, Acceptance.UNREACHABLE):
        return _finding(
            inspection,
            Severity.WARNING,
            CODE_VERSION_UNTESTABLE,
            f"whether the server accepts {label} is unknown: {probe.detail}; this "
            "run proves nothing about it",
            f"probe from a client whose OpenSSL can offer {label} (e.g. openssl s_client "
            f"-{_s_client_flag(probe.version)} -cipher 'ALL:@SECLEVEL=0' -connect "
            f"{inspection.address}:{inspection.port}), and check the proxy's protocol list: "
            f"{PROXY_PROTOCOLS_FIX}",
            key=probe.version,
        )
    accepted = probe.acceptance is Acceptance.ACCEPTED
    if expectation.expect is Expect.REFUSE and accepted:
        return _finding(
            inspection,
            expectation.severity,
            CODE_LEGACY_VERSION_ACCEPTED,
            f"the server accepts {label} ({expectation.why})",
            f"allow only TLS 1.2 and 1.3 on the proxy: {PROXY_PROTOCOLS_FIX}",
            key=probe.version,
        )
    if expectation.expect is Expect.ACCEPT and not accepted:
        return _finding(
            inspection,
            expectation.severity,
            CODE_VERSION_REFUSED,
            f"the server refuses {label}: {probe.detail} ({expectation.why})",
            f"enable {label} on the proxy: {PROXY_PROTOCOLS_FIX}",
            key=probe.version,
        )
    return None


def _days(span: dt.timedelta) -> str:
    whole = span.days
    return "1 day" if whole == 1 else f"{whole} days"


def _s_client_flag(version_name: str) -> str:
    # openssl s_client spells the versions -tls1, -tls1_1, -tls1_2, -tls1_3.
    return "tls" + version_name.removeprefix("TLSv").replace(".", "_")

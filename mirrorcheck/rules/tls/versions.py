"""Judge which TLS protocol versions a mirror's endpoint accepts against the expected ones.

A version the client could not test is a WARNING, never a pass.

Usage::

    from mirrorcheck.probes.tls import inspect_tls
    from mirrorcheck.rules.tls.policy import TlsPolicy
    from mirrorcheck.rules.tls.versions import judge_versions

    result = inspect_tls("10.0.0.7", 443, server_name="mirror.test")
    judge_versions(result, TlsPolicy(), names=("TLSv1", "TLSv1.1"))
    # [Finding(error, 'tls/legacy-version-accepted', 'the server accepts TLS 1.0 ...')]
"""

from __future__ import annotations

from collections.abc import Iterable

from mirrorcheck.findings import Finding
from mirrorcheck.rules.tls.catalog import (
    LEGACY_VERSION_ACCEPTED,
    PROXY_PROTOCOLS_FIX,
    VERSION_REFUSED,
    VERSION_UNTESTABLE,
)
from mirrorcheck.rules.tls.certificate import judge_reachability
from mirrorcheck.rules.tls.observed import (
    ACCEPTED,
    CLIENT_CANNOT_OFFER,
    UNREACHABLE,
    ObservedTls,
    ObservedVersion,
    UnprobedVersion,
    version_label,
)
from mirrorcheck.rules.tls.policy import Expect, TlsPolicy, VersionExpectation


def judge_versions(
    inspection: ObservedTls, policy: TlsPolicy, names: Iterable[str] | None = None
) -> list[Finding]:
    """The endpoint unreachable, then every version in ``names`` (default: all) off policy.

    ``names`` are OpenSSL's version names ('TLSv1' ... 'TLSv1.3'), judged in the
    policy's order; versions the policy has no expectation for are not judged.
    """
    wanted = set(names) if names is not None else set(policy.versions)
    findings = judge_reachability(inspection)
    for name, expectation in policy.versions.items():
        if name not in wanted:
            continue
        probe = inspection.version(name) or UnprobedVersion(name)
        if probe.acceptance == UNREACHABLE and inspection.connect_error:
            continue  # the endpoint as a whole is reported unreachable
        finding = _version_finding(inspection, probe, expectation)
        if finding is not None:
            findings.append(finding)
    return findings


def _version_finding(
    inspection: ObservedTls, probe: ObservedVersion, expectation: VersionExpectation
) -> Finding | None:
    label = version_label(probe.version)
    if probe.acceptance in (CLIENT_CANNOT_OFFER, UNREACHABLE):
        return VERSION_UNTESTABLE.finding(
            f"whether the server accepts {label} is unknown: {probe.detail}; this "
            "run proves nothing about it",
            fix=f"probe from a client whose OpenSSL can offer {label} (e.g. openssl s_client "
            f"-{_s_client_flag(probe.version)} -cipher 'ALL:@SECLEVEL=0' -connect "
            f"{inspection.address}:{inspection.port}), and check the proxy's protocol list: "
            f"{PROXY_PROTOCOLS_FIX}",
            path=inspection.endpoint,
            key=probe.version,
        )
    accepted = probe.acceptance == ACCEPTED
    if expectation.expect is Expect.REFUSE and accepted:
        return LEGACY_VERSION_ACCEPTED.finding(
            f"the server accepts {label} ({expectation.why})",
            severity=expectation.severity,
            path=inspection.endpoint,
            key=probe.version,
        )
    if expectation.expect is Expect.ACCEPT and not accepted:
        return VERSION_REFUSED.finding(
            f"the server refuses {label}: {probe.detail} ({expectation.why})",
            fix=f"enable {label} on the proxy: {PROXY_PROTOCOLS_FIX}",
            severity=expectation.severity,
            path=inspection.endpoint,
            key=probe.version,
        )
    return None


def _s_client_flag(version_name: str) -> str:
    # openssl s_client spells the versions -tls1, -tls1_1, -tls1_2, -tls1_3.
    return "tls" + version_name.removeprefix("TLSv").replace(".", "_")

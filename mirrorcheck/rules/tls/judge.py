"""Judge everything a mirror's TLS endpoint presented, in one list of findings.

Usage::

    from mirrorcheck.findings import render_all
    from mirrorcheck.probes.tls import inspect_tls
    from mirrorcheck.rules.tls.judge import judge_tls
    from mirrorcheck.rules.tls.policy import TlsPolicy

    result = inspect_tls("10.0.0.7", 443, server_name="mirror.test", ca_file="ca.crt")
    print(render_all(judge_tls(result, TlsPolicy(min_days_left=30))))
    # mirror.test:443 (at 10.0.0.7): error [tls/hostname-mismatch] the certificate is not
    #   valid for 'mirror.test': its subjectAltName lists not-the-mirror.invalid ...
"""

from __future__ import annotations

from mirrorcheck.findings import Finding
from mirrorcheck.rules.tls.certificate import (
    judge_name,
    judge_strength,
    judge_trust,
    judge_validity,
)
from mirrorcheck.rules.tls.observed import ObservedTls
from mirrorcheck.rules.tls.policy import TlsPolicy
from mirrorcheck.rules.tls.versions import judge_versions


def judge_tls(inspection: ObservedTls, policy: TlsPolicy | None = None) -> list[Finding]:
    """Every way ``inspection`` falls short of ``policy``; empty when it does not.

    An unreachable endpoint is one ``tls/unreachable`` error, plus whatever the
    version probes still proved.
    """
    policy = policy or TlsPolicy()
    if inspection.connect_error:
        return judge_versions(inspection, policy)
    return [
        *judge_name(inspection),
        *judge_validity(inspection, policy),
        *judge_trust(inspection),
        *judge_strength(inspection, policy),
        *judge_versions(inspection, policy),
    ]

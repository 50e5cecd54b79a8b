"""TLS proxy certificate: what clients of the mirror's name are shown, judged as dockerd would.

The certificate is issued for the mirror FQDN (subjectAltName), chains to the
CA the nodes trust, has at least ``--min-cert-days`` left, and its key and
signature are not weak. Each check runs one judge of
``mirrorcheck.rules.tls.certificate`` and fails on every finding it makes: a
warning there (a name that could not be checked, fewer days than demanded)
leaves the claim unproven.

Live (``--mirror-url``), the proxy is reached at the mirror's name at
``--mirror-address`` (or wherever the name resolves), trusting ``--ca-file``
(or the system store).
"""

from __future__ import annotations

import pytest

from mirrorcheck.findings import Finding, render_all
from mirrorcheck.rules.tls.certificate import (
    judge_name,
    judge_strength,
    judge_trust,
    judge_validity,
)
from mirrorcheck.rules.tls.policy import TlsPolicy


@pytest.fixture(scope="module")
def tls_policy(settings) -> TlsPolicy:
    return TlsPolicy(min_days_left=settings.min_cert_days)


def _fail_on(findings: list[Finding]) -> None:
    if findings:
        pytest.fail(render_all(findings), pytrace=False)


def test_proxy_certificate_is_issued_for_the_mirror_name(tls_inspection, record_property):
    record_property("certificate_subject_alt_names", list(tls_inspection.sans))
    _fail_on(judge_name(tls_inspection))


def test_proxy_certificate_chains_to_the_ca_the_nodes_trust(tls_inspection, record_property):
    record_property("certificate_issuer", tls_inspection.issuer)
    _fail_on(judge_trust(tls_inspection))


def test_proxy_certificate_has_at_least_min_cert_days_left(
    tls_inspection, tls_policy, record_property
):
    record_property("certificate_days_left", tls_inspection.days_left)
    if tls_inspection.not_after is not None:
        record_property("certificate_not_after", f"{tls_inspection.not_after:%Y-%m-%d %H:%M} UTC")
    record_property("min_cert_days", tls_policy.min_days_left)
    # The policy rates "expires soon" a warning; this check demands the days.
    _fail_on(judge_validity(tls_inspection, tls_policy))


def test_proxy_certificate_key_and_signature_are_not_weak(
    tls_inspection, tls_policy, record_property
):
    record_property("certificate_key", f"{tls_inspection.key_type} {tls_inspection.key_size}")
    record_property("certificate_signature_hash", tls_inspection.signature_hash)
    _fail_on(judge_strength(tls_inspection, tls_policy))

"""TLS proxy protocol versions: TLS 1.2 and 1.3 accepted, TLS 1.0 and 1.1 refused.

Each check runs ``mirrorcheck.rules.tls.versions.judge_versions`` for the
versions it claims. A legacy version the local client cannot offer proves
nothing: that check is skipped, and failed in CI (``fail_or_skip``).
"""

from __future__ import annotations

import pytest

from mirrorcheck.findings import errors, render_all
from mirrorcheck.probes.tls import TlsInspection
from mirrorcheck.pytest_plugin.options import fail_or_skip
from mirrorcheck.rules.tls.policy import TlsPolicy
from mirrorcheck.rules.tls.versions import judge_versions

MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")
LEGACY_VERSIONS = ("TLSv1", "TLSv1.1")


def _probe_figures(inspection: TlsInspection, versions: tuple[str, ...], record_property) -> None:
    for name in versions:
        probe = inspection.version(name)
        if probe is not None:
            record_property(f"{name}_probe", f"{probe.acceptance.value}: {probe.detail}")


def test_tls_1_2_and_1_3_are_accepted(tls_inspection, record_property):
    record_property("negotiated_protocol", tls_inspection.protocol)
    record_property("negotiated_cipher", tls_inspection.cipher)
    _probe_figures(tls_inspection, MODERN_VERSIONS, record_property)
    # Every finding counts: TLS 1.3 refused is a warning to the policy, a failed claim here.
    findings = judge_versions(tls_inspection, TlsPolicy(), MODERN_VERSIONS)
    if findings:
        pytest.fail(render_all(findings), pytrace=False)


def test_tls_1_0_and_1_1_are_refused_by_the_server(tls_inspection, record_property):
    _probe_figures(tls_inspection, LEGACY_VERSIONS, record_property)
    findings = judge_versions(tls_inspection, TlsPolicy(), LEGACY_VERSIONS)
    if errors(findings):
        pytest.fail(render_all(errors(findings)), pytrace=False)
    if findings:
        # Passing here would claim a refusal nobody observed.
        fail_or_skip(
            "whether the server refuses every legacy TLS version is unknown:\n"
            + render_all(findings)
        )

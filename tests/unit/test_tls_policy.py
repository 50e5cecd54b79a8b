"""TLS policy: real handshakes for each certificate variant, recorded data for the rest."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ssl

import pytest

from mirrorcheck.findings import Severity, errors
from mirrorcheck.probes import tls_versions
from mirrorcheck.probes.tls import TlsInspection, inspect_tls
from mirrorcheck.probes.tls_versions import Acceptance, VersionProbe
from mirrorcheck.rules.tls import catalog, certificate, x509_causes
from mirrorcheck.rules.tls.judge import judge_tls
from mirrorcheck.rules.tls.policy import TlsPolicy, docker_ca_path
from mirrorcheck.rules.tls.versions import judge_versions
from mirrorcheck.targets.lab.certs import OTHER_HOST, LabCertificates, Variant
from tests.unit.tls_servers import LocalTlsServer, closed_port

FQDN = "mirror.test"
TIMEOUT = 2.0
OLD_VERSIONS = ("TLSv1", "TLSv1.1")
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def certs() -> LabCertificates:
    return LabCertificates(FQDN)


@pytest.fixture(scope="module")
def ca_file(certs: LabCertificates, tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(certs.write(tmp_path_factory.mktemp("tls")).ca_cert)


def judge_server(certs: LabCertificates, ca_file: str, variant: Variant, **server_kw: object):
    server_kw.setdefault("minimum", ssl.TLSVersion.TLSv1_2)
    with LocalTlsServer(certs.issue(variant), **server_kw) as server:
        result = inspect_tls(
            server.address, server.port, server_name=FQDN, ca_file=ca_file, timeout=TIMEOUT
        )
    return result, judge_tls(result)


def untestable_old_versions() -> set[str]:
    """The versions this client cannot offer: the policy must warn, not pass."""
    return {name for name in OLD_VERSIONS if tls_versions.local_offer_problem(name)}


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def without_untestable(findings) -> list:
    # Only versions this machine truly cannot offer may add warnings.
    expected = untestable_old_versions()
    rest = [f for f in findings if f.code != catalog.VERSION_UNTESTABLE.code]
    assert {f.key for f in findings if f.code == catalog.VERSION_UNTESTABLE.code} == expected
    return rest


# --- real handshakes ------------------------------------------------------------


def test_healthy_certificate_on_a_tls12_and_up_server_gives_no_finding(certs, ca_file):
    _, findings = judge_server(certs, ca_file, Variant.HEALTHY)

    assert without_untestable(findings) == []


def test_certificate_for_another_host_is_a_name_mismatch_that_lists_the_sans(certs, ca_file):
    result, findings = judge_server(certs, ca_file, Variant.OTHER_HOST)

    assert codes(without_untestable(findings)) == [catalog.HOSTNAME_MISMATCH.code]
    mismatch = findings[0]
    assert mismatch.severity is Severity.ERROR
    assert f"'{FQDN}'" in mismatch.message and OTHER_HOST in mismatch.message
    assert f"DNS:{FQDN}" in mismatch.fix
    assert mismatch.path == result.endpoint


def test_expired_certificate_is_reported_as_expired_not_as_untrusted(certs, ca_file):
    _, findings = judge_server(certs, ca_file, Variant.EXPIRED)

    assert codes(without_untestable(findings)) == [catalog.EXPIRED.code]
    assert "(1 day ago)" in findings[0].message
    assert "renew" in findings[0].fix


def test_certificate_from_another_ca_is_an_untrusted_issuer_pointing_at_certs_d(certs, ca_file):
    result, findings = judge_server(certs, ca_file, Variant.UNTRUSTED_CA)

    assert codes(without_untestable(findings)) == [catalog.UNTRUSTED_ISSUER.code]
    untrusted = findings[0]
    assert "mirrorcheck stranger" in untrusted.message
    assert ca_file in untrusted.message
    assert f"/etc/docker/certs.d/{FQDN}:{result.port}/ca.crt" in untrusted.fix


def test_certificate_with_five_days_left_warns_with_its_expiry_date(certs, ca_file):
    _, findings = judge_server(certs, ca_file, Variant.EXPIRES_SOON)

    assert codes(without_untestable(findings)) == [catalog.EXPIRES_SOON.code]
    assert findings[0].severity is Severity.WARNING
    assert "(policy: at least 14)" in findings[0].message


def test_server_accepting_tls10_is_an_error_or_an_untestable_warning_never_a_pass(certs, ca_file):
    _, findings = judge_server(
        certs,
        ca_file,
        Variant.HEALTHY,
        minimum=ssl.TLSVersion.TLSv1,
        ciphers=tls_versions.PROBE_CIPHERS,
    )

    by_version = {f.key: f for f in findings}
    for name in OLD_VERSIONS:
        if name in untestable_old_versions():
            assert by_version[name].code == catalog.VERSION_UNTESTABLE.code
            assert by_version[name].severity is Severity.WARNING
        else:
            assert by_version[name].code == catalog.LEGACY_VERSION_ACCEPTED.code
            assert by_version[name].severity is Severity.ERROR
            assert "ssl_protocols TLSv1.2 TLSv1.3" in by_version[name].fix


def test_unreachable_endpoint_is_one_error_without_version_noise(ca_file):
    result = inspect_tls(
        "127.0.0.1", closed_port(), server_name=FQDN, ca_file=ca_file, timeout=TIMEOUT
    )

    findings = judge_tls(result)

    assert codes(findings) == [catalog.UNREACHABLE.code]
    assert "ConnectionRefusedError" in findings[0].message


# --- recorded inspections ----------------------------------------------------------

ALL_GOOD_VERSIONS = (
    VersionProbe("TLSv1", Acceptance.REFUSED_BY_SERVER, "the server sent the alert X"),
    VersionProbe("TLSv1.1", Acceptance.REFUSED_BY_SERVER, "the server sent the alert X"),
    VersionProbe("TLSv1.2", Acceptance.ACCEPTED, "handshake completed as TLSv1.2"),
    VersionProbe("TLSv1.3", Acceptance.ACCEPTED, "handshake completed as TLSv1.3"),
)

GOOD = TlsInspection(
    address="10.0.0.7",
    port=443,
    server_name=FQDN,
    ca_file="/etc/docker/certs.d/mirror.test/ca.crt",
    inspected_at=NOW,
    chain_verified=True,
    hostname_matches=True,
    sans=(FQDN,),
    subject="CN=mirror.test",
    issuer="CN=Lab CA",
    not_before=NOW - dt.timedelta(days=10),
    not_after=NOW + dt.timedelta(days=90),
    days_left=90,
    key_type="RSA",
    key_size=2048,
    signature_hash="sha256",
    protocol="TLSv1.3",
    cipher="TLS_AES_128_GCM_SHA256",
    versions=ALL_GOOD_VERSIONS,
)


def with_version(name: str, acceptance: Acceptance, detail: str = "x") -> TlsInspection:
    versions = tuple(
        VersionProbe(name, acceptance, detail) if p.version == name else p for p in GOOD.versions
    )
    return dataclasses.replace(GOOD, versions=versions)


def test_recorded_good_inspection_gives_no_finding():
    assert judge_tls(GOOD) == []


@pytest.mark.parametrize(
    ("key_type", "bits", "weak"),
    [("RSA", 1024, True), ("RSA", 2048, False), ("EC", 224, True), ("EC", 256, False)],
)
def test_rsa_below_2048_and_ec_below_256_bits_are_weak_keys(key_type, bits, weak):
    findings = judge_tls(dataclasses.replace(GOOD, key_type=key_type, key_size=bits))

    assert codes(findings) == ([catalog.WEAK_KEY.code] if weak else [])
    if weak:
        assert f"{key_type} key of {bits} bits" in findings[0].message


@pytest.mark.parametrize(("digest", "weak"), [("sha1", True), ("md5", True), ("sha256", False)])
def test_sha1_and_md5_signatures_are_weak(digest, weak):
    findings = judge_tls(dataclasses.replace(GOOD, signature_hash=digest))

    assert codes(findings) == ([catalog.WEAK_SIGNATURE.code] if weak else [])


def test_tls12_refused_is_an_error_and_tls13_refused_a_warning():
    refused_12 = judge_tls(with_version("TLSv1.2", Acceptance.REFUSED_BY_SERVER, "alert"))
    refused_13 = judge_tls(with_version("TLSv1.3", Acceptance.REFUSED_BY_SERVER, "alert"))

    assert [(f.code, f.severity, f.key) for f in refused_12] == [
        (catalog.VERSION_REFUSED.code, Severity.ERROR, "TLSv1.2")
    ]
    assert [(f.code, f.severity, f.key) for f in refused_13] == [
        (catalog.VERSION_REFUSED.code, Severity.WARNING, "TLSv1.3")
    ]


@pytest.mark.parametrize("acceptance", [Acceptance.CLIENT_CANNOT_OFFER, Acceptance.UNREACHABLE])
def test_old_version_the_client_could_not_test_is_a_warning_never_a_pass(acceptance):
    findings = judge_tls(with_version("TLSv1", acceptance, "built without TLS 1.0"))

    assert codes(findings) == [catalog.VERSION_UNTESTABLE.code]
    assert findings[0].severity is Severity.WARNING
    assert "built without TLS 1.0" in findings[0].message
    assert "-tls1 " in findings[0].fix


def test_versions_never_probed_are_all_untestable():
    findings = judge_tls(dataclasses.replace(GOOD, versions=()))

    assert [(f.code, f.key) for f in findings] == [
        (catalog.VERSION_UNTESTABLE.code, name)
        for name in ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
    ]
    assert errors(findings) == []


@pytest.mark.parametrize(("days_left", "warns"), [(13, True), (14, False)])
def test_fewer_days_left_than_the_policy_minimum_warns(days_left, warns):
    inspection = dataclasses.replace(
        GOOD, not_after=NOW + dt.timedelta(days=days_left, hours=1), days_left=days_left
    )

    assert codes(judge_tls(inspection)) == ([catalog.EXPIRES_SOON.code] if warns else [])


def test_policy_minimum_days_left_is_configurable():
    findings = judge_tls(GOOD, TlsPolicy(min_days_left=120))

    assert codes(findings) == [catalog.EXPIRES_SOON.code]
    assert "90 days from now (policy: at least 120)" in findings[0].message


def test_certificate_not_yet_valid_is_an_error_and_the_chain_error_is_not_repeated():
    inspection = dataclasses.replace(
        GOOD,
        not_before=NOW + dt.timedelta(days=1),
        chain_verified=False,
        verify_code=9,
        verify_error="certificate is not yet valid",
    )

    assert codes(judge_tls(inspection)) == [catalog.NOT_YET_VALID.code]


def test_other_chain_failure_is_reported_with_openssl_text_and_code():
    inspection = dataclasses.replace(
        GOOD, chain_verified=False, verify_code=26, verify_error="unsuitable certificate purpose"
    )

    findings = judge_tls(inspection)

    assert codes(findings) == [catalog.CHAIN_INVALID.code]
    assert "unsuitable certificate purpose (OpenSSL verify code 26)" in findings[0].message


def test_untrusted_issuer_against_the_system_store_says_so():
    inspection = dataclasses.replace(
        GOOD,
        ca_file=None,
        chain_verified=False,
        verify_code=20,
        verify_error="unable to get local issuer certificate",
    )

    findings = judge_tls(inspection)

    assert codes(findings) == [catalog.UNTRUSTED_ISSUER.code]
    assert "the system trust store" in findings[0].message
    assert "/etc/docker/certs.d/mirror.test/ca.crt" in findings[0].fix


def test_certificate_without_san_names_explains_that_the_cn_does_not_count():
    inspection = dataclasses.replace(GOOD, sans=(), hostname_matches=False)

    findings = judge_tls(inspection)

    assert codes(findings) == [catalog.HOSTNAME_MISMATCH.code]
    assert "no names at all" in findings[0].message
    assert "ignores the CN" in findings[0].message


def test_name_that_could_not_be_checked_is_a_warning_not_a_pass():
    inspection = dataclasses.replace(
        GOOD, hostname_matches=None, hostname_error="unsupported certificate purpose"
    )

    findings = judge_tls(inspection)

    assert codes(findings) == [catalog.HOSTNAME_UNCHECKED.code]
    assert findings[0].severity is Severity.WARNING


def test_every_finding_renders_with_the_endpoint_and_a_fix():
    broken = dataclasses.replace(
        with_version("TLSv1", Acceptance.ACCEPTED),
        hostname_matches=False,
        key_size=1024,
        signature_hash="sha1",
    )

    findings = judge_tls(broken)

    assert len(findings) == 4
    for finding in findings:
        assert finding.render().startswith(f"{FQDN}:443 (at 10.0.0.7): ")
        assert finding.fix


@pytest.mark.parametrize(
    ("port", "path"),
    [
        (None, "/etc/docker/certs.d/mirror.test/ca.crt"),
        (443, "/etc/docker/certs.d/mirror.test/ca.crt"),
        (5000, "/etc/docker/certs.d/mirror.test:5000/ca.crt"),
    ],
)
def test_docker_ca_path_names_the_port_only_when_it_is_not_443(port, path):
    assert str(docker_ca_path(FQDN, port)) == path


# --- one judge per claim ---------------------------------------------------------


@pytest.mark.parametrize(
    "judge",
    [
        certificate.judge_name,
        certificate.judge_trust,
        lambda inspection: certificate.judge_validity(inspection, TlsPolicy()),
        lambda inspection: certificate.judge_strength(inspection, TlsPolicy()),
        lambda inspection: judge_versions(inspection, TlsPolicy(), ("TLSv1.2", "TLSv1.3")),
    ],
)
def test_every_claim_fails_on_an_unreachable_endpoint(judge):
    unreachable = dataclasses.replace(GOOD, connect_error="ConnectionRefusedError: refused")

    assert codes(judge(unreachable)) == [catalog.UNREACHABLE.code]


def test_version_judge_answers_only_for_the_versions_asked():
    inspection = with_version("TLSv1", Acceptance.ACCEPTED)

    assert judge_versions(inspection, TlsPolicy(), ("TLSv1.2", "TLSv1.3")) == []
    assert codes(judge_versions(inspection, TlsPolicy(), ("TLSv1", "TLSv1.1"))) == [
        catalog.LEGACY_VERSION_ACCEPTED.code
    ]


def test_every_finding_of_the_judges_is_a_catalog_rule_gated_by_a_tls_check():
    expired = dataclasses.replace(GOOD, not_after=NOW - dt.timedelta(days=1), versions=())
    for finding in judge_tls(expired):
        rule = catalog.RULES[finding.code]
        assert rule.gated_by and all(g.startswith("suites/test_tls_") for g in rule.gated_by)


def test_daemon_log_x509_phrase_is_explained_with_its_fix():
    log = (
        'level=warning msg="Error getting v2 registry: Get https://mirror.test/v2/: '
        'x509: certificate signed by unknown authority"\nlevel=info msg="unrelated"'
    )

    lines = x509_causes.certificate_errors(log, FQDN)
    explained = x509_causes.explain_certificate_errors(lines, FQDN)

    assert len(lines) == 1
    assert explained.startswith("the node does not trust the issuer")
    assert "/etc/docker/certs.d/mirror.test/ca.crt" in explained
    assert x509_causes.explain_certificate_errors([], FQDN) == (
        "no certificate error in the daemon log"
    )

"""The TLS probe against real handshakes with in-process servers on 127.0.0.1."""

from __future__ import annotations

import ssl

import pytest

from mirrorcheck.probes import tls_versions
from mirrorcheck.probes.tls import TlsInspection, inspect_tls
from mirrorcheck.probes.tls_versions import (
    Acceptance,
    classify_handshake_error,
    local_offer_problem,
    probe_version,
    probe_versions,
)
from mirrorcheck.targets.lab.certs import OTHER_HOST, LabCertificates, Variant
from tests.unit.tls_servers import LocalTlsServer, closed_port

FQDN = "mirror.test"
TIMEOUT = 2.0
OLD_VERSIONS = ("TLSv1", "TLSv1.1")
# A cipher that exists only for TLS 1.2: no TLS 1.0 ClientHello can carry it.
TLS12_ONLY_CIPHER = "ECDHE-ECDSA-AES128-GCM-SHA256"


@pytest.fixture(scope="module")
def certs() -> LabCertificates:
    return LabCertificates(FQDN)


@pytest.fixture(scope="module")
def ca_file(certs: LabCertificates, tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(certs.write(tmp_path_factory.mktemp("tls")).ca_cert)


def inspect(server: LocalTlsServer, ca_file: str | None, **kwargs: object) -> TlsInspection:
    return inspect_tls(
        server.address, server.port, server_name=FQDN, ca_file=ca_file, timeout=TIMEOUT, **kwargs
    )


def test_healthy_server_verifies_and_its_leaf_fields_are_read(certs, ca_file):
    with LocalTlsServer(certs.issue(Variant.HEALTHY)) as server:
        result = inspect(server, ca_file, check_versions=False)

    assert result.connect_error == ""
    assert result.verified
    assert (result.chain_verified, result.hostname_matches) == (True, True)
    assert (result.verify_code, result.verify_error) == (None, "")
    assert result.sans == (FQDN,)
    assert "O=mirrorcheck lab" in result.issuer
    assert result.subject and result.subject != result.issuer
    assert result.days_left in (364, 365)
    assert (result.key_type, result.key_size, result.signature_hash) == ("EC", 256, "sha256")
    assert result.protocol == "TLSv1.3"
    assert result.cipher.startswith("TLS_")


def test_probe_connects_to_the_address_but_sends_the_server_name_as_sni(certs, ca_file):
    with LocalTlsServer(certs.issue(Variant.HEALTHY)) as server:
        result = inspect(server, ca_file, check_versions=False)

    assert result.address == "127.0.0.1"
    assert result.endpoint == f"{FQDN}:{server.port} (at 127.0.0.1)"
    assert server.server_names and set(server.server_names) == {FQDN}


def test_certificate_for_another_host_has_a_trusted_chain_but_no_matching_name(certs, ca_file):
    with LocalTlsServer(certs.issue(Variant.OTHER_HOST)) as server:
        result = inspect(server, ca_file, check_versions=False)

    assert result.chain_verified
    assert result.hostname_matches is False
    assert "Hostname mismatch" in result.hostname_error
    assert result.sans == (OTHER_HOST,)
    assert not result.verified


def test_expired_certificate_fails_the_chain_for_its_dates_while_the_name_matches(certs, ca_file):
    with LocalTlsServer(certs.issue(Variant.EXPIRED)) as server:
        result = inspect(server, ca_file, check_versions=False)

    assert not result.chain_verified
    assert result.verify_code == 10
    assert "expired" in result.verify_error
    assert result.hostname_matches is True
    assert result.days_left is not None and result.days_left < 0


def test_certificate_from_another_ca_is_untrusted_while_the_name_matches(certs, ca_file):
    with LocalTlsServer(certs.issue(Variant.UNTRUSTED_CA)) as server:
        result = inspect(server, ca_file, check_versions=False)

    assert not result.chain_verified
    assert result.verify_code == 20
    assert "unable to get local issuer certificate" in result.verify_error
    assert result.hostname_matches is True
    assert "O=mirrorcheck stranger" in result.issuer


def test_without_a_ca_file_the_system_store_does_not_trust_the_lab_ca(certs):
    with LocalTlsServer(certs.issue(Variant.HEALTHY)) as server:
        result = inspect(server, None, check_versions=False)

    assert result.ca_file is None
    assert not result.chain_verified
    assert result.verify_code == 20


def test_unreachable_port_is_recorded_not_raised(ca_file):
    port = closed_port()
    result = inspect_tls("127.0.0.1", port, server_name=FQDN, ca_file=ca_file, timeout=TIMEOUT)

    assert "ConnectionRefusedError" in result.connect_error
    assert not result.verified
    assert [p.acceptance for p in result.versions] == [Acceptance.UNREACHABLE] * 4


def test_server_allowing_tls12_and_up_accepts_12_13_and_refuses_old_versions(certs):
    with LocalTlsServer(certs.issue(), minimum=ssl.TLSVersion.TLSv1_2) as server:
        probes = {
            p.version: p for p in probe_versions(server.address, server.port, timeout=TIMEOUT)
        }

    assert probes["TLSv1.2"].acceptance is Acceptance.ACCEPTED
    assert probes["TLSv1.3"].acceptance is Acceptance.ACCEPTED
    for name in OLD_VERSIONS:
        if local_offer_problem(name):
            assert probes[name].acceptance is Acceptance.CLIENT_CANNOT_OFFER
        else:
            assert probes[name].acceptance is Acceptance.REFUSED_BY_SERVER
            assert "PROTOCOL_VERSION" in probes[name].detail


def test_server_allowing_tls10_is_seen_accepting_it_or_reported_untestable(certs):
    with LocalTlsServer(
        certs.issue(), minimum=ssl.TLSVersion.TLSv1, ciphers=tls_versions.PROBE_CIPHERS
    ) as server:
        probe = probe_version(server.address, server.port, "TLSv1", timeout=TIMEOUT)

    problem = local_offer_problem("TLSv1")
    if problem or server.version_setup_error:
        assert probe.acceptance is Acceptance.CLIENT_CANNOT_OFFER
        assert probe.detail
    else:
        assert probe.acceptance is Acceptance.ACCEPTED
        assert probe.detail == "handshake completed as TLSv1"


def test_server_allowing_only_tls13_refuses_tls12(certs):
    with LocalTlsServer(certs.issue(), minimum=ssl.TLSVersion.TLSv1_3) as server:
        probe = probe_version(server.address, server.port, "TLSv1.2", timeout=TIMEOUT)

    assert probe.acceptance is Acceptance.REFUSED_BY_SERVER
    assert "TLSV1_ALERT_PROTOCOL_VERSION" in probe.detail


def test_version_the_client_cannot_offer_is_never_sent_to_the_server(certs):
    with LocalTlsServer(certs.issue(), minimum=ssl.TLSVersion.TLSv1) as server:
        probe = probe_version(
            server.address, server.port, "TLSv1", timeout=TIMEOUT, ciphers=TLS12_ONLY_CIPHER
        )

    assert probe.acceptance is Acceptance.CLIENT_CANNOT_OFFER
    assert "TLS 1.0" in probe.detail
    assert server.connections == 0


def test_version_missing_from_the_openssl_build_is_client_cannot_offer(certs, monkeypatch):
    monkeypatch.setattr(ssl, "HAS_TLSv1_1", False)
    with LocalTlsServer(certs.issue()) as server:
        probe = probe_version(server.address, server.port, "TLSv1.1", timeout=TIMEOUT)

    assert probe.acceptance is Acceptance.CLIENT_CANNOT_OFFER
    assert "built without TLS 1.1" in probe.detail
    assert server.connections == 0


def test_client_with_default_security_level_never_reports_a_refusal_for_tls10(certs):
    # OpenSSL 3 at its default level offers TLS 1.0 but aborts on the server's
    # SHA-1 signature: that is the client's failure, not the server's refusal.
    with LocalTlsServer(
        certs.issue(), minimum=ssl.TLSVersion.TLSv1, ciphers=tls_versions.PROBE_CIPHERS
    ) as server:
        probe = probe_version(
            server.address, server.port, "TLSv1", timeout=TIMEOUT, ciphers="DEFAULT"
        )

    assert probe.acceptance in (Acceptance.ACCEPTED, Acceptance.CLIENT_CANNOT_OFFER)


def test_server_resetting_the_connection_during_the_handshake_is_a_refusal():
    with LocalTlsServer(None) as server:
        probe = probe_version(server.address, server.port, "TLSv1.2", timeout=TIMEOUT)

    assert probe.acceptance is Acceptance.REFUSED_BY_SERVER
    assert server.connections == 1


def test_plain_http_answer_is_not_a_tls_server():
    with LocalTlsServer(None, reply=b"HTTP/1.1 400 Bad Request\r\n\r\n") as server:
        probe = probe_version(server.address, server.port, "TLSv1.2", timeout=TIMEOUT)

    assert probe.acceptance is Acceptance.UNREACHABLE
    assert "not TLS" in probe.detail


def _ssl_error(reason: str, cls: type[ssl.SSLError] = ssl.SSLError) -> ssl.SSLError:
    error = cls(1, f"[SSL: {reason}]")
    error.reason = reason
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_ssl_error("TLSV1_ALERT_PROTOCOL_VERSION"), Acceptance.REFUSED_BY_SERVER),
        (_ssl_error("SSLV3_ALERT_HANDSHAKE_FAILURE"), Acceptance.REFUSED_BY_SERVER),
        (_ssl_error("UNSUPPORTED_PROTOCOL"), Acceptance.REFUSED_BY_SERVER),
        (_ssl_error("UNEXPECTED_EOF_WHILE_READING", ssl.SSLEOFError), Acceptance.REFUSED_BY_SERVER),
        (ConnectionResetError(104, "Connection reset by peer"), Acceptance.REFUSED_BY_SERVER),
        (_ssl_error("WRONG_VERSION_NUMBER"), Acceptance.UNREACHABLE),
        (TimeoutError("timed out"), Acceptance.UNREACHABLE),
        (_ssl_error("LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED"), Acceptance.CLIENT_CANNOT_OFFER),
        (_ssl_error("SOMETHING_NEW"), Acceptance.CLIENT_CANNOT_OFFER),
    ],
    ids=lambda value: getattr(value, "reason", None) or type(value).__name__,
)
def test_only_errors_that_come_from_the_server_count_as_refusals(error, expected):
    acceptance, detail = classify_handshake_error(error)

    assert acceptance is expected
    assert detail

"""Whether a running dockerd verifies the mirror's certificate, from docker info."""

from __future__ import annotations

from mirrorcheck.findings import Severity
from mirrorcheck.rules.daemon_json.assess import assess, parse_daemon_json
from mirrorcheck.rules.daemon_json.catalog import MIRROR_INSECURE
from mirrorcheck.rules.daemon_json.insecure_registries import (
    CODE,
    InsecureRegistries,
    insecure_mirror_findings,
    mirror_host,
    why_insecure,
)

MIRROR = "https://mirror.test"
MIRROR_ADDRESS = ["172.18.0.4"]
DOCKER_HUB = {"Name": "docker.io", "Mirrors": ["https://mirror.test/"], "Secure": True}

# docker info's RegistryConfig on Engine 20.10, as measured in the lab: the
# reference daemon.json, then the same with "insecure-registries": ["mirror.test"].
INFO_SECURE = {
    "InsecureRegistryCIDRs": ["127.0.0.0/8"],
    "IndexConfigs": {"docker.io": DOCKER_HUB},
    "Mirrors": ["https://mirror.test/"],
}
INFO_MIRROR_INSECURE = {
    **INFO_SECURE,
    "IndexConfigs": {
        "docker.io": DOCKER_HUB,
        "mirror.test": {"Name": "mirror.test", "Mirrors": [], "Secure": False},
    },
}


def running(
    names: dict[str, bool] | None = None, cidrs: tuple[str, ...] = ()
) -> InsecureRegistries:
    """A RegistryConfig with these insecure names and ranges (127.0.0.0/8 always added)."""
    indexes = {"docker.io": DOCKER_HUB}
    indexes.update(
        {name: {"Name": name, "Secure": secure} for name, secure in (names or {}).items()}
    )
    return InsecureRegistries.from_docker_info(
        {"InsecureRegistryCIDRs": [*cidrs, "127.0.0.0/8"], "IndexConfigs": indexes}
    )


def test_a_daemon_with_the_mirror_secure_passes():
    registries = InsecureRegistries.from_docker_info(INFO_SECURE)
    assert insecure_mirror_findings(MIRROR, registries, addresses=MIRROR_ADDRESS) == []


def test_a_daemon_listing_the_mirror_insecure_is_an_error_naming_the_cause_and_the_fix():
    registries = InsecureRegistries.from_docker_info(INFO_MIRROR_INSECURE, source="node-1 dockerd")
    findings = insecure_mirror_findings(
        MIRROR, registries, addresses=MIRROR_ADDRESS, where="node-1: docker info"
    )

    assert [(f.severity, f.code) for f in findings] == [(Severity.ERROR, CODE)]
    finding = findings[0]
    assert "'mirror.test' is listed by name in node-1 dockerd" in finding.message
    assert finding.path == "node-1: docker info"
    assert "remove 'mirror.test' from insecure-registries" in finding.fix
    assert "--insecure-registry" in finding.fix
    assert "/etc/docker/certs.d/mirror.test/ca.crt" in finding.fix


def test_other_insecure_registries_do_not_touch_the_mirror():
    registries = running({"registry.internal:5000": False}, ("10.9.0.0/16",))
    assert why_insecure(MIRROR, registries, MIRROR_ADDRESS) == ""


def test_the_name_must_match_host_and_port_exactly_as_dockerd_looks_it_up():
    # dockerd looks up the URL's host[:port]: "mirror.test:443" is another key.
    registries = running({"mirror.test:443": False})
    assert why_insecure(MIRROR, registries, MIRROR_ADDRESS) == ""
    assert "listed by name" in why_insecure("https://mirror.test:443", registries)


def test_a_range_containing_the_mirror_address_is_an_error_naming_the_range():
    reason = why_insecure(MIRROR, running(cidrs=("172.18.0.0/16",)), MIRROR_ADDRESS)
    assert "resolves to 172.18.0.4, inside the insecure range 172.18.0.0/16" in reason


def test_a_mirror_resolving_to_loopback_is_insecure_by_default():
    reason = why_insecure(MIRROR, running(), addresses=["127.0.1.1"])
    assert "127.0.0.0/8 (dockerd always treats it as insecure)" in reason


def test_a_loopback_mirror_url_is_insecure_without_any_resolution():
    assert why_insecure("https://127.0.0.1:5000", running())
    assert why_insecure("https://localhost", running())


def test_an_unresolved_name_is_judged_by_its_listing_alone():
    assert why_insecure(MIRROR, running(cidrs=("10.0.0.0/8",)), addresses=[]) == ""


def test_a_name_marked_secure_wins_over_a_matching_range():
    # isSecureIndex consults IndexConfigs before any range.
    registries = running({"mirror.test": True}, ("172.18.0.0/16",))
    assert why_insecure(MIRROR, registries, MIRROR_ADDRESS) == ""


def test_malformed_registry_config_values_are_ignored():
    registries = InsecureRegistries.from_docker_info(
        {"InsecureRegistryCIDRs": ["not a range", None], "IndexConfigs": ["mirror.test"]}
    )
    assert (registries.names, registries.networks) == ({}, ())
    assert InsecureRegistries.from_docker_info({}).names == {}


def test_mirror_host_is_the_url_host_with_its_port():
    assert mirror_host("https://mirror.test") == "mirror.test"
    assert mirror_host("https://mirror.test:8443/") == "mirror.test:8443"
    assert mirror_host("mirror.test") == "mirror.test"
    assert mirror_host("https://user@mirror.test") == "mirror.test"


def test_the_file_and_the_running_daemon_report_the_same_rule():
    doc = parse_daemon_json(
        '{"registry-mirrors": ["https://mirror.test"], "insecure-registries": ["mirror.test"]}'
    )
    in_file = assess(doc).findings
    in_daemon = insecure_mirror_findings(
        MIRROR, InsecureRegistries.from_docker_info(INFO_MIRROR_INSECURE)
    )
    assert {f.code for f in in_file} == {f.code for f in in_daemon} == {MIRROR_INSECURE.code}

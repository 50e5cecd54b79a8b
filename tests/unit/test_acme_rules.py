"""The ACME judgements and the lint of acme.json placement, on plain values (no Docker)."""

from __future__ import annotations

import yaml

from mirrorcheck.rules.traefik import catalog
from mirrorcheck.rules.traefik.acme import (
    judge_issued,
    judge_kept,
    judge_renewed,
    lint_acme_storage,
    storage_paths,
)
from mirrorcheck.targets.lab.edge.pebble import issued_serials, pebble_config
from mirrorcheck.targets.lab.edge.traefik_stack import TraefikStackSpec, lab_traefik_stack

ISSUED = {
    "fqdn": "mirror.test",
    "sans": ("mirror.test",),
    "trusted": True,
    "trust_error": "",
    "serial": "622f95ad1c9b2e4e",
    "issued": ["622f95ad1c9b2e4e"],
    "ca": "Pebble 2.4.0",
}
SPEC = TraefikStackSpec(
    image="traefik:v3.7",
    network="traefik_public",
    ca_server="https://acme.test:14000/dir",
    acme_address="192.168.0.2",
)


def codes(findings) -> list[str]:
    return [finding.code for finding in findings]


def test_a_certificate_the_ca_issued_for_the_name_passes():
    assert judge_issued(**ISSUED) == []


def test_traefiks_default_certificate_fails_naming_each_cause():
    findings = judge_issued(
        **{
            **ISSUED,
            "sans": ("8d3e.traefik.default",),
            "trusted": False,
            "trust_error": "self-signed certificate",
            "serial": "1",
        }
    )
    assert codes(findings) == [catalog.ACME_NOT_ISSUED.code]
    message = findings[0].message
    assert "not mirror.test" in message and "self-signed" in message and "serial 1" in message


def test_no_registry_behind_the_https_name_fails_even_with_a_good_certificate():
    findings = judge_issued(**ISSUED, registry_answer="GET https://mirror.test/v2/ answered 404")
    assert codes(findings) == [catalog.ACME_NOT_ISSUED.code]


def test_a_restart_that_kept_acme_json_passes_and_one_that_lost_it_fails():
    kept = {"fqdn": "mirror.test", "before": "aa", "after": "aa", "storage": "/acme/acme.json"}
    assert judge_kept(**kept, issued_before=1, issued_after=1, new_accounts=0) == []
    lost = judge_kept(**{**kept, "after": "bb"}, issued_before=1, issued_after=2, new_accounts=1)
    assert codes(lost) == [catalog.ACME_STORAGE_LOST.code]
    assert "1 new ACME account" in lost[0].message


def test_a_restart_serving_the_other_of_two_certificates_issued_before_it_kept_acme_json():
    # Ordered twice at the start: acme.json may hold the certificate not served before.
    kept = {"fqdn": "mirror.test", "before": "aa", "after": "bb", "storage": "/acme/acme.json"}
    assert (
        judge_kept(
            **kept, issued_before=2, issued_after=2, new_accounts=0, after_issued_before=True
        )
        == []
    )
    unknown = judge_kept(**kept, issued_before=2, issued_after=2, new_accounts=0)
    assert codes(unknown) == [catalog.ACME_STORAGE_LOST.code]
    assert "another certificate" in unknown[0].message


def test_a_new_account_alone_means_acme_json_was_lost():
    kept = {"fqdn": "mirror.test", "before": "aa", "after": "aa", "storage": "/tmp/acme.json"}
    assert codes(judge_kept(**kept, issued_before=1, issued_after=1, new_accounts=1)) == [
        catalog.ACME_STORAGE_LOST.code
    ]


def test_renewal_is_seen_when_another_serial_is_served():
    assert (
        judge_renewed(
            fqdn="mirror.test",
            first_serial="a",
            serials_seen=["a", "a", "b"],
            waited=44,
            lifetime=119,
        )
        == []
    )
    stale = judge_renewed(
        fqdn="mirror.test", first_serial="a", serials_seen=["a"] * 5, waited=210, lifetime=119
    )
    assert codes(stale) == [catalog.ACME_NOT_RENEWED.code]


def test_the_labs_traefik_stack_keeps_acme_json_on_a_volume():
    assert lint_acme_storage(lab_traefik_stack(SPEC), path="traefik.yml") == []


def test_acme_json_off_any_volume_is_found():
    text = lab_traefik_stack(TraefikStackSpec(**{**SPEC.__dict__, "acme_storage_on_volume": False}))
    findings = lint_acme_storage(text, path="traefik.yml")
    assert codes(findings) == [catalog.ACME_STORAGE_EPHEMERAL.code]
    assert "/tmp/acme.json" in findings[0].message and findings[0].path == "traefik.yml"


def test_the_default_storage_and_environment_settings_are_read():
    stack = {
        "services": {
            "proxy": {
                "image": "traefik:v3.7",
                "environment": ["TRAEFIK_CERTIFICATESRESOLVERS_LE_ACME_EMAIL=a@b.c"],
            },
            "kept": {
                "image": "traefik:v3.7",
                "environment": {"TRAEFIK_CERTIFICATESRESOLVERS_LE_ACME_STORAGE": "/le/acme.json"},
                "volumes": ["le:/le"],
            },
            "bound": {
                "image": "traefik:v3.7",
                "command": "--certificatesresolvers.le.acme.storage=/acme.json",
                "volumes": [{"type": "bind", "source": "/srv/acme.json", "target": "/acme.json"}],
            },
            "registry": {"image": "registry:2"},
        }
    }
    findings = lint_acme_storage(yaml.safe_dump(stack), path="s.yml")
    assert [f.message for f in findings] == [
        "service proxy: acme.json at /acme.json is on no volume"
    ]


def test_the_labs_stack_changes_only_the_acme_server_and_its_trust():
    document = yaml.safe_load(lab_traefik_stack(SPEC))
    service = document["services"]["traefik"]
    assert (
        "--certificatesresolvers.main.acme.caserver=https://acme.test:14000/dir"
        in (service["command"])
    )
    assert service["environment"] == {"LEGO_CA_CERTIFICATES": "/etc/mirrorcheck/acme-api-ca.crt"}
    assert {p["published"]: p["mode"] for p in service["ports"]} == {80: "host", 443: "host"}
    assert "--accesslog.format=json" in service["command"]


def test_pebbles_config_sets_the_validity_only_when_asked():
    assert "certificateValidityPeriod" not in pebble_config()["pebble"]
    assert pebble_config(120)["pebble"]["certificateValidityPeriod"] == 120


def test_storage_paths_per_traefik_service():
    assert storage_paths(lab_traefik_stack(SPEC)) == {"traefik": ["/acme/acme.json"]}
    assert storage_paths("services: {registry: {image: 'registry:2'}}") == {}
    assert storage_paths("services: [\n") == {}


def test_pebbles_serials_are_read_as_numbers():
    log = (
        "Pebble 2026/11/30 15:24:10 Issued certificate serial 0852afeb4d4a94b4 for order Lc8\n"
        "Pebble 2026/11/30 15:24:11 There are now 1 accounts in memory\n"
        "Pebble 2026/11/30 15:25:10 Issued certificate serial 3da02a055e242018 for order PZA\n"
    )
    assert issued_serials(log) == ["852afeb4d4a94b4", "3da02a055e242018"]

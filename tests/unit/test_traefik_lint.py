"""The Traefik routing lint on label sets, as a stack file places them."""

from __future__ import annotations

import pytest

from mirrorcheck.cli import main
from mirrorcheck.options import EXAMPLES
from mirrorcheck.rules.traefik import catalog as rules
from mirrorcheck.rules.traefik.labels import Label, hosts_of_rule, hosts_of_v1_rule
from mirrorcheck.rules.traefik.lint import TraefikSetup, lint_traefik_routing

FQDN = "mirror.example.com"
HEALTHY = {
    "traefik.enable": "true",
    "traefik.http.routers.mirror.rule": f"Host(`{FQDN}`)",
    "traefik.http.routers.mirror.entrypoints": "websecure",
    "traefik.http.routers.mirror.tls.certresolver": "letsencrypt",
    "traefik.http.services.mirror.loadbalancer.server.port": "5000",
    "traefik.swarm.network": "traefik_public",
}
GUIDE = {
    "traefik.frontend.rule": "Host:<your mirror FQDN>",
    "traefik.docker.network": "traefik_public",
    "traefik.port": "5000",
}


def labels(values: dict[str, str], placement: str = "deploy") -> list[Label]:
    return [
        Label(k, v, placement, line=i + 10, column=11) for i, (k, v) in enumerate(values.items())
    ]


def lint(values: dict[str, str], placement: str = "deploy", **options) -> list[str]:
    options.setdefault("networks", ["traefik_public"])
    findings = lint_traefik_routing(
        labels(values, placement),
        path="stack.yml",
        service="registry-mirror",
        fqdn=FQDN,
        registry_port=options.pop("registry_port", 5000),
        **options,
    )
    return [f.code for f in findings]


def test_the_guides_routing_with_v3_labels_under_deploy_passes():
    assert lint(HEALTHY) == []


def test_a_placeholder_host_stands_for_the_mirror_name():
    assert lint({**HEALTHY, "traefik.http.routers.mirror.rule": "Host(`<your mirror FQDN>`)"}) == []


def test_labels_on_the_container_are_not_read_in_swarm_mode():
    codes = lint(HEALTHY, placement="container")
    assert rules.CONTAINER_LABELS.code in codes
    assert rules.NO_ROUTE.code in codes


def test_the_guides_v1_labels_are_ignored_and_leave_no_route():
    codes = lint(GUIDE)
    assert codes.count(rules.V1_LABELS.code) == 2
    assert rules.NO_ROUTE.code in codes


def test_v1_labels_pass_on_traefik_1_when_asked_for():
    assert rules.V1_LABELS.code not in lint(GUIDE, setup=TraefikSetup(version=1))


def test_no_routing_labels_at_all_is_no_route():
    assert lint({}) == [rules.NO_ROUTE.code]


def test_a_host_rule_for_another_name_is_a_mismatch():
    codes = lint({**HEALTHY, "traefik.http.routers.mirror.rule": "Host(`registry.example.com`)"})
    assert codes == [rules.HOST_MISMATCH.code]


def test_a_router_on_the_plain_web_entrypoint_only_has_no_tls():
    values = {k: v for k, v in HEALTHY.items() if "certresolver" not in k}
    values["traefik.http.routers.mirror.entrypoints"] = "web"
    assert lint(values) == [rules.PLAIN_ENTRYPOINT.code]


def test_tls_on_the_entrypoint_itself_needs_no_router_tls_label():
    values = {k: v for k, v in HEALTHY.items() if "certresolver" not in k}
    assert lint(values) == []


def test_an_entrypoint_traefik_lacks_never_matches():
    values = {**HEALTHY, "traefik.http.routers.mirror.entrypoints": "https"}
    assert lint(values) == [rules.UNKNOWN_ENTRYPOINT.code]


def test_a_resolver_missing_from_traefiks_configuration_is_named():
    setup = TraefikSetup(resolvers=frozenset({"le"}))
    assert lint(HEALTHY, setup=setup) == [rules.UNKNOWN_RESOLVER.code]


def test_the_service_port_must_be_the_registrys_port():
    assert lint(HEALTHY, registry_port=5001) == [rules.PORT_MISMATCH.code]


def test_a_missing_service_port_is_a_warning():
    values = {k: v for k, v in HEALTHY.items() if "loadbalancer" not in k}
    assert lint(values) == [rules.PORT_MISSING.code]


def test_a_network_label_naming_a_network_the_service_does_not_join():
    assert lint(HEALTHY, networks=["backend"]) == [rules.NETWORK_NOT_JOINED.code]


def test_a_registry_on_no_network_traefik_shares():
    values = {k: v for k, v in HEALTHY.items() if "network" not in k}
    setup = TraefikSetup(networks=frozenset({"traefik_public"}))
    assert lint(values, networks=["backend"], setup=setup) == [rules.NETWORK_UNSHARED.code]


def test_traefik_enable_false_disables_the_route():
    assert lint({**HEALTHY, "traefik.enable": "false"}) == [rules.DISABLED.code]


def test_findings_carry_the_labels_position():
    findings = lint_traefik_routing(
        labels(GUIDE),
        path="stack.yml",
        service="s",
        fqdn=FQDN,
        registry_port=5000,
        networks=["traefik_public"],
    )
    first = findings[0]
    assert (first.path, first.line, first.column) == ("stack.yml", 10, 11)


@pytest.mark.parametrize(
    ("rule", "hosts"),
    [
        ("Host(`a.example`)", ("a.example",)),
        ("Host(`a`) || Host(`b`)", ("a", "b")),
        ("Host(`a`, `b`) && PathPrefix(`/v2`)", ("a", "b")),
        ("PathPrefix(`/v2`)", ()),
    ],
)
def test_host_names_are_read_from_v2_and_v3_rules(rule, hosts):
    assert hosts_of_rule(rule) == hosts


def test_host_names_are_read_from_v1_rules():
    assert hosts_of_v1_rule("Host:a.example,b.example") == ("a.example", "b.example")


def test_the_cli_lint_names_the_guides_stack_and_passes_the_reference(capsys):
    guide = str(EXAMPLES / "guide" / "registry-stack.yml")
    assert main(["lint", "traefik", guide, "--mirror-fqdn", "mirror.test"]) == 1
    assert "traefik/no-route" in capsys.readouterr().out
    reference = str(EXAMPLES / "registry-stack.yml")
    assert main(["lint", "traefik", reference, "--mirror-fqdn", "mirror.test"]) == 0


def test_labels_on_the_container_are_one_finding_listing_them():
    findings = lint_traefik_routing(
        labels(HEALTHY, "container"),
        path="stack.yml",
        service="registry-mirror",
        fqdn=FQDN,
        registry_port=5000,
        networks=["traefik_public"],
    )
    [misplaced] = [f for f in findings if f.code == rules.CONTAINER_LABELS.code]
    assert f"{len(HEALTHY)} traefik label(s)" in misplaced.message
    assert all(key in misplaced.message for key in HEALTHY)
    assert (misplaced.line, misplaced.column) == (10, 11)


def test_the_cli_lint_reports_a_placeholder_once_and_fills_it_with_mirror_fqdn(capsys):
    reference = str(EXAMPLES / "registry-stack.yml")
    assert main(["lint", "traefik", reference]) == 1
    out = capsys.readouterr().out
    assert out.count("error [") == 1 and "registry-stack/placeholder" in out
    assert "pass --mirror-fqdn HOST" in out
    assert main(["lint", "traefik", reference, "--mirror-fqdn", "mirror.example.com"]) == 0


def test_the_cli_lint_needs_a_mirror_fqdn_for_a_stack_without_placeholder(tmp_path, capsys):
    stack = (EXAMPLES / "registry-stack.yml").read_text().replace("<your mirror FQDN>", FQDN)
    (tmp_path / "stack.yml").write_text(stack)
    assert main(["lint", "traefik", str(tmp_path / "stack.yml")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "Fix: --mirror-fqdn mirror.example.com" in line
    assert main(["lint", "traefik", str(tmp_path / "stack.yml"), "--mirror-fqdn", FQDN]) == 0

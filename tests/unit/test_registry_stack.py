"""Reading the registry service of a stack file, and its lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorcheck.findings import Severity, errors
from mirrorcheck.rules.registry.config import load_config, read_config
from mirrorcheck.rules.registry.deployment import lint_deployment
from mirrorcheck.rules.registry.stack import load_stack, read_stack, split_image
from mirrorcheck.rules.registry.stack_lint import lint_stack
from mirrorcheck.text.yaml_source import YamlReadError

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "registry_config"
REFERENCE_STACK = CORPUS / "stack-reference.yml"


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def stack_of(service_body: str, tail: str = "") -> str:
    """A stack with one service ``mirror`` whose body is indented under it."""
    body = "".join(f"    {line}\n" for line in service_body.strip("\n").splitlines())
    return f'version: "3.8"\nservices:\n  mirror:\n{body}{tail}'


HARDENED_BODY = """\
image: registry:2
deploy:
  labels:
    - traefik.port=5000
volumes:
  - /var/data/registry/data:/var/lib/registry
  - /var/data/registry/config.yml:/etc/docker/registry/config.yml:ro
"""


# --------------------------------------------------------------------------- reading


def test_the_guide_stack_reads_as_image_ports_and_mounts():
    stack = read_stack(REFERENCE_STACK)
    assert (stack.service, stack.image) == ("registry-mirror", "registry:2")
    assert stack.version.major == 2
    assert stack.publishes(5000)
    assert stack.host_path_for("/var/lib/registry") == "/var/data/registry/registry-mirror-data"
    assert stack.config_mount.source == "/var/data/registry/registry-mirror-config.yml"
    assert stack.config_mount.target == "/etc/docker/registry/config.yml"
    assert stack.data_mount.persistent
    assert stack.labels["traefik.port"] == "5000"


def test_a_path_below_a_mount_maps_to_the_host_path_below_its_source():
    stack = read_stack(REFERENCE_STACK)
    assert stack.host_path_for("/var/lib/registry/docker/registry/v2") == (
        "/var/data/registry/registry-mirror-data/docker/registry/v2"
    )
    assert stack.mount_for("/var/lib/registry-other") is None


def test_port_5000_is_not_published_when_no_ports_are_listed():
    stack = load_stack(stack_of(HARDENED_BODY))
    assert not stack.publishes(5000)


def test_long_port_syntax_and_host_mode_are_read():
    stack = load_stack(
        stack_of(
            "image: registry:2\nports:\n  - target: 5000\n    published: 443\n    mode: host\n"
        )
    )
    [port] = stack.ports
    assert (port.target, port.published, port.mode) == (5000, 443, "host")


def test_short_port_forms_with_ip_protocol_and_range_are_read():
    stack = load_stack(
        stack_of(
            "image: registry:2\nports:\n  - 127.0.0.1:5000:5000\n  - 5001/udp\n"
            '  - "8000-8001:6000-6001"\n'
        )
    )
    assert [(p.host_ip, p.published, p.target, p.protocol) for p in stack.ports] == [
        ("127.0.0.1", 5000, 5000, "tcp"),
        ("", None, 5001, "udp"),
        ("", 8000, 6000, "tcp"),
        ("", 8001, 6001, "tcp"),
    ]


def test_swarm_configs_count_as_the_config_mount_with_their_file():
    stack = read_stack(CORPUS / "stack-hardened.yml")
    assert stack.config_mount.kind == "config"
    assert stack.config_mount.source == "/var/data/registry/registry-mirror-config.yml"


def test_named_tmpfs_and_anonymous_mounts_are_told_apart():
    stack = load_stack(
        stack_of(
            "image: registry:2\nvolumes:\n  - cache:/var/lib/registry\n  - /scratch\ntmpfs: /tmp\n"
        )
    )
    assert [(m.kind, m.persistent) for m in stack.mounts] == [
        ("volume", True),
        ("anonymous", False),
        ("tmpfs", False),
    ]


@pytest.mark.parametrize(
    ("image", "repository", "tag"),
    [
        ("registry:2", "registry", "2"),
        ("registry", "registry", ""),
        ("docker.io/library/registry:2.8.3@sha256:abc", "docker.io/library/registry", "2.8.3"),
        ("localhost:5000/registry", "localhost:5000/registry", ""),
        ("localhost:5000/registry:3", "localhost:5000/registry", "3"),
    ],
)
def test_split_image_handles_registry_ports_and_digests(image, repository, tag):
    assert split_image(image) == (repository, tag)


def test_a_non_registry_image_has_no_version():
    stack = load_stack(stack_of("image: example/docker-registry:2.8.2\n"))
    assert stack.version is None


def test_the_registry_service_is_found_among_others():
    text = "services:\n  proxy:\n    image: traefik:1.7\n  cache:\n    image: registry:3\n"
    assert load_stack(text).service == "cache"


def test_a_named_service_that_does_not_exist_is_a_finding():
    with pytest.raises(YamlReadError) as caught:
        load_stack(stack_of(HARDENED_BODY), service="registry")
    assert caught.value.finding.code == "registry-stack/no-registry-service"
    assert "mirror" in caught.value.finding.message


def test_a_stack_with_bad_yaml_is_one_finding(tmp_path):
    broken = tmp_path / "stack.yml"
    broken.write_text("services:\n  mirror:\n\timage: registry:2\n")
    findings = lint_deployment(CORPUS / "reference.yml", broken)
    assert "registry-stack/yaml-syntax" in codes(findings)


# --------------------------------------------------------------------------- the lint


def test_the_guide_stack_publishes_5000_and_keeps_its_placeholder():
    findings = lint_stack(read_stack(REFERENCE_STACK), read_config(CORPUS / "reference.yml"))
    assert codes(findings) == ["registry-stack/placeholder", "registry-stack/port-published"]
    placeholder, published = findings
    assert (placeholder.line, placeholder.column) == (11, 11)
    assert "<your mirror FQDN>" in placeholder.message
    assert published.severity is Severity.WARNING
    assert "every swarm node" in published.message


def test_a_hardened_stack_has_no_findings():
    assert lint_stack(read_stack(CORPUS / "stack-hardened.yml")) == []


def test_registry_3_with_the_registry_2_config_path_is_an_error():
    findings = lint_stack(read_stack(CORPUS / "stack-registry3-old-path.yml"))
    [finding] = [f for f in findings if f.code == "registry-stack/config-path"]
    assert (finding.line, finding.column) == (18, 9)
    assert "/etc/distribution/config.yml" in finding.fix


def test_a_stack_without_the_data_volume_loses_the_cache():
    findings = lint_stack(read_stack(CORPUS / "stack-no-data-volume.yml"))
    assert "registry-stack/storage-not-mounted" in codes(errors(findings))


def test_the_storage_check_follows_the_configured_rootdirectory():
    config = load_config(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /cache\n"
        "  delete:\n    enabled: true\n"
    )
    findings = lint_stack(load_stack(stack_of(HARDENED_BODY)), config)
    assert codes(findings) == ["registry-stack/storage-not-mounted"]
    assert "/cache" in findings[0].message


def test_data_on_tmpfs_is_not_persistent():
    body = HARDENED_BODY.replace("  - /var/data/registry/data:/var/lib/registry\n", "")
    findings = lint_stack(load_stack(stack_of(body + "tmpfs:\n  - /var/lib/registry\n")))
    assert codes(findings) == ["registry-stack/storage-not-persistent"]


def test_data_on_a_local_named_volume_stays_on_one_node():
    body = HARDENED_BODY.replace("/var/data/registry/data:", "mirror-data:")
    findings = lint_stack(load_stack(stack_of(body, "volumes:\n  mirror-data: {}\n")))
    assert codes(findings) == ["registry-stack/storage-node-local"]


def test_data_on_a_shared_volume_driver_passes():
    body = HARDENED_BODY.replace("/var/data/registry/data:", "mirror-data:")
    tail = "volumes:\n  mirror-data:\n    driver: rexray/cephfs\n"
    assert lint_stack(load_stack(stack_of(body, tail))) == []


def test_read_only_data_is_an_error():
    body = HARDENED_BODY.replace(":/var/lib/registry\n", ":/var/lib/registry:ro\n")
    assert codes(lint_stack(load_stack(stack_of(body)))) == ["registry-stack/storage-read-only"]


def test_a_loopback_port_is_not_a_finding():
    body = HARDENED_BODY + "ports:\n  - 127.0.0.1:5000:5000\n"
    assert lint_stack(load_stack(stack_of(body))) == []


def test_a_published_debug_port_is_a_warning():
    config = read_config(CORPUS / "reference.yml")
    config_with_debug = load_config(
        config.doc.text.replace("  addr: :5000\n", "  addr: :5000\n  debug:\n    addr: :5001\n")
    )
    body = HARDENED_BODY + "ports:\n  - 5001:5001\n"
    findings = lint_stack(load_stack(stack_of(body)), config_with_debug)
    assert codes(findings) == ["registry-stack/debug-port-published"]


def test_a_traefik_port_other_than_http_addr_is_an_error():
    body = HARDENED_BODY.replace("traefik.port=5000", "traefik.port=5001")
    [finding] = lint_stack(load_stack(stack_of(body)))
    assert finding.code == "registry-stack/traefik-port-mismatch"
    assert finding.fix == "set traefik.port=5000"


def test_a_stack_without_config_mount_runs_the_built_in_config():
    body = HARDENED_BODY.replace(
        "  - /var/data/registry/config.yml:/etc/docker/registry/config.yml:ro\n", ""
    )
    assert codes(lint_stack(load_stack(stack_of(body)))) == ["registry-stack/config-not-mounted"]


def test_environment_overrides_are_called_out():
    body = (
        HARDENED_BODY + "environment:\n  REGISTRY_PROXY_REMOTEURL: https://registry-1.docker.io\n"
    )
    [finding] = lint_stack(load_stack(stack_of(body)))
    assert finding.code == "registry-stack/env-override"
    assert "proxy.remoteurl" in finding.message


def test_an_unpinned_image_is_a_warning():
    body = HARDENED_BODY.replace("registry:2", "registry:latest")
    assert codes(lint_stack(load_stack(stack_of(body)))) == ["registry-stack/image-unpinned"]


def test_a_restart_policy_that_gives_up_is_a_warning():
    body = HARDENED_BODY.replace(
        "deploy:\n", "deploy:\n  restart_policy:\n    condition: on-failure\n    max_attempts: 3\n"
    )
    [finding] = lint_stack(load_stack(stack_of(body)))
    assert finding.code == "registry-stack/restart-gives-up"
    assert "upstream is unreachable" in finding.message


@pytest.mark.parametrize(
    ("text", "code", "where"),
    [
        ("- services\n- registry\n", "registry-stack/no-registry-service", (None, None)),
        ("services: 3\n", "registry-stack/no-registry-service", (None, None)),
        ("services:\n  mirror:\n    image: \x00\x01", "registry-stack/yaml-syntax", (3, 12)),
        (
            "services:\n  mirror:\n    image: !!int registry\n",
            "registry-stack/yaml-syntax",
            (3, 12),
        ),
        (
            "services:\n  mirror: " + "{a: " * 300 + "1" + "}" * 300,
            "registry-stack/yaml-syntax",
            (2, 403),
        ),
    ],
)
def test_a_stack_that_is_not_a_stack_is_one_finding(text, code, where):
    with pytest.raises(YamlReadError) as caught:
        load_stack(text, path="stack.yml")
    finding = caught.value.finding
    assert (finding.code, finding.path) == (code, "stack.yml")
    assert (finding.line, finding.column) == where, finding.render()


def test_a_binary_stack_file_is_unreadable_with_its_place(tmp_path):
    path = tmp_path / "stack.yml"
    path.write_bytes(b"services:\n  mirror:\n    image: \xc3\x28\n")
    with pytest.raises(YamlReadError) as caught:
        read_stack(path)
    finding = caught.value.finding
    assert (finding.code, finding.line, finding.column) == ("registry-stack/unreadable", 3, 12)

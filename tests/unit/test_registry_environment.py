"""distribution's REGISTRY_* environment over the config file, and the config folder mount."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorcheck.findings import errors
from mirrorcheck.rules.limitations import parse_version
from mirrorcheck.rules.registry.config import load_config, read_config
from mirrorcheck.rules.registry.deployment import lint_config_and_stack, lint_deployment
from mirrorcheck.rules.registry.environment import (
    effective_config,
    environment_findings,
    environment_for_mirror,
    resolve,
    settings_of,
)
from mirrorcheck.rules.registry.stack import load_stack, read_stack
from mirrorcheck.rules.registry.stack_lint import lint_stack

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "registry_config"
ENV_CONFIG = CORPUS / "env-configured.yml"
ENV_STACK = CORPUS / "stack-env-configured.yml"
HUB = "https://registry-1.docker.io"


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def stack_with_environment(*lines: str, image: str = "registry:2.8.3") -> str:
    environment = "".join(f"      - {line}\n" for line in lines)
    return (
        'version: "3.8"\nservices:\n  mirror:\n'
        f"    image: {image}\n"
        "    environment:\n"
        f"{environment}"
        "    volumes:\n"
        "      - /srv/data:/data\n"
        "      - /srv/config.yml:/etc/docker/registry/config.yml\n"
    )


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "version", "path"),
    [
        ("REGISTRY_PROXY_REMOTEURL", "2.8.3", ("proxy", "remoteurl")),
        ("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "2.8.3",
         ("storage", "filesystem", "rootdirectory")),
        ("REGISTRY_HTTP_ADDR", "2.8.3", ("http", "addr")),
        ("REGISTRY_HTTP_DEBUG_ADDR", "3.1.1", ("http", "debug", "addr")),
        ("REGISTRY_STORAGE_S3_REGION", "2.8.3", ("storage", "s3", "region")),
        ("REGISTRY_STORAGE_DELETE_ENABLED", "2.8.3", ("storage", "delete", "enabled")),
        ("REGISTRY_HEALTH_FILECHECKERS_0_FILE", "2.8.3", ("health", "file", "0", "file")),
        ("REGISTRY_NOTIFICATIONS_EVENTCONFIG_INCLUDEREFERENCES", "2.8.3",
         ("notifications", "events", "includereferences")),
        ("REGISTRY_PROXY_TTL", "3.0.0", ("proxy", "ttl")),
        ("REGISTRY_PROXY_EXEC_COMMAND", "3.0.0", ("proxy", "exec", "command")),
        ("REGISTRY_PROXY_CACHEWRITETIMEOUT", "3.1.0", ("proxy", "cachewritetimeout")),
        ("REGISTRY_REDIS_ADDRS", "3.1.1", ("redis", "addrs")),
        ("REGISTRY_REDIS_TLS_KEY", "3.0.0", ("redis", "tls", "key")),
        ("REGISTRY_REDIS_ADDR", "2.8.3", ("redis", "addr")),
    ],
)  # fmt: skip
def test_a_name_lands_on_the_key_distribution_sets(name, version, path):
    assert resolve(name, parse_version(version)).path == path


@pytest.mark.parametrize(
    ("name", "version", "problem", "refuses_start"),
    [
        ("REGISTRY_PROXY_REMOTE_URL", "2.8.3", "'REMOTE' names no field of proxy", False),
        ("REGISTRY_proxy_remoteurl", "2.8.3",
         "'proxy' names no field of the top level (the parser compares upper case: PROXY)", False),
        ("REGISTRY_HEALTH_FILE_0_FILE", "2.8.3", "'FILE' names no field of health", False),
        ("REGISTRY_PROXY_TTL", "2.8.3", "'TTL' names no field of proxy", False),
        ("REGISTRY_PROXY_CACHEWRITETIMEOUT", "3.0.0",
         "'CACHEWRITETIMEOUT' names no field of proxy", False),
        ("REGISTRY_REDIS_ADDRS", "3.0.0", "'ADDRS' names no field of redis", False),
        ("REGISTRY_HTTP_ADDR_PORT", "2.8.3",
         "http.addr is a value: the rest (PORT) is dropped silently", False),
        ("REGISTRY_STORAGE_FILESYSTM_ROOTDIRECTORY", "2.8.3",
         "'filesystm' is not a key of storage, and distribution adds it as one", True),
        ("REGISTRY_STORAGE_OSS_BUCKET", "3.0.0",
         "'oss' is not a key of storage, and distribution adds it as one", True),
        ("REGISTRY_NOTIFICATIONS_ENDPOINTS_X_NAME", "2.8.3",
         "'X' is not an index of notifications.endpoints", True),
    ],
)  # fmt: skip
def test_a_name_distribution_does_not_map_says_why(name, version, problem, refuses_start):
    resolved = resolve(name, parse_version(version))
    assert (resolved.path, resolved.problem, resolved.refuses_start) == (
        None,
        problem,
        refuses_start,
    )


# --------------------------------------------------------------------------- the positive control


def test_the_environment_makes_the_file_a_proxy_with_storage_on_the_volume():
    stack = read_stack(ENV_STACK)
    config = effective_config(read_config(ENV_CONFIG), settings_of(stack), stack.version)
    assert (config.remoteurl, config.rootdirectory) == (HUB, "/data")
    assert config.at(config.node("proxy.remoteurl")) == {
        "path": str(ENV_STACK),
        "line": 8,
        "column": 9,
        "excerpt": "REGISTRY_PROXY_REMOTEURL",
    }
    assert config.where("storage.filesystem.rootdirectory") == (9, 9)


def test_the_file_itself_is_left_as_written():
    original = read_config(ENV_CONFIG)
    effective_config(original, {"REGISTRY_PROXY_REMOTEURL": HUB})
    assert (original.remoteurl, original.rootdirectory) == (None, "/var/lib/registry")


def test_the_environment_configured_mirror_passes_the_combined_lint():
    findings = lint_deployment(ENV_CONFIG, ENV_STACK)
    assert errors(findings) == []
    assert codes(findings) == [
        "registry-config/debug-addr-missing",
        "registry-stack/env-override",
        "registry-stack/env-override",
    ]
    assert [(f.line, f.key) for f in findings[1:]] == [
        (8, "environment.REGISTRY_PROXY_REMOTEURL"),
        (9, "environment.REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"),
    ]


def test_without_the_environment_the_same_files_are_not_a_mirror():
    text = ENV_STACK.read_text().replace("REGISTRY_", "UNUSED_")
    stack = load_stack(text, path=str(ENV_STACK))
    findings = lint_config_and_stack(read_config(ENV_CONFIG), stack)
    assert codes(errors(findings)) == [
        "registry-config/proxy-missing",
        "registry-stack/storage-not-mounted",
    ]


def test_the_stack_alone_takes_the_rootdirectory_from_the_environment():
    stack = read_stack(ENV_STACK)
    assert errors(lint_stack(stack)) == []
    elsewhere = load_stack(ENV_STACK.read_text().replace("=/data", "=/elsewhere"))
    assert codes(errors(lint_stack(elsewhere))) == ["registry-stack/storage-not-mounted"]


# --------------------------------------------------------------------------- findings on env values


def test_a_wrong_value_set_by_the_environment_is_named_by_the_stack_line():
    stack = load_stack(
        stack_with_environment("REGISTRY_PROXY_REMOTEURL=http://registry-1.docker.io"),
        path="stack.yml",
    )
    config = load_config("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /data\n")
    [finding] = [f for f in lint_config_and_stack(config, stack) if f.code.endswith("not-https")]
    assert (
        finding.render()
        .splitlines()[0]
        .startswith("stack.yml:6:9: error [registry-config/remoteurl-not-https]")
    )
    assert finding.excerpt == "REGISTRY_PROXY_REMOTEURL"


def test_a_typo_in_a_name_is_an_error_at_its_line():
    stack = load_stack(
        stack_with_environment(
            "REGISTRY_PROXY_REMOTE_URL=https://registry-1.docker.io",
            "REGISTRY_STORAGE_FILESYSTM_ROOTDIRECTORY=/data",
            "OTHER_SETTING=1",
        ),
        path="stack.yml",
    )
    findings = environment_findings(settings_of(stack), stack.version)
    assert [(f.code, f.line, f.column) for f in findings] == [
        ("registry-stack/env-ignored", 6, 9),
        ("registry-stack/env-breaks-start", 7, 9),
    ]
    assert findings[0].message == (
        "environment REGISTRY_PROXY_REMOTE_URL: 'REMOTE' names no field of proxy; distribution "
        "ignores it, so its value never reaches the registry"
    )
    # The misspelt driver sets nothing: the default rootdirectory is on no volume.
    assert codes(errors(lint_stack(stack))) == [
        "registry-stack/storage-not-mounted",
        "registry-stack/env-ignored",
        "registry-stack/env-breaks-start",
    ]


def test_a_value_that_is_not_yaml_stops_the_registry():
    findings = environment_findings({"REGISTRY_HTTP_ADDR": "[:5000"})
    assert codes(findings) == ["registry-stack/env-breaks-start"]


def test_a_whole_section_can_be_set_as_yaml():
    config = effective_config(
        load_config("version: 0.1\nstorage: inmemory\n"),
        {"REGISTRY_PROXY": "{remoteurl: https://registry-1.docker.io, ttl: 0}"},
        "3.1.1",
    )
    assert (config.remoteurl, config.get("proxy.ttl")) == (HUB, 0)


def test_a_driver_added_over_a_bare_driver_name_makes_two():
    config = effective_config(
        load_config("version: 0.1\nstorage: inmemory\n"),
        {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/data"},
    )
    assert config.storage_drivers == ["inmemory", "filesystem"]


def test_a_list_item_is_set_by_index_and_the_next_index_appends():
    config = effective_config(
        load_config("version: 0.1\nnotifications:\n  endpoints:\n    - name: a\n"),
        {
            "REGISTRY_NOTIFICATIONS_ENDPOINTS_0_URL": "https://a.example",
            "REGISTRY_NOTIFICATIONS_ENDPOINTS_1_NAME": "b",
        },
    )
    assert config.get("notifications.endpoints") == [
        {"name": "a", "url": "https://a.example"},
        {"name": "b"},
    ]


def test_a_password_from_the_environment_is_never_an_excerpt():
    stack = load_stack(
        stack_with_environment("REGISTRY_PROXY_PASSWORD=hunter2hunter2", image="registry:3.1.1")
    )
    config = effective_config(load_config("version: 0.1\n"), settings_of(stack), stack.version)
    assert config.get("proxy.password") == "hunter2hunter2"
    assert config.at(config.node("proxy.password"))["excerpt"] == "REGISTRY_PROXY_PASSWORD"
    assert all("hunter2" not in f.render() for f in lint_stack(stack))


def test_the_mirror_gets_the_stack_environment_as_written():
    stack = read_stack(ENV_STACK)
    assert environment_for_mirror(stack) == {
        "REGISTRY_PROXY_REMOTEURL": HUB,
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/data",
    }


# --------------------------------------------------------------------------- config folder


def folder_stack(tmp_path: Path, source: str, target: str, image: str = "registry:2") -> Path:
    path = tmp_path / "stack.yml"
    path.write_text(
        'version: "3.8"\nservices:\n  mirror:\n'
        f"    image: {image}\n"
        "    volumes:\n"
        "      - /srv/data:/var/lib/registry\n"
        f"      - {source}:{target}\n"
    )
    return path


def test_a_config_folder_is_read_as_its_config_yml(tmp_path):
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "config.yml").write_text(
        (CORPUS / "reference.yml").read_text().replace(HUB, "http://registry-1.docker.io")
    )
    stack_path = folder_stack(tmp_path, "./registry", "/etc/docker/registry")
    stack = read_stack(stack_path)
    assert stack.config_source == str(tmp_path / "registry" / "config.yml")
    findings = lint_deployment(None, stack_path)
    assert codes(errors(findings)) == ["registry-config/remoteurl-not-https"]
    assert findings[0].path == str(tmp_path / "registry" / "config.yml")


def test_a_config_folder_at_the_3x_path_passes_for_registry_3(tmp_path):
    stack = read_stack(folder_stack(tmp_path, "/srv/conf", "/etc/distribution/", "registry:3"))
    assert codes(lint_stack(stack)) == []
    old = read_stack(folder_stack(tmp_path, "/srv/conf", "/etc/docker/registry", "registry:3"))
    [finding] = lint_stack(old)
    assert finding.code == "registry-stack/config-path"
    assert finding.fix == "mount /srv/conf at /etc/distribution"


def test_a_config_folder_the_lint_cannot_see_is_a_warning(tmp_path):
    stack_path = folder_stack(tmp_path, "/nonexistent/registry", "/etc/docker/registry")
    findings = lint_deployment(None, stack_path)
    assert codes(findings) == ["registry-stack/config-folder-unseen"]
    assert findings[0].message == (
        "the registry reads its config from /etc/docker/registry/config.yml, but the lint "
        "cannot read it (/nonexistent/registry/config.yml does not exist here): the config "
        "itself is not judged"
    )
    assert (findings[0].line, findings[0].column) == (7, 9)
    volume = read_stack(folder_stack(tmp_path, "registry_config", "/etc/docker/registry"))
    assert volume.config_source is None


def test_a_key_the_environment_adds_is_placed_at_its_variable():
    stack = load_stack(
        stack_with_environment("REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io"),
        path="stack.yml",
    )
    config = effective_config(load_config("version: 0.1\n"), settings_of(stack), stack.version)
    proxy = config.doc.root.value[-1][0]
    assert (proxy.value, config.at(proxy)["path"], config.at(proxy)["line"]) == (
        "proxy",
        "stack.yml",
        6,
    )


def test_a_3_x_ttl_from_the_environment_is_judged_at_its_variable():
    stack = load_stack(
        stack_with_environment(
            "REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io",
            "REGISTRY_PROXY_TTL=7",
            image="registry:3.1.1",
        ).replace("/etc/docker/registry/config.yml", "/etc/distribution/config.yml"),
        path="stack.yml",
    )
    config = load_config(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /data\n"
        "  delete:\n    enabled: true\n"
    )
    found = [
        (f.code, f.path, f.line, f.column) for f in errors(lint_config_and_stack(config, stack))
    ]
    assert found == [("registry-config/proxy-ttl-invalid", "stack.yml", 7, 9)]

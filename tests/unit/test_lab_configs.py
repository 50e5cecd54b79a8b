"""What the lab runs: the user's mirror config with only the debug server changed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mirrorcheck.options import EXAMPLES, SettingsError
from mirrorcheck.settings import Settings, first_mirror_host
from mirrorcheck.targets.lab.configure import stack_keeps_storage
from mirrorcheck.targets.lab.proxy_conf import nginx_conf
from mirrorcheck.targets.lab.registry_configs import (
    RegistryConfigError,
    mirror_config,
    storage_root,
    upstream_config,
)
from mirrorcheck.waiting import WaitTimeout, wait_until

REFERENCE = (EXAMPLES / "registry-config.yml").read_text()


def test_mirror_config_changes_only_the_debug_server():
    text, changes = mirror_config(REFERENCE)
    original, running = yaml.safe_load(REFERENCE), yaml.safe_load(text)
    assert running["proxy"]["remoteurl"] == "https://registry-1.docker.io"
    assert running["http"]["debug"] == {"addr": ":5001"}
    del running["http"]["debug"]
    assert running == original
    assert changes == ["http.debug.addr: set to ':5001' (the mirror's counters)"]


def test_a_mistyped_remote_url_runs_as_written():
    mistyped = REFERENCE.replace("registry-1.docker.io", "registry-1.docker.com")
    text, changes = mirror_config(mistyped)
    assert yaml.safe_load(text)["proxy"]["remoteurl"] == "https://registry-1.docker.com"
    assert not any("remoteurl" in change for change in changes)


def test_a_config_with_its_own_debug_server_runs_byte_for_byte():
    own = REFERENCE.replace("http:\n", "http:\n  debug:\n    addr: :5001\n", 1)
    assert mirror_config(own) == (own, [])


def test_camel_case_remote_url_is_left_as_distribution_would_ignore_it():
    text, changes = mirror_config(REFERENCE.replace("remoteurl", "remoteUrl"))
    proxy = yaml.safe_load(text)["proxy"]
    assert proxy == {"remoteUrl": "https://registry-1.docker.io"}
    assert not any("remoteurl" in change for change in changes)


def test_config_without_proxy_section_stays_a_plain_registry():
    without = REFERENCE.split("proxy:")[0]
    text, _ = mirror_config(without)
    assert "proxy" not in yaml.safe_load(text)


def test_broken_yaml_names_the_file_line_and_column():
    with pytest.raises(RegistryConfigError, match=r"config\.yml:4:1: error \[registry-config/"):
        mirror_config("version: 0.1\nhttp:\n  addr: [unclosed\n", "config.yml")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", ""])
def test_a_config_that_is_no_mapping_stops_the_lab_with_the_lints_finding(text):
    refused = r"(?s)registry-config/not-a-mapping.*the lab cannot run"
    with pytest.raises(RegistryConfigError, match=refused):
        mirror_config(text, "config.yml")


def test_storage_root_follows_the_driver():
    assert storage_root(REFERENCE) == "/var/lib/registry"
    assert storage_root("storage:\n  inmemory: {}\n") is None


def test_upstream_logs_every_request_as_json():
    config = yaml.safe_load(upstream_config())
    assert config["log"]["formatter"] == "json"
    assert config["log"]["accesslog"] == {"disabled": False}


def test_upstream_answers_https_on_docker_hubs_port():
    http = yaml.safe_load(upstream_config())["http"]
    assert http["addr"] == ":443"
    assert set(http["tls"]) == {"certificate", "key"}


def test_reference_stack_keeps_the_storage_on_a_volume():
    stack = (EXAMPLES / "registry-stack.yml").read_text()
    assert stack_keeps_storage(stack, "/var/lib/registry")
    without = "\n".join(line for line in stack.splitlines() if "registry-mirror-data" not in line)
    assert not stack_keeps_storage(without, "/var/lib/registry")


def test_proxy_serves_tls_1_2_and_1_3_only_and_redirects_plain_http():
    conf = nginx_conf("mirror.test", "mirror:5000")
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "return 301 https://$host$request_uri;" in conf
    assert "client_max_body_size 0;" in conf and "proxy_buffering off;" in conf
    assert conf.count("proxy_pass") == 1
    assert nginx_conf("mirror.test", "mirror:5000", plaintext=True).count("proxy_pass") == 2


def test_mirror_fqdn_comes_from_the_daemon_json_under_test(tmp_path: Path):
    own = tmp_path / "daemon.json"
    own.write_text('{"registry-mirrors": ["https://registry-cache.corp.example"]}')
    assert (
        Settings.from_mapping({"daemon-json": str(own)}).mirror_fqdn
        == "registry-cache.corp.example"
    )
    assert Settings.from_mapping({}).mirror_fqdn == "mirror.test"  # the placeholder file
    assert first_mirror_host(b"{not json") is None


def test_every_option_falls_back_to_its_environment_variable(monkeypatch):
    monkeypatch.setenv("MIRRORCHECK_NODES", "5")
    monkeypatch.setenv("MIRRORCHECK_LAB_FAULT", "cert-expired,proxy-plaintext")
    settings = Settings.from_mapping({})
    assert settings.node_count == 5
    assert settings.lab_faults == ["cert-expired", "proxy-plaintext"]
    assert Settings.from_mapping({"nodes": "2"}).node_count == 2


def test_unknown_fault_and_unreadable_file_name_the_option():
    with pytest.raises(SettingsError, match="unknown --lab-fault"):
        _ = Settings.from_mapping({"lab-fault": ["cert-wrong"]}).lab_faults
    with pytest.raises(SettingsError, match="--daemon-json"):
        Settings.from_mapping({"daemon-json": "/nonexistent/daemon.json"}).daemon_json_bytes()


def test_a_wait_that_runs_out_says_what_it_waited_for():
    with pytest.raises(
        WaitTimeout, match=r"waited 0\.2 s for the thing to happen; last answer: False"
    ):
        wait_until(lambda: False, timeout=0.2, interval=0.05, what="the thing to happen")


def test_a_wait_stops_at_once_when_told_to_give_up():
    with pytest.raises(WaitTimeout, match="stopped waiting for x: container exited"):
        wait_until(lambda: False, timeout=30, what="x", give_up=lambda: "container exited")


def test_impossible_runs_are_named_before_anything_starts(tmp_path: Path):
    problems = Settings.from_mapping(
        {"daemon-json": str(tmp_path / "missing.json"), "lab-fault": ["cert-wrong"]}
    ).problems()
    assert any("--daemon-json" in p and "no such file" in p for p in problems)
    assert any("unknown --lab-fault cert-wrong" in p for p in problems)
    live = Settings.from_mapping({"mirror-url": "https://mirror.example.com"}).problems()
    assert live == [
        "live mode (--mirror-url) needs the nodes to check. Fix: add --node URL for each "
        "(local, ssh://user@host[:port], docker://container)"
    ]
    assert Settings.from_mapping({}).problems() == []


def test_a_number_option_that_is_not_a_number_names_the_option():
    with pytest.raises(SettingsError, match=r"--nodes \(or MIRRORCHECK_NODES\) must be a number"):
        Settings.from_mapping({"nodes": "abc"})

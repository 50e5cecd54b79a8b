"""containerd hosts.toml beside a daemon.json: the lint rule, without Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorcheck.findings import Severity
from mirrorcheck.rules.daemon_json.assess import main as lint_daemon_json
from mirrorcheck.rules.hosts_toml.catalog import INVALID_TOML, OVERRIDES_MIRRORS, UNREADABLE
from mirrorcheck.rules.hosts_toml.lint import lint_hosts_toml, main, speaks_for_docker_hub

HUB = "/etc/docker/certs.d/docker.io/hosts.toml"
SERVER_ONLY = b'server = "https://registry-1.docker.io"\n'
ONE_HOST = (
    SERVER_ONLY + b'\n[host."https://elsewhere.test"]\n  capabilities = ["pull", "resolve"]\n'
)


def test_server_only_keeps_the_mirrors():
    assert lint_hosts_toml(SERVER_ONLY, HUB) == []


def test_one_host_section_already_overrides_the_mirrors():
    (finding,) = lint_hosts_toml(ONE_HOST, HUB)
    assert finding.code == OVERRIDES_MIRRORS.code
    assert finding.severity is Severity.ERROR
    assert (finding.line, finding.column) == (3, 1)
    assert "https://elsewhere.test" in finding.message
    assert finding.excerpt == '[host."https://elsewhere.test"]'


@pytest.mark.parametrize("directory", ["docker.io", "registry-1.docker.io"])
def test_both_node_places_speak_for_docker_hub(directory):
    data = b'[host."https://elsewhere.test"]\n'
    (finding,) = lint_hosts_toml(data, f"/etc/docker/certs.d/{directory}/hosts.toml")
    assert finding.code == OVERRIDES_MIRRORS.code


def test_another_registrys_hosts_do_not_touch_docker_hubs_mirrors():
    data = b'server = "https://ghcr.io"\n[host."https://ghcr-cache.test"]\n'
    assert lint_hosts_toml(data, "/etc/docker/certs.d/ghcr.io/hosts.toml") == []


def test_a_file_outside_certs_d_is_judged_by_its_server():
    assert speaks_for_docker_hub("hosts.toml", {"server": "https://registry-1.docker.io:443"})
    assert not speaks_for_docker_hub("hosts.toml", {"server": "https://quay.io"})
    assert lint_hosts_toml(ONE_HOST, "deploy/hosts.toml")[0].code == OVERRIDES_MIRRORS.code


def test_classic_store_makes_it_a_warning():
    (finding,) = lint_hosts_toml(ONE_HOST, HUB, "classic")
    assert finding.severity is Severity.WARNING
    assert "containerd store" in finding.message


def test_broken_toml_has_its_position():
    (finding,) = lint_hosts_toml(b'server = "https://registry-1.docker.io"\n[host.\n', HUB)
    assert finding.code == INVALID_TOML.code
    assert finding.line == 2
    assert finding.column is not None


def test_bytes_that_are_not_utf8():
    (finding,) = lint_hosts_toml(b"server = '\xff'\n", HUB)
    assert finding.code == UNREADABLE.code


def test_unknown_image_store_is_a_programming_error():
    with pytest.raises(ValueError, match="image store"):
        lint_hosts_toml(SERVER_ONLY, HUB, "overlay2")


def test_command_line_exit_codes(tmp_path: Path, capsys):
    hub = tmp_path / "docker.io"
    hub.mkdir()
    (hub / "hosts.toml").write_bytes(ONE_HOST)
    assert main([str(hub / "hosts.toml")]) == 1
    assert "[hosts-toml/overrides-mirrors]" in capsys.readouterr().out
    (hub / "hosts.toml").write_bytes(SERVER_ONLY)
    assert main([str(hub / "hosts.toml")]) == 0
    assert main([str(tmp_path / "missing" / "hosts.toml")]) == 2


def test_lint_daemon_json_takes_a_hosts_toml_beside_the_daemon_json(tmp_path: Path, capsys):
    (tmp_path / "daemon.json").write_text('{"registry-mirrors": ["https://mirror.test"]}')
    (tmp_path / "hosts.toml").write_bytes(ONE_HOST)
    files = [str(tmp_path / "daemon.json"), str(tmp_path / "hosts.toml")]
    assert lint_daemon_json([*files, "--engine-version", "28.5"]) == 1
    assert "error [hosts-toml/overrides-mirrors]" in capsys.readouterr().out
    # 20.10 has no containerd store: a warning, the daemon.json itself is fine
    assert lint_daemon_json([*files, "--engine-version", "20.10"]) == 0

"""A bad option is one usage error naming the option and the fix, found before anything starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from mirrorcheck.cli import main as cli_main
from mirrorcheck.options import EXAMPLES, OPTIONS
from mirrorcheck.pytest_plugin.options import metavar_of, replace_stale_reports
from mirrorcheck.report.summary import load_schema
from mirrorcheck.settings import Settings, report_dir_problem
from mirrorcheck.text.endpoints import (
    check_host_name,
    check_node_url,
    parse_host_port,
    parse_mirror_url,
)

LIVE = {"mirror-url": "https://mirror.example.com", "node": ["local"]}


def only_problem(values: dict[str, object]) -> str:
    problems = Settings.from_mapping(values).problems()
    assert len(problems) == 1, problems
    return problems[0]


def test_a_healthy_live_run_has_no_problem():
    assert Settings.from_mapping({**LIVE, "mirror-address": "10.0.0.5:8443"}).problems() == []


def test_an_empty_mirror_url_given_explicitly_is_refused_not_run_hermetic():
    problem = only_problem({"mirror-url": "", "node": ["ssh://admin@node1"]})
    assert problem.startswith("--mirror-url was given an empty value. Fix:")


def test_an_empty_environment_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("MIRRORCHECK_MIRROR_URL", "")
    assert Settings.from_mapping({}).problems() == []


@pytest.mark.parametrize(
    ("name", "value", "least"),
    [("min-cert-days", "-5", 0), ("max-pulls", "-1", 0), ("max-fetches-per-blob", "0", 1)],
)
def test_numbers_below_their_floor_are_refused(name, value, least):
    problem = only_problem({name: value})
    assert problem.startswith(f"--{name} {value}: must be {least} or more. Fix:")


def test_zero_pulls_and_zero_days_are_allowed():
    assert Settings.from_mapping({**LIVE, "max-pulls": "0", "min-cert-days": "0"}).problems() == []


@pytest.mark.parametrize(
    ("values", "option", "told"),
    [
        ({"mirror-address": "127.0.0.1:99999"}, "--mirror-address", "port '99999'"),
        ({"mirror-address": "10.0.0.5:https"}, "--mirror-address", "port 'https'"),
        ({"mirror-url": "https://mirror.example.com:0"}, "--mirror-url", "port '0'"),
        ({"mirror-url": "ftp://mirror.example.com"}, "--mirror-url", "http:// or https://"),
        ({"mirror-url": "https://mirror.example.com/v2"}, "--mirror-url", "no user, path"),
        ({"ca-file": "/nonexistent/ca.pem"}, "--ca-file", "no such file"),
        ({"node": ["ftp://node1"]}, "--node", "not a node URL"),
        ({"node": ["ssh://admin:pw@node1"]}, "--node", "carries a password"),
        ({"node": ["docker://"]}, "--node", "names no container"),
    ],
)
def test_an_invalid_live_option_is_one_usage_error_naming_it(values, option, told):
    problem = only_problem({**LIVE, **values})
    assert problem.startswith(option) and told in problem and "Fix:" in problem


def test_a_mirror_fqdn_must_be_a_dns_host_name():
    problem = only_problem({"mirror-fqdn": "mirror.test;rm -rf /"})
    assert problem.startswith("--mirror-fqdn: 'mirror.test;rm -rf /' is not a DNS host name")
    assert "Fix: give the mirror's DNS name" in problem
    assert Settings.from_mapping({"mirror-fqdn": "registry-cache.corp.example"}).problems() == []


@pytest.mark.parametrize("name", ["", "-a.example", "a..example", "a_b.example", "x" * 64])
def test_host_names_outside_rfc_1123_are_refused(name):
    with pytest.raises(ValueError):
        check_host_name(name)


def test_the_target_forms_parse():
    assert parse_mirror_url("https://mirror.example.com/") == ("https", "mirror.example.com", 443)
    assert parse_mirror_url("http://10.0.0.5:5000") == ("http", "10.0.0.5", 5000)
    assert parse_host_port("[::1]:8443", 443) == ("::1", 8443)
    assert parse_host_port("10.0.0.5", 443) == ("10.0.0.5", 443)
    for url in ("local", "ssh://admin@node1:2222", "ssh://node1", "docker://dind-1"):
        check_node_url(url)


def test_a_report_dir_that_is_a_file_is_a_usage_error(tmp_path: Path):
    a_file = tmp_path / "reports"
    a_file.write_text("x")
    problem = only_problem({"report-dir": str(a_file)})
    assert problem.startswith(f"--report-dir {a_file}: is a file, not a folder. Fix:")
    assert report_dir_problem(a_file / "below") is not None  # under a file: cannot be made
    assert report_dir_problem(tmp_path / "new" / "dir") is None


def test_after_a_usage_error_the_report_dir_holds_no_older_run(tmp_path: Path):
    for name, text in (("summary.json", "{}"), ("junit.xml", "<x/>"), ("report.html", "<p>")):
        (tmp_path / name).write_text(text)
    replace_stale_reports(tmp_path, ["--max-pulls -1: must be 0 or more. Fix: ..."], False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]
    document = json.loads((tmp_path / "summary.json").read_text())
    jsonschema.validate(document, load_schema())
    assert (document["verdict"], document["exit_code"]) == ("usage_error", 4)
    assert document["problems"] == ["--max-pulls -1: must be 0 or more. Fix: ..."]


def test_a_usage_error_writes_nowhere_that_held_no_reports(tmp_path: Path):
    replace_stale_reports(tmp_path / "reports", ["x"], written_anyway=False)
    assert not (tmp_path / "reports").exists()


def test_secrets_of_the_options_and_files_are_known(tmp_path: Path):
    config = tmp_path / "config.yml"
    config.write_text("proxy:\n  remoteurl: https://registry-1.docker.io\n  Password: filepass1\n")
    settings = Settings.from_mapping(
        {**LIVE, "mirror-url": "https://u:urlpass1@m.example", "registry-config": str(config)}
    )
    assert {"urlpass1", "filepass1"} <= settings.known_secrets()


def test_lint_daemon_json_refuses_a_mirror_url_of_another_scheme(tmp_path: Path, capsys):
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text('{"registry-mirrors": ["https://mirror.example.com"]}')
    assert cli_main(["lint", "daemon-json", str(daemon_json), "--mirror-url", "ftp://x"]) == 2
    assert "an http:// or https:// URL" in capsys.readouterr().err


def test_the_lint_prints_control_characters_of_a_text_file_escaped(tmp_path: Path, capsys):
    text = tmp_path / "daemon.json"
    text.write_bytes(b'{"registry-mirrors": ["https://mirror.example.com"], "x": "\x1b[2J\x07"}')
    assert cli_main(["lint", "daemon-json", str(text)]) == 1
    printed = capsys.readouterr()
    assert "\x1b" not in printed.out + printed.err and "\x07" not in printed.out + printed.err
    assert "\\x1b[2J" in printed.out + printed.err


def test_the_lint_names_a_binary_file_in_one_line_without_its_bytes(tmp_path: Path, capsys):
    binary = tmp_path / "daemon.json"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x1b[2J\x1b]0;owned\x07\x00{}" * 20)
    assert cli_main(["lint", "daemon-json", str(binary)]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    [line] = printed.err.splitlines()
    assert line == (
        f"{binary}: error: this is binary (an ELF executable), not a daemon.json; fix: give a "
        "daemon.json (dockerd reads /etc/docker/daemon.json unless --config-file)"
    )


@pytest.mark.parametrize(
    ("argv", "told"),
    [
        (
            ["traefik", "STACK", "--mirror-fqdn", "https://mirror.example.com"],
            "'https://mirror.example.com' is a URL, not a host name. Fix: give its host, "
            "--mirror-fqdn mirror.example.com",
        ),
        (["traefik", "STACK", "--mirror-fqdn", "mirror_1.example"], "not a DNS host name"),
        (["daemon-json", "DAEMON", "--mirror-url", ""], "--mirror-url: an empty value. Fix:"),
        (["daemon-json", "DAEMON", "--mirror-url="], "--mirror-url: an empty value. Fix:"),
        (["daemon-json", "DAEMON", "--mirror-url", "https://m.example.com/v2"], "no user, path"),
        (["daemon-json", "DAEMON", "--mirror-url", "ftp://x"], "an http:// or https:// URL"),
        (["daemon-json", "DAEMON", "--mirror-fqdn", "a b"], "not a DNS host name"),
        (["registry-config", "CONFIG", "--stack", ""], "--stack: an empty file name. Fix:"),
        (["registry-config", "CONFIG", "--mirror-fqdn", ""], "--mirror-fqdn: an empty value"),
        (["hosts-toml", ""], "an empty file name. Fix: name the file"),
    ],
)
def test_a_bad_lint_option_is_one_usage_error_line_naming_the_fix(argv, told, capsys):
    files = {
        "STACK": str(EXAMPLES / "registry-stack.yml"),
        "DAEMON": str(EXAMPLES / "daemon.after.json"),
        "CONFIG": str(EXAMPLES / "registry-config.yml"),
    }
    assert cli_main(["lint", *(files.get(arg, arg) for arg in argv)]) == 2
    printed = capsys.readouterr()
    [line] = printed.err.splitlines()
    assert line.startswith(f"mirrorcheck lint {argv[0]}: error: ") and told in line, line
    assert "Fix:" in line and printed.out == ""


def test_pytest_help_shows_metavars_and_names_each_env_var():
    help_text = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    ).stdout
    assert "--nodes=N" in help_text and "--mirror-url=URL" in help_text
    assert "--daemon-json=FILE" in help_text and "--report-dir=DIR" in help_text
    assert "=MIRRORCHECK_" not in help_text
    flat = " ".join(help_text.split())
    for option in OPTIONS:
        assert f"env {option.env}" in flat, option.name
        assert metavar_of(option) != option.env


def test_the_lint_prints_no_secret(tmp_path: Path, capsys):
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nproxy:\n  remoteurl: https://bob:lintsecret1@registry-1.docker.io\n"
        "  Password: lintsecret2\n"
    )
    cli_main(["lint", "registry-config", str(config)])
    printed = capsys.readouterr()
    assert "Password" in printed.out  # the finding is there
    assert "lintsecret" not in printed.out + printed.err

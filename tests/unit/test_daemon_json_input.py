"""The daemon.json reader on input that is not a daemon.json: deep nesting, other formats, blanks.

Each is a finding with its place and a fix that is itself valid, never an exception.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirrorcheck.rules.daemon_json import other_formats
from mirrorcheck.rules.daemon_json.assess import assess, parse_daemon_json, read_daemon_json
from mirrorcheck.rules.daemon_json.other_formats import recognise
from mirrorcheck.text.json_positions import MAX_DEPTH

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "daemon_json"
MIRROR = "https://mirror.example.com"


def findings_of(data: str | bytes, mirror_url: str | None = MIRROR):
    return assess(parse_daemon_json(data, path="daemon.json"), mirror_url=mirror_url).findings


def only(findings, code: str):
    found = [f for f in findings if f.code == f"daemon-json/{code}"]
    assert len(found) == 1, [f.render() for f in findings]
    return found[0]


# -- nesting ------------------------------------------------------------------------


def test_a_file_nested_500_deep_is_a_finding_at_the_level_past_the_limit() -> None:
    doc = read_daemon_json(str(CORPUS / "deep-nesting.json"))
    result = assess(doc, mirror_url=MIRROR)
    finding = only(result.findings, "too-deep")
    # '{"registry-mirrors": ' is 21 characters; the object is level 1, so the
    # 100th '[' (column 22 + 99) opens level 101.
    assert (finding.path, finding.line, finding.column) == (
        str(CORPUS / "deep-nesting.json"),
        1,
        121,
    )
    assert f"more than {MAX_DEPTH} levels" in finding.message
    assert "flatten" in finding.fix
    assert not result.accepted
    assert result.dockerd_starts is False


def test_nesting_up_to_the_limit_is_read() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    codes = {f.code for f in findings_of(text)}
    assert "daemon-json/too-deep" not in codes
    assert "daemon-json/not-object" in codes


def test_nesting_far_past_the_interpreter_stack_is_still_a_finding() -> None:
    finding = only(findings_of("[" * 200_000), "too-deep")
    assert (finding.line, finding.column) == (1, MAX_DEPTH + 1)


# -- other formats ------------------------------------------------------------------


def test_a_containerd_hosts_toml_is_named_and_sent_where_it_belongs() -> None:
    doc = read_daemon_json(str(CORPUS / "hosts-toml.json"))
    finding = only(assess(doc).findings, "invalid-json")
    assert (finding.line, finding.column) == (1, 1)
    assert "containerd hosts.toml (TOML), not a daemon.json (JSON)" in finding.message
    assert "dockerd refuses to start" in finding.message
    assert "/etc/containerd/certs.d/<registry host>/hosts.toml" in finding.fix
    assert "/etc/docker/certs.d/<registry host>/hosts.toml" in finding.fix
    assert "daemon.json is JSON" in finding.fix
    assert "unquoted text" not in finding.render()
    assert 'write "server"' not in finding.render()


def test_a_yaml_daemon_json_is_named_as_yaml() -> None:
    doc = read_daemon_json(str(CORPUS / "yaml-document.json"))
    finding = only(assess(doc).findings, "invalid-json")
    assert "this file is YAML, not JSON" in finding.message
    assert "daemon.json is JSON" in finding.fix


def test_a_containerd_config_toml_is_named_as_toml() -> None:
    finding = only(
        findings_of('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n'), "invalid-json"
    )
    assert "TOML, not JSON" in finding.message
    assert "/etc/containerd/config.toml" in finding.fix


@pytest.mark.parametrize(
    "text",
    [
        '{"registry-mirrors": ["https://m.example.com",]}',  # broken JSON is YAML too
        "{'debug': True}",
        '["https://m.example.com",]',
        "server",
        '"just a string"',
        "",
    ],
)
def test_broken_json_is_not_taken_for_another_format(text: str) -> None:
    assert recognise(text) is None


def test_broken_json_keeps_its_json_message() -> None:
    finding = only(findings_of('{"debug": true,}'), "invalid-json")
    assert finding.message.startswith("invalid JSON: trailing comma")


# -- registry-mirrors entries ---------------------------------------------------------


def test_an_empty_mirror_entry_says_empty_and_gives_the_full_url() -> None:
    doc = read_daemon_json(str(CORPUS / "empty-mirror.json"))
    finding = only(assess(doc, mirror_url=MIRROR).findings, "mirror-scheme")
    assert (finding.line, finding.column) == (2, 24)
    assert "the mirror entry '' is empty" in finding.message
    assert "has no scheme" not in finding.message
    assert finding.fix == (
        'write the mirror\'s full URL, "https://mirror.example.com", or remove the entry'
    )


@pytest.mark.parametrize(
    ("mirror_url", "written"),
    [
        (None, '"https://<mirror FQDN>" (e.g. "https://mirror.example.com")'),
        ("mirror.example.com:5000", '"https://mirror.example.com:5000"'),
        ("https://user:secret@mirror.example.com:443", '"https://mirror.example.com"'),
        ("http://mirror.example.com:8080", '"http://mirror.example.com:8080"'),
    ],
)
def test_the_empty_entry_fix_writes_a_whole_url(mirror_url: str | None, written: str) -> None:
    finding = only(findings_of('{"registry-mirrors": [" "]}', mirror_url), "mirror-scheme")
    assert "is blank" in finding.message
    assert finding.fix == f"write the mirror's full URL, {written}, or remove the entry"
    assert "secret" not in finding.render()
    assert 'write "https://"' not in finding.fix


def test_an_entry_without_scheme_still_gets_https_in_front() -> None:
    text = json.dumps({"registry-mirrors": ["mirror.example.com"]})
    finding = only(findings_of(text), "mirror-scheme")
    assert finding.fix == 'write "https://mirror.example.com"'


def test_hosts_toml_is_named_without_tomllib_too(monkeypatch) -> None:
    # Python 3.10 has no tomllib: the shape of the lines stands in for a parse.
    monkeypatch.setattr(other_formats, "toml", None)
    found = recognise((CORPUS / "hosts-toml.json").read_text())
    assert found is not None and "containerd hosts.toml" in found.what
    assert recognise('{"registry-mirrors": ["x",]}') is None


def test_json_behind_comment_lines_stays_json() -> None:
    finding = only(findings_of('# docker settings\n{"debug": true}'), "invalid-json")
    assert finding.message.startswith("invalid JSON: unexpected character '#'")

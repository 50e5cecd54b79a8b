"""The four linters behave alike on what they cannot lint, on the guide's placeholder, and in help.

A file that cannot be linted (missing, a directory, unreadable, binary, of
another kind) is one line on stderr naming the fix and exit 2 for every
linter; the guide's placeholder is one finding naming ``--mirror-fqdn``.
"""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from mirrorcheck.cli import main
from mirrorcheck.options import EXAMPLES
from mirrorcheck.rules import placeholder
from mirrorcheck.rules.lint_input import (
    DAEMON_JSON,
    HOSTS_TOML,
    REGISTRY_CONFIG,
    STACK,
    is_binary,
    recognise_kind,
)

DAEMON = EXAMPLES / "daemon.after.json"
CONFIG = EXAMPLES / "registry-config.yml"
STACK_FILE = EXAMPLES / "registry-stack.yml"
HOSTS = b'server = "https://registry-1.docker.io"\n[host."https://m.example.com"]\n'
FQDN = "mirror.example.com"
# Each linter, the arguments around the file under test, and the code of its unreadable line.
LINTERS = {
    "daemon-json": (["daemon-json", "{}"], "daemon-json"),
    "registry-config": (["registry-config", "{}"], "registry-config"),
    "registry-config --stack": (
        ["registry-config", str(CONFIG), "--stack", "{}"],
        "registry-stack",
    ),
    "traefik": (["traefik", "{}", "--mirror-fqdn", FQDN], "registry-stack"),
    "hosts-toml": (["hosts-toml", "{}"], "hosts-toml"),
}


def lint(capsys, which: str, path: Path | str) -> tuple[int, str, str]:
    argv, _ = LINTERS[which]
    code = main(["lint", *(arg.format(path) for arg in argv)])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


# -- what a file is ----------------------------------------------------------------------


def test_each_kind_is_told_by_its_keys():
    assert recognise_kind(DAEMON.read_bytes()) is DAEMON_JSON
    assert recognise_kind(CONFIG.read_bytes()) is REGISTRY_CONFIG
    assert recognise_kind(STACK_FILE.read_bytes()) is STACK
    assert recognise_kind(HOSTS) is HOSTS_TOML
    assert recognise_kind(b'{"registry-mirrors": ["https://m.example.com",]}') is DAEMON_JSON
    assert recognise_kind(b"registry-mirrors:\n  - https://m.example.com\n") is DAEMON_JSON
    for nothing in (b"", b"{}", b"just: words\n", b"[1, 2]"):
        assert recognise_kind(nothing) is None


def test_binary_is_a_nul_or_many_control_bytes_but_not_utf16_with_a_bom():
    assert is_binary(b"\x7fELF\x02\x01\x01\x00")
    assert is_binary(bytes(range(1, 32)) * 4)
    assert not is_binary('{"debug": true}'.encode("utf-16"))
    assert not is_binary(b'{"x": "\x1b[2J"}\n' + b" " * 200)


@pytest.mark.parametrize(
    ("which", "given", "named", "command"),
    [
        ("registry-config", DAEMON, "a daemon.json", "mirrorcheck lint daemon-json"),
        ("traefik", DAEMON, "a daemon.json", "mirrorcheck lint daemon-json"),
        ("hosts-toml", DAEMON, "a daemon.json", "mirrorcheck lint daemon-json"),
        ("daemon-json", CONFIG, "a registry config", "mirrorcheck lint registry-config"),
        ("daemon-json", STACK_FILE, "a stack file", "mirrorcheck lint traefik"),
        ("registry-config", STACK_FILE, "a stack file", "registry-config CONFIG --stack"),
        ("traefik", CONFIG, "a registry config", "mirrorcheck lint registry-config"),
        ("daemon-json", "HOSTS", "a containerd hosts.toml", "mirrorcheck lint hosts-toml"),
    ],
)
def test_a_file_of_another_kind_is_named_with_the_linter_that_reads_it(
    which, given, named, command, tmp_path, capsys
):
    if given == "HOSTS":
        given = tmp_path / "docker-io.toml"
        given.write_bytes(HOSTS)
    code, out, err = lint(capsys, which, given)
    assert (code, out) == (2, "")
    [line] = err.splitlines()
    assert f"this looks like {named}" in line and command in line and str(given) in line


# -- files that cannot be read: one shape, one code ---------------------------------------


@pytest.mark.parametrize("which", list(LINTERS))
@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("missing", "No such file or directory"),
        ("directory", "Is a directory"),
        ("forbidden", "Permission denied"),
    ],
)
def test_an_unreadable_file_is_one_line_and_exit_2_for_every_linter(
    which, case, reason, tmp_path, capsys, monkeypatch
):
    path = tmp_path / "input"
    if case == "directory":
        path.mkdir()
    elif case == "forbidden":
        path.write_bytes(DAEMON.read_bytes())
        real_open = builtins.open

        def refusing_open(file, *args, **kwargs):
            if str(file) == str(path):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refusing_open)
    code, out, err = lint(capsys, which, path)
    monkeypatch.undo()
    assert code == 2, (out, err)
    [line] = err.splitlines()
    assert line.startswith(f"{path}: error [{LINTERS[which][1]}/unreadable] cannot read {path}")
    assert reason in line and "; fix: " in line
    assert "error [" not in out


def test_a_binary_file_is_one_line_for_every_linter(tmp_path, capsys):
    path = tmp_path / "input"
    path.write_bytes(b"\x1f\x8b\x08\x00\x1b[31m\x00" * 50)
    for which in LINTERS:
        code, out, err = lint(capsys, which, path)
        assert (code, out) == (2, ""), which
        [line] = err.splitlines()
        assert "this is binary (gzip data)" in line and "\x1b" not in line


def test_lint_help_documents_the_exit_codes(capsys):
    assert main(["lint", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "2  usage error" in out
    assert "missing" in out and "binary" in out and "another kind of file" in out
    assert main(["lint"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "Fix:" in line


# -- the guide's placeholder: one finding, filled by --mirror-fqdn ------------------------


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["daemon-json", str(DAEMON)], "daemon-json/mirror-placeholder"),
        (["traefik", str(STACK_FILE)], "registry-stack/placeholder"),
        (
            ["registry-config", str(CONFIG), "--stack", str(STACK_FILE)],
            "registry-stack/placeholder",
        ),
    ],
)
def test_the_placeholder_is_one_finding_naming_mirror_fqdn_in_each_lint(argv, code, capsys):
    assert main(["lint", *argv]) == 1
    out = capsys.readouterr().out
    assert out.count("error [") == 1 and f"error [{code}]" in out
    assert "still holds the placeholder" in out and f"fix: {placeholder.FIX}" in out
    assert main(["lint", *argv, "--mirror-fqdn", FQDN]) == 0
    assert "placeholder" not in capsys.readouterr().out


def test_labels_with_placeholders_are_one_finding_saying_how_many(tmp_path, capsys):
    stack = STACK_FILE.read_text().replace(
        "        - traefik.swarm.network=traefik_public",
        "        - traefik.swarm.network=traefik_public\n"
        "        - traefik.http.routers.registry-mirror.tls.domains[0].main=<your mirror FQDN>",
    )
    (tmp_path / "stack.yml").write_text(stack)
    assert main(["lint", "traefik", str(tmp_path / "stack.yml")]) == 1
    out = capsys.readouterr().out
    assert out.count("registry-stack/placeholder") == 1 and "(and 1 more)" in out

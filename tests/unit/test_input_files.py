"""A file option naming a directory, a missing, binary or unreadable file, or a file of another
kind is one usage error naming the option, the file, what it looks like and the fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mirrorcheck import settings_files
from mirrorcheck.options import EXAMPLES
from mirrorcheck.rules import lint_input
from mirrorcheck.settings import Settings
from mirrorcheck.settings_files import file_option_problem

DAEMON = EXAMPLES / "daemon.after.json"
CONFIG = EXAMPLES / "registry-config.yml"
STACK = EXAMPLES / "registry-stack.yml"


def test_the_examples_are_fine():
    assert file_option_problem("daemon-json", str(DAEMON)) is None
    assert file_option_problem("daemon-json-baseline", str(EXAMPLES / "daemon.before.json")) is None
    assert file_option_problem("registry-config", str(CONFIG)) is None
    assert file_option_problem("stack-file", str(STACK)) is None
    assert file_option_problem("traefik-config", str(STACK)) is None


def test_the_kind_is_told_as_the_linters_tell_it():
    assert settings_files.recognise_kind is lint_input.recognise_kind
    assert settings_files.is_binary is lint_input.is_binary


@pytest.mark.parametrize(
    ("name", "example"),
    [
        ("registry-config", "registry-config.yml"),
        ("daemon-json", "daemon.after.json"),
        ("stack-file", "registry-stack.yml"),
    ],
)
def test_a_directory_is_named_as_one_with_the_files_of_the_kind_in_it(name, example):
    problem = file_option_problem(name, str(EXAMPLES))
    assert problem is not None and "no such file" not in problem
    assert f"--{name} {EXAMPLES}: is a directory, not a file. Fix: name the file in it" in problem
    assert f"--{name} {EXAMPLES / example}" in problem


def test_a_directory_without_such_files_names_the_kind(tmp_path):
    problem = file_option_problem("traefik-config", str(tmp_path))
    assert problem == (
        f"--traefik-config {tmp_path}: is a directory, not a file. Fix: name the file in it "
        "(a Traefik stack file or static configuration)"
    )


@pytest.mark.parametrize(
    ("name", "path", "looks_like", "belongs_to"),
    [
        ("registry-config", STACK, "a stack file", "--stack-file"),
        ("daemon-json", CONFIG, "a registry config", "--registry-config"),
        ("daemon-json-baseline", STACK, "a stack file", "--stack-file"),
        ("stack-file", DAEMON, "a daemon.json", "--daemon-json"),
        ("traefik-config", DAEMON, "a daemon.json", "--daemon-json"),
    ],
)
def test_a_file_of_another_kind_names_what_it_looks_like_and_its_option(
    name, path, looks_like, belongs_to
):
    problem = file_option_problem(name, str(path))
    assert problem is not None
    assert problem.startswith(f"--{name} {path}: this looks like {looks_like}, not ")
    assert f"Fix: give it as {belongs_to} {path}, and point --{name} at " in problem


def test_a_hosts_toml_names_its_linter(tmp_path):
    hosts = tmp_path / "hosts.toml"
    hosts.write_text('server = "https://registry-1.docker.io"\n')
    problem = file_option_problem("daemon-json", str(hosts))
    assert problem is not None and f"`mirrorcheck lint hosts-toml {hosts}`" in problem


def test_missing_binary_and_unreadable_files(tmp_path):
    missing = file_option_problem("daemon-json", str(tmp_path / "nope.json"))
    assert missing is not None and ": no such file. Fix: point --daemon-json" in missing
    binary = tmp_path / "daemon.json"
    binary.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)))
    said = file_option_problem("daemon-json", str(binary))
    assert said is not None and "this is binary, not a daemon.json. Fix:" in said
    if os.geteuid() != 0:  # root reads any file
        locked = tmp_path / "config.yml"
        locked.write_text("version: 0.1\n")
        locked.chmod(0)
        said = file_option_problem("registry-config", str(locked))
        assert said is not None and "cannot be read" in said


def test_the_settings_stage_stops_on_them(tmp_path: Path):
    problems = Settings.from_mapping(
        {"registry-config": str(STACK), "daemon-json": str(EXAMPLES)}
    ).problems()
    assert any("--registry-config" in p and "looks like a stack file" in p for p in problems)
    assert any("--daemon-json" in p and "is a directory" in p for p in problems)


def test_live_mode_judges_only_the_files_named(tmp_path: Path):
    live = {"mirror-url": "https://mirror.example.com", "node": ["local"]}
    assert Settings.from_mapping(live).problems() == []
    named = Settings.from_mapping({**live, "stack-file": str(DAEMON)}).problems()
    assert any("--stack-file" in p and "looks like a daemon.json" in p for p in named)


def test_a_ca_file_directory_is_named_as_one(tmp_path: Path):
    live = {"mirror-url": "https://mirror.example.com", "node": ["local"]}
    problems = Settings.from_mapping({**live, "ca-file": str(tmp_path)}).problems()
    assert any(f"--ca-file {tmp_path}: is a directory, not a file. Fix:" in p for p in problems)


def test_a_pipe_or_a_nul_byte_is_refused_without_reading(tmp_path: Path):
    pipe = tmp_path / "daemon.json"
    os.mkfifo(pipe)
    said = file_option_problem("daemon-json", str(pipe))
    assert said is not None and "is not a regular file. Fix: point --daemon-json" in said
    said = file_option_problem("daemon-json", "daemon\x00.json")
    assert said is not None and ": not a file name. Fix: point --daemon-json" in said

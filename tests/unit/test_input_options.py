"""A bad option value is one usage error naming the option and its fix, never a traceback."""

from __future__ import annotations

import pytest

from mirrorcheck.options import SettingsError
from mirrorcheck.settings import Settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("nodes", "abc"),
        ("nodes", "1.5"),
        ("max-pulls", "abc"),
        ("min-cert-days", "x"),
        ("max-fetches-per-blob", "many"),
    ],
)
def test_a_number_option_given_text_names_a_whole_number_as_its_fix(name, value):
    with pytest.raises(SettingsError) as raised:
        Settings.from_mapping({name: value})
    message = str(raised.value)
    assert message.startswith(f"--{name} (or MIRRORCHECK_{name.upper().replace('-', '_')})")
    assert f"not {value!r}" in message
    assert f"Fix: give a whole number, e.g. --{name} " in message


@pytest.mark.parametrize("value", ["0", "-1"])
def test_too_few_nodes_names_the_value_and_the_fix(value):
    problems = Settings.from_mapping({"nodes": value}).problems()
    assert f"--nodes {value}: must be at least 1. Fix: --nodes 1 or more" in problems


@pytest.mark.parametrize(
    ("name", "value", "fix"),
    [
        ("min-cert-days", "-1", "Fix: give a number from 0 on"),
        ("max-fetches-per-blob", "0", "Fix: give a number from 1 on"),
        ("image-store", "bogus", "Fix: use containerd or classic"),
        ("topology", "bogus", "Fix: --topology plain or swarm"),
        ("engine", ["99"], "Fix: use one of 20.10, 26.1, 28.5"),
    ],
)
def test_every_enumerated_or_bounded_option_names_its_fix(name, value, fix):
    problems = Settings.from_mapping({name: value}).problems()
    assert any(fix in problem for problem in problems), problems


def test_a_flag_variable_that_is_neither_yes_nor_no_is_refused(monkeypatch):
    monkeypatch.setenv("MIRRORCHECK_STRICT_LIMITATIONS", "maybe")
    with pytest.raises(SettingsError, match=r"MIRRORCHECK_STRICT_LIMITATIONS=maybe: .* Fix: set"):
        Settings.from_mapping({})


@pytest.mark.parametrize(("text", "on"), [("1", True), ("YES", True), ("off", False), ("", False)])
def test_a_flag_variable_reads_the_usual_words(monkeypatch, text, on):
    monkeypatch.setenv("MIRRORCHECK_STRICT_LIMITATIONS", text)
    assert Settings.from_mapping({}).strict_limitations is on


LIVE = {"mirror-url": "https://mirror.example.com", "node": ["local"]}


@pytest.mark.parametrize("value", ["bogus", "latest"])
def test_a_registry_version_that_is_no_version_is_refused(value):
    problems = Settings.from_mapping({**LIVE, "registry-version": value}).problems()
    assert any(
        p.startswith(f"--registry-version {value}: not a registry version. Fix:") for p in problems
    )


def test_registry_versions_are_taken_as_the_linter_takes_them():
    for value in ("2.8.3", "v3.0.0", "3.0.0-rc.1"):
        assert Settings.from_mapping({**LIVE, "registry-version": value}).problems() == []

"""An engine mirrorcheck has no facts for is a usage error naming the engines it knows."""

from __future__ import annotations

import pytest

from mirrorcheck.cli import main
from mirrorcheck.options import EXAMPLES
from mirrorcheck.rules.daemon_json.engine import OLDEST, EngineVersion
from mirrorcheck.rules.daemon_json.key_table import NEWEST_KNOWN
from mirrorcheck.settings import Settings

DAEMON = str(EXAMPLES / "daemon.after.json")


def test_the_key_table_reaches_a_known_engine_line():
    assert NEWEST_KNOWN >= EngineVersion.parse("28.5") > OLDEST


@pytest.mark.parametrize("given", ["99", "--engine-version=99.1", "18.09"])
def test_an_engine_without_facts_is_exit_2_naming_the_range_and_the_fix(capsys, given):
    argv = [given] if given.startswith("--") else ["--engine-version", given]
    code = main(["lint", "daemon-json", DAEMON, *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("mirrorcheck lint daemon-json: error: argument --engine-version: ")
    assert f"cover Engine {OLDEST} to {NEWEST_KNOWN}" in err
    assert "Fix: give the engine's X.Y" in err and "Traceback" not in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("version", [None, "20.10", f"{NEWEST_KNOWN}.3"])
def test_known_engines_are_linted(capsys, version):
    argv = ["--engine-version", version] if version else []
    assert main(["lint", "daemon-json", DAEMON, *argv]) != 2, capsys.readouterr().err


def test_the_suites_refuse_an_engine_the_lab_has_no_image_for():
    problems = Settings.from_mapping({"engine": ["99"]}).problems()
    assert any(p.startswith("--engine 99: ") and "Fix: use one of" in p for p in problems)

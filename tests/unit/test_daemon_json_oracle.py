"""Claims about setting the reader's verdict beside dockerd's, on recorded outcomes (no Docker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirrorcheck.rules.daemon_json.assess import assess, parse_daemon_json, read_daemon_json
from mirrorcheck.rules.daemon_json.assess import main as lint_daemon_json
from mirrorcheck.rules.daemon_json.engine import DEFAULT_ENGINE, EngineVersion, engine_or_default
from mirrorcheck.rules.daemon_json.oracle import (
    compare_with_dockerd,
    compare_with_validate,
    dockerd_fatal_line,
    explain_with_reader,
)
from mirrorcheck.versions import DEFAULT_ENGINE as LAB_DEFAULT_ENGINE

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "daemon_json"
INDEX = json.loads((CORPUS / "cases.json").read_text())
MISSING_COMMA = b"""{
    "log-driver": "journald",
    "signature-verification": false
    "registry-mirrors": ["https://mirror.test"]
}
"""
MIRROR = "https://mirror.test"


def judged(text: bytes, engine: str | None = None, **options):
    """The reader's verdict on ``text``, as ``engine`` reads it (default: the lab's engine)."""
    if engine is None:
        return assess(parse_daemon_json(text, path="daemon.json"), **options)
    return assess(parse_daemon_json(text, path="daemon.json", engine=engine), **options)


@pytest.mark.parametrize("case", INDEX["cases"], ids=[c["id"] for c in INDEX["cases"]])
def test_recorded_dockerd_outcomes_agree_with_the_reader(case):
    options = {**INDEX["default_options"], **case["options"]}
    engine = options.pop("engine_version")
    baseline = options.pop("baseline", None)
    options["allow_keys"] = options.pop("allow_daemon_keys", ())
    if baseline:
        options["baseline"] = read_daemon_json(str(CORPUS / baseline), engine)
    result = assess(read_daemon_json(str(CORPUS / case["file"]), engine), **options)
    comparison = compare_with_dockerd(
        result, case["dockerd_20_10_starts"], case["dockerd_20_10_error"]
    )
    assert comparison.agree, comparison.describe()


# dockerd --validate as the corpus recorded it per engine (measure_dockerd.py --validate),
# with the flags it ran with there.
VALIDATE_FLAGS = ["--bridge=none", "--iptables=false"]
VALIDATED = [
    (engine, case) for case in INDEX["cases"] for engine in sorted(case.get("dockerd_validate", {}))
]


@pytest.mark.parametrize(
    ("engine", "case"), VALIDATED, ids=[f"{e}-{c['id']}" for e, c in VALIDATED]
)
def test_recorded_validate_outcomes_agree_with_the_reader(engine, case):
    options = {**INDEX["default_options"], **case["options"], "dockerd_flags": VALIDATE_FLAGS}
    options.pop("engine_version")
    baseline = options.pop("baseline", None)
    options["allow_keys"] = options.pop("allow_daemon_keys", ())
    if baseline:
        options["baseline"] = read_daemon_json(str(CORPUS / baseline), engine)
    result = assess(read_daemon_json(str(CORPUS / case["file"]), engine), **options)
    recorded = case["dockerd_validate"][engine]
    comparison = compare_with_validate(result, recorded["ok"], recorded["said"])
    assert comparison.agree, comparison.describe()


def test_every_case_is_recorded_for_every_validating_engine():
    engines = set(INDEX["measured_with"]["validate"])
    assert engines >= {"26.1", "28.5"}
    missing = [c["id"] for c in INDEX["cases"] if set(c.get("dockerd_validate", {})) != engines]
    assert not missing, (
        f"cases without dockerd --validate answers for {sorted(engines)}: {missing}. Fix: run "
        "tests/corpus/daemon_json/measure_dockerd.py --validate ENGINE=IMAGE for each engine"
    )


def _on(engine: str, text: bytes):
    return assess(parse_daemon_json(text, path="daemon.json", engine=engine))


NO_SCHEME = b'{"registry-mirrors": ["mirror.example.com"]}'


def test_validate_before_28_3_does_not_see_a_mirror_dockerd_refuses_at_start():
    result = _on("26.1", NO_SCHEME)
    assert not result.dockerd_starts
    assert result.validate_accepts is True
    assert result.validate_skips == ("daemon-json/mirror-scheme",)
    comparison = compare_with_validate(result, True)
    assert comparison.agree
    assert "mirrors are validated from 28.3" in comparison.describe()


def test_validate_from_28_3_checks_the_mirrors():
    result = _on("28.5", NO_SCHEME)
    assert result.validate_accepts is False and result.validate_skips == ()
    assert compare_with_validate(result, False, "invalid mirror").agree
    assert not compare_with_validate(result, True).agree


def test_validate_does_not_exist_before_23():
    with pytest.raises(ValueError, match="no --validate"):
        compare_with_validate(_on("20.10", b"{}"), True)


@pytest.mark.parametrize(
    ("engine", "text", "accepted"),
    [
        ("20.10", b'\xef\xbb\xbf{"debug": true}', False),  # 20.10 refuses a BOM
        ("26.1", b'\xef\xbb\xbf{"debug": true}', True),  # accepted from 23.0
        ("20.10", b'{"proxies": {"https-proxy": "http://p:3128"}}', False),
        ("26.1", b'{"proxies": {"https-proxy": "http://p:3128"}}', True),
        ("24.0", b'{"registry-mirrors": ["https://m.example.com/v2/"]}', False),
        ("25.0", b'{"registry-mirrors": ["https://m.example.com/v2/"]}', True),
        ("28.5", b'{"features": {"no-such-feature": true}}', True),  # names are not checked
        ("28.5", b'{"allow-nondistributable-artifacts": ["r.example.com"]}', True),
    ],
)
def test_what_each_engine_accepts(engine, text, accepted):
    result = _on(engine, text)
    assert result.accepted is accepted, [f.render() for f in result.findings]
    assert result.dockerd_starts is accepted


def test_both_refusing_agree_without_a_documented_difference():
    comparison = compare_with_dockerd(judged(MISSING_COMMA), False, "invalid character")
    assert comparison.agree and not comparison.documented
    assert comparison.reader_verdict == "refuses: daemon-json/invalid-json"
    assert comparison.dockerd_verdict == "refused: invalid character"


def test_stricter_reader_names_the_documented_difference():
    text = b'{"registry-mirrors": ["https://other.example.com"]}'
    comparison = compare_with_dockerd(judged(text, mirror_url=MIRROR), True)
    assert comparison.agree
    assert [d.code for d in comparison.documented] == ["daemon-json/mirror-missing"]
    assert "has no notion of an expected mirror" in comparison.describe()


def test_allowed_fork_key_is_a_documented_leniency():
    text = b'{"signature-verification": false, "registry-mirrors": ["https://mirror.test"]}'
    result = judged(text, mirror_url=MIRROR, allow_keys=["signature-verification"])
    comparison = compare_with_dockerd(result, False, "don't match any configuration option")
    assert result.accepted and comparison.agree
    assert [d.code for d in comparison.documented] == ["daemon-json/allowed-key"]


def test_dockerd_starting_on_a_file_the_reader_says_it_refuses_disagrees():
    comparison = compare_with_dockerd(judged(MISSING_COMMA, engine="20.10"), True)
    assert not comparison.agree
    assert "predicted dockerd 20.10 would refuse to start; it started" in comparison.describe()
    assert "daemon-json/invalid-json, which dockerd 20.10 accepts" in comparison.describe()


def test_dockerd_refusing_a_file_the_reader_accepts_disagrees():
    text = b'{"registry-mirrors": ["https://mirror.test"], "dns": ["not-an-ip"]}'
    comparison = compare_with_dockerd(
        judged(text, engine="20.10"), False, "failed to start daemon: bad dns"
    )
    assert not comparison.agree
    assert "DISAGREE: the reader predicted dockerd 20.10 would start" in comparison.describe()
    assert "(failed to start daemon: bad dns)" in comparison.describe()


def test_explanation_of_a_refused_file_points_at_line_and_column():
    text = explain_with_reader(MISSING_COMMA, "/srv/daemon.json")
    assert "/srv/daemon.json:4:5: error [daemon-json/invalid-json]" in text
    assert "    |     ^" in text


def test_explanation_says_when_the_reader_finds_nothing():
    text = explain_with_reader(b'{"registry-mirrors": []}', "/srv/daemon.json")
    assert "finds no error in /srv/daemon.json" in text


def test_explanation_knows_the_flags_dockerd_ran_with():
    text = explain_with_reader(b'{"bridge": "none"}', "d.json", dockerd_flags=["--bridge=none"])
    assert "daemon-json/flag-conflict" in text


def test_fatal_line_is_the_last_refusal_in_the_log():
    log = (
        'time="2026-01-01T00:00:00Z" level=info msg="Starting up"\n'
        "unable to configure the Docker daemon with file /etc/docker/daemon.json: EOF\n"
    )
    assert dockerd_fatal_line(log) == (
        "unable to configure the Docker daemon with file /etc/docker/daemon.json: EOF"
    )
    assert dockerd_fatal_line("failed to start daemon: invalid mirror\n") == (
        "failed to start daemon: invalid mirror"
    )
    assert dockerd_fatal_line("API listen on /var/run/docker.sock\n") == ""


BOM_FILE = b'\xef\xbb\xbf{"registry-mirrors": ["https://mirror.test"]}\n'


def test_the_lint_judges_the_lab_default_engine_unless_told(tmp_path, capsys):
    path = tmp_path / "daemon.json"
    path.write_bytes(BOM_FILE)
    assert str(DEFAULT_ENGINE) == LAB_DEFAULT_ENGINE == "28.5"
    # Engine 28.5 strips a UTF-8 BOM (from 23.0): the default lint accepts the file.
    assert lint_daemon_json([str(path), "--mirror-url", MIRROR]) == 0, capsys.readouterr()
    capsys.readouterr()
    # --engine-version 20.10 still judges as 20.10, which refuses the BOM.
    status = lint_daemon_json([str(path), "--mirror-url", MIRROR, "--engine-version", "20.10"])
    assert status == 1, capsys.readouterr()
    assert "20.10" in capsys.readouterr().out


def test_a_node_without_a_version_is_judged_as_the_lab_default_engine():
    assert engine_or_default("") == EngineVersion.parse("28.5")
    assert engine_or_default("20.10.24+dfsg1") == EngineVersion(20, 10)

"""Claims about the daemon.json reader: the corpus case by case, then focused rules.

The corpus (tests/corpus/daemon_json/cases.json) records what dockerd 20.10
did with every file; these tests hold the reader to it without Docker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mirrorcheck.findings import Severity
from mirrorcheck.rules.daemon_json import assess as dj
from mirrorcheck.rules.daemon_json import keys as dk
from mirrorcheck.rules.daemon_json.assess import (
    DOCKERD_DIFFERENCES,
    RULES,
    Assessment,
    assess,
    check_baseline,
    effective_mirrors,
    normalise_mirror,
    parse_daemon_json,
    read_daemon_json,
)
from mirrorcheck.rules.daemon_json.expected_mirror import ExpectedMirror
from mirrorcheck.rules.daemon_json.keys import EngineVersion, KeyStatus, key_status
from mirrorcheck.rules.daemon_json.mirrors import first_mirror_host

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "daemon_json"
INDEX = json.loads((CORPUS / "cases.json").read_text())
CASES = INDEX["cases"]
STARTED = [case for case in CASES if case["dockerd_20_10_starts"]]
MIRROR = "https://mirror.example.com"


def run_case(case: dict[str, Any]) -> Assessment:
    options = {**INDEX["default_options"], **case["options"]}
    engine = options.pop("engine_version")
    baseline = options.pop("baseline", None)
    options["allow_keys"] = options.pop("allow_daemon_keys", ())
    doc = read_daemon_json(str(CORPUS / case["file"]), engine)
    if baseline:
        options["baseline"] = read_daemon_json(str(CORPUS / baseline), engine)
    return assess(doc, **options)


def check(text: str | bytes, engine: str = "20.10", **options: Any) -> Assessment:
    return assess(parse_daemon_json(text, path="daemon.json", engine=engine), **options)


def codes(result: Assessment) -> set[str]:
    return {f.code.removeprefix("daemon-json/") for f in result.findings}


def only(result: Assessment, code: str):
    found = [f for f in result.findings if f.code == f"daemon-json/{code}"]
    assert len(found) == 1, [f.render() for f in result.findings]
    return found[0]


# -- the corpus ---------------------------------------------------------------


def test_corpus_has_at_least_25_cases_with_unique_ids() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 25
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_corpus_case_gets_its_expected_findings(case: dict[str, Any]) -> None:
    result = run_case(case)
    rendered = [f.render() for f in result.findings]
    assert sorted(set(result.codes)) == case["codes"], rendered
    assert result.accepted is case["reader_accepts"], rendered
    if case["message"]:
        assert any(case["message"] in text for text in rendered), rendered
    if "at" in case:
        at = case["at"]
        first = next(f for f in result.findings if f.code == at["code"])
        assert (first.line, first.column) == (at["line"], at["column"]), first.render()


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_corpus_case_predicts_what_dockerd_20_10_did(case: dict[str, Any]) -> None:
    assert run_case(case).dockerd_starts is case["dockerd_20_10_starts"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_reader_and_dockerd_disagree_only_where_documented(case: dict[str, Any]) -> None:
    result = run_case(case)
    started = case["dockerd_20_10_starts"]
    engine = EngineVersion(20, 10)
    documented = {
        code
        for code, difference in DOCKERD_DIFFERENCES.items()
        if difference.dockerd_starts is started and difference.applies_to(engine)
    }
    if result.accepted and not started:
        # Lenient on purpose: some finding must say why dockerd refuses.
        assert documented & set(result.codes)
    else:
        # Stricter on purpose: every error dockerd shrugs off is documented.
        unexplained = {f.code for f in result.errors} - documented if started else set()
        assert not unexplained


@pytest.mark.parametrize("case", STARTED, ids=[case["id"] for case in STARTED])
def test_effective_mirrors_match_docker_info(case: dict[str, Any]) -> None:
    doc = read_daemon_json(str(CORPUS / case["file"]))
    assert effective_mirrors(doc) == case["dockerd_20_10_mirrors"]


def test_every_emitted_code_is_a_declared_rule() -> None:
    emitted = {code for case in CASES for code in case["codes"]}
    assert emitted <= set(RULES)
    assert set(DOCKERD_DIFFERENCES) <= set(RULES)


def test_every_rule_is_gated_by_a_suite_check() -> None:
    for rule in RULES.values():
        assert rule.gated_by, rule.code
        for gate in rule.gated_by:
            path, _, name = gate.partition("::")
            source = (Path(__file__).resolve().parents[2] / path).read_text()
            assert f"def {name}(" in source, gate


# -- syntax and encoding --------------------------------------------------------

GUIDE_MISSING_COMMA = """{
    "log-driver": "journald",
    "signature-verification": false
    "registry-mirrors": ["https://mirror.example.com"]
}
"""


def test_missing_comma_points_at_the_next_key() -> None:
    finding = only(check(GUIDE_MISSING_COMMA), "invalid-json")
    assert (finding.line, finding.column) == (4, 5)
    assert finding.excerpt.splitlines()[-1] == "  |     ^"
    assert '4 |     "registry-mirrors"' in finding.excerpt


def test_missing_comma_fix_names_where_the_comma_goes() -> None:
    finding = only(check(GUIDE_MISSING_COMMA), "invalid-json")
    assert "'signature-verification'" in finding.fix
    assert "3:36" in finding.fix


def test_caret_follows_tab_indentation() -> None:
    finding = only(check('{\n\t"debug": true\n\t"labels": []\n}'), "invalid-json")
    assert finding.column == 2
    assert finding.excerpt.splitlines()[-1] == "  | \t^"


def test_long_lines_are_cut_around_the_column() -> None:
    text = '{"labels": [' + ", ".join(f'"l{i}=v"' for i in range(40)) + '], "x": 1}'
    finding = only(check(text), "unknown-key")
    line, caret = finding.excerpt.splitlines()
    assert len(line) < 110 and line.endswith('"x": 1}')
    assert caret.index("^") == line.index('"x"')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1,]}', "trailing comma before ']'"),
        ('{"a": 1,}', "trailing comma before '}'"),
        ('{"a": 01}', "invalid number"),
        ('{"a": NaN}', "unquoted text 'NaN'"),
        ('{"a": None}', "JSON writes null in lower case"),
        ("{a: 1}", "the key a needs double quotes"),
        ('{"a" 1}', "missing ':' after the key 'a'"),
        ('{"a": "x\ny"}', "a line break inside the string"),
        ('{"a": "\\q"}', "invalid escape"),
        ('{"a": [1 2]}', "missing ',' between two list items"),
        ('{"a": 1 /* c */}', "comments are not allowed"),
        ('{"a": ', "a value is missing"),
    ],
)
def test_syntax_errors_say_what_is_wrong(text: str, expected: str) -> None:
    finding = only(check(text), "invalid-json")
    assert expected in finding.message


def test_valid_json_parses_like_json_loads() -> None:
    text = (
        '{"s": "\\u00e9\\ud83d\\ude00\\n\\/", "n": [-0.5e3, 0, 12], '
        '"b": [true, false, null], "o": {}}'
    )
    doc = parse_daemon_json(text)
    assert doc.document == json.loads(text)
    assert doc.findings == []


def test_duplicate_key_is_reported_at_the_second_occurrence() -> None:
    finding = only(check('{"debug": true,\n "debug": false}'), "duplicate-key")
    assert (finding.line, finding.column) == (2, 2)
    assert "first at 1:2" in finding.message


def test_duplicate_key_keeps_the_last_value_like_dockerd() -> None:
    doc = parse_daemon_json(
        '{"registry-mirrors": ["https://a"], "registry-mirrors": ["https://b"]}'
    )
    assert effective_mirrors(doc) == ["https://b/"]


def test_bom_is_refused_on_20_10_and_accepted_from_23() -> None:
    text = b'\xef\xbb\xbf{"registry-mirrors": ["https://mirror.example.com"]}'
    assert codes(check(text, "20.10")) == {"bom"}
    newer = check(text, "23.0")
    assert newer.findings == [] and newer.dockerd_starts


def test_bom_does_not_shift_columns() -> None:
    finding = only(check(b'\xef\xbb\xbf{"x": 1}', "23.0"), "unknown-key")
    assert (finding.line, finding.column) == (1, 2)


def test_empty_file_is_refused_on_20_10_and_accepted_from_23() -> None:
    assert check(b"", "20.10").dockerd_starts is False
    newer = check(b"  \n", "23.0")
    assert newer.accepted and newer.dockerd_starts


def test_utf16_file_is_read_from_23() -> None:
    data = '{"registry-mirrors": ["https://mirror.example.com"]}'.encode("utf-16")
    assert not check(data, "20.10").accepted
    newer = check(data, "24.0", mirror_url=MIRROR)
    assert newer.accepted and newer.dockerd_starts


def test_non_utf8_byte_is_located() -> None:
    finding = only(check(b'{"labels": ["owner=J\xf6rg"]}'), "not-utf8")
    assert (finding.line, finding.column) == (1, 21)
    assert check(b'{"labels": ["owner=J\xf6rg"]}', "23.0").dockerd_starts is False


def test_trailing_data_is_refused_by_dockerd_from_23() -> None:
    text = '{"debug": false}\n}'
    assert check(text, "20.10").dockerd_starts is True
    assert check(text, "23.0").dockerd_starts is False
    assert only(check(text), "trailing-data").line == 2


@pytest.mark.parametrize("text", ["[]", '"x"', "1", "true"])
def test_top_level_must_be_an_object(text: str) -> None:
    assert codes(check(text)) == {"not-object"}


# -- keys and types -------------------------------------------------------------


def test_signature_verification_says_upstream_refuses_and_how_to_fix() -> None:
    finding = only(check('{"signature-verification": false}'), "fork-key")
    assert "not an upstream Docker Engine option" in finding.message
    assert "docker-latest" in finding.message
    assert "refuses to start" in finding.message
    assert "remove" in finding.fix and "--allow-daemon-key signature-verification" in finding.fix


def test_allowed_fork_key_is_accepted_but_still_type_checked() -> None:
    allowed = check('{"signature-verification": false}', allow_keys=["signature-verification"])
    assert allowed.accepted and not allowed.dockerd_starts
    wrong = check('{"signature-verification": "no"}', allow_keys=["signature-verification"])
    assert "type" in codes(wrong)


def test_registry_mirror_singular_is_a_flag_name_with_a_list_fix() -> None:
    finding = only(check('{"registry-mirror": "https://m.example.com"}'), "flag-name-key")
    assert "--registry-mirror" in finding.message and "silently ignores" in finding.message
    assert '"registry-mirrors": [' in finding.fix


def test_unknown_key_suggests_the_closest_valid_key() -> None:
    finding = only(check('{"insecure-registry-list": []}'), "unknown-key")
    assert "'insecure-registries'" in finding.fix


def test_key_from_a_later_engine_is_refused_on_20_10_only() -> None:
    text = '{"proxies": {"http-proxy": "http://proxy.example.com:3128"}}'
    assert codes(check(text, "20.10")) == {"key-too-new"}
    assert check(text, "23.0").findings == []


def test_unknown_name_inside_proxies_is_refused() -> None:
    finding = only(check('{"proxies": {"http_proxy": "x"}}', "23.0"), "unknown-key")
    assert "'http_proxy' inside 'proxies'" in finding.message


def test_graph_warns_on_20_10_and_is_refused_from_23() -> None:
    assert codes(check('{"graph": "/srv/docker"}', "20.10")) == {"key-deprecated"}
    finding = only(check('{"graph": "/srv/docker"}', "23.0"), "key-removed")
    assert "'data-root'" in finding.fix


def test_keys_with_a_field_but_no_flag_are_refused() -> None:
    finding = only(check('{"default-init": "/usr/bin/tini"}'), "unknown-key")
    assert "not a flag" in finding.message


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ('{"insecure-registries": "m.example.com:5000"}', '["m.example.com:5000"]'),
        ('{"debug": "true"}', "write true without quotes"),
        ('{"max-concurrent-downloads": "3"}', "write 3 without quotes"),
        ('{"mtu": 1500.0}', '"mtu": 1500'),
        ('{"log-opts": {"max-size": 10}}', "an object of strings"),
    ],
)
def test_type_errors_point_at_the_value_and_show_the_fix(text: str, fix: str) -> None:
    finding = only(check(text), "type")
    assert finding.column == text.index(":") + 3
    assert fix in finding.fix


def test_null_value_is_only_a_warning() -> None:
    result = check('{"registry-mirrors": null}')
    assert codes(result) == {"null-value"} and result.accepted


def test_flag_conflict_follows_shorthand_and_named_options() -> None:
    finding = only(check('{"hosts": ["fd://"]}', dockerd_flags=["-H", "fd://"]), "flag-conflict")
    assert "-H" in finding.message
    mirrors = check('{"registry-mirrors": []}', dockerd_flags=["--registry-mirror=https://x"])
    assert codes(mirrors) == {"flag-conflict"}
    assert check('{"runtimes": {}}', dockerd_flags=["--add-runtime=x=y"]).findings == []


# -- registry-mirrors ---------------------------------------------------------------


def test_normalise_mirror_appends_one_slash_like_dockerd() -> None:
    assert normalise_mirror("https://m.example.com") == "https://m.example.com/"
    assert normalise_mirror("https://m.example.com/") == "https://m.example.com/"
    assert normalise_mirror("https://m.example.com//") == "https://m.example.com//"


def test_effective_mirrors_drop_duplicates_in_order() -> None:
    document = {"registry-mirrors": ["https://b/", "https://a", "https://b", "https://a/"]}
    assert effective_mirrors(document) == ["https://b/", "https://a/"]
    assert effective_mirrors({}) == [] and effective_mirrors(None) == []


def test_mirror_path_is_accepted_from_engine_25() -> None:
    text = '{"registry-mirrors": ["https://m.example.com/hub"]}'
    assert codes(check(text, "24.0")) == {"mirror-path"}
    assert check(text, "25.0").findings == []
    assert codes(check('{"registry-mirrors": ["https://m.example.com/v2/"]}', "25.0")) == {
        "mirror-path"
    }


def test_bare_question_mark_is_an_error_dockerd_accepts() -> None:
    result = check('{"registry-mirrors": ["https://m.example.com?"]}')
    assert codes(result) == {"mirror-query"} and result.dockerd_starts


def test_placeholder_without_spaces_is_caught_though_dockerd_starts() -> None:
    result = check('{"registry-mirrors": ["https://<mirror>"]}')
    assert codes(result) == {"mirror-placeholder"} and result.dockerd_starts


def test_expected_mirror_may_be_a_host_or_a_url() -> None:
    text = '{"registry-mirrors": ["https://mirror.example.com:443/"]}'
    assert check(text, mirror_url="mirror.example.com").findings == []
    assert check(text, mirror_url="https://mirror.example.com").findings == []
    assert codes(check(text, mirror_url="https://mirror.example.com:5000")) == {"mirror-missing"}


def test_expected_mirror_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match="fill in the mirror FQDN"):
        check("{}", mirror_url=f"https://{dj.PLACEHOLDER}")


def test_expected_mirror_first_unless_others_allowed() -> None:
    text = '{"registry-mirrors": ["https://other.example.com", "https://mirror.example.com"]}'
    assert codes(check(text, mirror_url=MIRROR)) == {"mirror-not-first"}
    assert check(text, mirror_url=MIRROR, allow_other_mirrors=True).findings == []


def test_insecure_registry_with_scheme_still_covers_the_mirror() -> None:
    text = (
        '{"registry-mirrors": ["https://mirror.example.com"], '
        '"insecure-registries": ["http://mirror.example.com"]}'
    )
    assert codes(check(text)) == {"insecure-scheme", "mirror-insecure"}


def test_insecure_host_with_another_port_does_not_cover_the_mirror() -> None:
    text = (
        '{"registry-mirrors": ["https://mirror.example.com"], '
        '"insecure-registries": ["mirror.example.com:5000"]}'
    )
    assert check(text).findings == []


def test_mirror_ips_reveal_a_cidr_match() -> None:
    text = (
        '{"registry-mirrors": ["https://mirror.example.com"], '
        '"insecure-registries": ["192.168.0.0/16"]}'
    )
    assert check(text).findings == []
    assert codes(check(text, mirror_ips=["192.168.1.10"])) == {"mirror-insecure"}


def test_localhost_mirror_is_insecure() -> None:
    finding = only(check('{"registry-mirrors": ["https://localhost:5000"]}'), "mirror-insecure")
    assert "127.0.0.0/8" in finding.message


def test_invalid_insecure_registry_is_refused() -> None:
    result = check('{"insecure-registries": ["registry.example.com/path"]}')
    assert codes(result) == {"insecure-invalid"} and not result.dockerd_starts


# -- baseline -----------------------------------------------------------------------


def test_baseline_names_added_removed_and_changed_keys() -> None:
    before = parse_daemon_json('{"log-driver": "journald", "debug": true, "mtu": 1500}', "old.json")
    after = parse_daemon_json(
        '{"log-driver": "json-file", "mtu": 1500, "live-restore": true, '
        '"registry-mirrors": ["https://mirror.example.com"]}'
    )
    found = {f.code.removeprefix("daemon-json/"): f for f in check_baseline(before, after)}
    assert set(found) == {"baseline-changed", "baseline-removed", "baseline-added"}
    assert found["baseline-changed"].key == "log-driver"
    assert found["baseline-removed"].key == "debug"
    assert found["baseline-added"].key == "live-restore"


def test_baseline_tells_true_from_one() -> None:
    before = parse_daemon_json('{"debug": true}')
    assert codes_of(check_baseline(before, parse_daemon_json('{"debug": 1}'))) == {
        "baseline-changed"
    }
    assert check_baseline(before, parse_daemon_json('{"debug": true}')) == []


def test_unreadable_baseline_cannot_be_compared(tmp_path: Path) -> None:
    before = read_daemon_json(str(tmp_path / "missing.json"))
    assert codes_of(check_baseline(before, parse_daemon_json("{}"))) == {"baseline-invalid"}


def codes_of(findings) -> set[str]:
    return {f.code.removeprefix("daemon-json/") for f in findings}


# -- files and the command line -----------------------------------------------------


def test_unreadable_file_gives_a_finding_not_an_exception(tmp_path: Path) -> None:
    missing = read_daemon_json(str(tmp_path / "nope.json"))
    directory = read_daemon_json(str(tmp_path))
    for doc in (missing, directory):
        assert not doc.readable
        assert codes_of(doc.findings) == {"unreadable"} and doc.findings[0].fix
    assert "directory" in directory.findings[0].fix


def test_docker_latest_path_is_pointed_out(tmp_path: Path) -> None:
    path = tmp_path / "docker-latest" / "daemon.json"
    path.parent.mkdir()
    path.write_text("{}")
    assert codes_of(read_daemon_json(str(path)).findings) == {"docker-latest-path"}


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"registry-mirrors": ["https://mirror.example.com"]}')
    bad = tmp_path / "bad.json"
    bad.write_text(GUIDE_MISSING_COMMA)
    assert dj.main([str(good), "--mirror-url", MIRROR]) == 0
    assert dj.main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:4:5: error [daemon-json/invalid-json]" in out
    assert "  fix: add ','" in out
    with pytest.raises(SystemExit) as usage:
        dj.main([str(good), "--engine-version", "twenty"])
    assert usage.value.code == 2


def test_cli_missing_file_prints_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dj.main([str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "No such file or directory" in err and "fix: check the path" in err


def test_cli_refuses_the_placeholder_as_mirror_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        dj.main(["x.json", "--mirror-url", f"https://{dj.PLACEHOLDER}"])
    assert usage.value.code == 2
    assert "fill in the mirror FQDN" in capsys.readouterr().err


def test_cli_allow_daemon_key_and_baseline(tmp_path: Path) -> None:
    before = CORPUS / "guide-before.json"
    after = CORPUS / "guide-after-filled.json"
    argv = [str(after), "--mirror-url", MIRROR, "--baseline", str(before)]
    assert dj.main(argv) == 1
    assert dj.main([*argv, "--allow-daemon-key", "signature-verification"]) == 0


# -- the key table ------------------------------------------------------------------


def test_engine_version_parses_package_versions() -> None:
    assert EngineVersion.parse("20.10.24+dfsg1") == EngineVersion(20, 10)
    assert EngineVersion.parse("v25.0.3") == EngineVersion(25, 0)
    assert str(EngineVersion.parse("27")) == "27.0"
    with pytest.raises(ValueError):
        EngineVersion.parse("latest")


def test_every_key_names_its_source_and_type() -> None:
    for key in dk.DAEMON_KEYS.values():
        assert key.source and isinstance(key.json_type, dk.JsonType)
        assert key.since >= dk.OLDEST


def test_flag_only_names_are_not_keys_and_point_to_real_keys() -> None:
    assert not set(dk.FLAG_ONLY_NAMES) & set(dk.DAEMON_KEYS)
    for flag in dk.FLAG_ONLY_NAMES.values():
        assert not flag.config_key or flag.config_key in dk.DAEMON_KEYS


def test_key_status_follows_the_engine_version() -> None:
    v = EngineVersion.parse
    assert key_status("registry-mirrors", v("20.10")) is KeyStatus.VALID
    assert key_status("registry-mirror", v("20.10")) is KeyStatus.FLAG_NAME
    assert key_status("cdi-spec-dirs", v("24.0")) is KeyStatus.TOO_NEW
    assert key_status("cdi-spec-dirs", v("25.0")) is KeyStatus.VALID
    assert key_status("oom-score-adjust", v("25.0")) is KeyStatus.REMOVED
    assert key_status("deprecated-key-path", v("24.0")) is KeyStatus.NO_EFFECT
    assert key_status("signature-verification", v("20.10")) is KeyStatus.UNKNOWN


def test_findings_use_the_shared_severity() -> None:
    result = check('{"registry-mirrors": ["http://mirror.example.com"]}')
    assert only(result, "mirror-http").severity is Severity.WARNING


def test_mirror_password_never_appears_in_the_output() -> None:
    result = check('{"registry-mirrors": ["http://puller:s3cret@mirror.example.com"]}')
    assert codes(result) == {"mirror-userinfo", "mirror-http"}
    assert all("s3cret" not in f.render() for f in result.findings)


def test_an_expected_mirror_without_a_host_says_so():
    with pytest.raises(ValueError, match=r"'https://' has no host: write https://<mirror FQDN>"):
        ExpectedMirror.parse("https://")


@pytest.mark.parametrize(
    ("text", "host"),
    [
        (
            '{"registry-mirrors": ["https://Registry-Cache.corp.example:5000/"]}',
            "registry-cache.corp.example",
        ),
        ('\ufeff{"registry-mirrors": ["https://[fd00::5]:443"]}', "fd00::5"),
        ('{"registry-mirrors": ["https://<your registry mirror FQDN>"]}', None),
        ('{"registry-mirrors": ["mirror.example.com"]}', None),
        ('{"registry-mirrors": []}', None),
        ("{not json", None),
    ],
)
def test_the_first_mirror_host_is_read_as_the_lint_reads_the_file(text, host) -> None:
    assert first_mirror_host(parse_daemon_json(text)) == host

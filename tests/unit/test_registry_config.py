"""The strict lint of distribution's config.yml for a Docker Hub mirror."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mirrorcheck import cli
from mirrorcheck.findings import Severity, errors
from mirrorcheck.rules.limitations import parse_version
from mirrorcheck.rules.registry.config import (
    load_config,
    load_runnable_config,
    read_config,
    read_runnable_config,
)
from mirrorcheck.rules.registry.config_lint import (
    check_config_path,
    lint_config_file,
    lint_config_text,
)
from mirrorcheck.rules.registry.schema import SCHEMAS, config_path_for, lookup, schema_for
from mirrorcheck.text import yaml_source
from mirrorcheck.text.yaml_source import MAX_DEPTH, YamlReadError

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "registry_config"
REFERENCE = CORPUS / "reference.yml"
REPO = Path(__file__).resolve().parents[2]

STORAGE = """\
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
"""
GOOD = f"""\
version: 0.1
{STORAGE}http:
  addr: :5000
  debug:
    addr: :5001
proxy:
  remoteurl: https://registry-1.docker.io
"""


def codes(findings, severity: Severity | None = None) -> list[str]:
    return [f.code for f in findings if severity is None or f.severity is severity]


def only(findings, code: str):
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, [f.render() for f in findings]
    return matching[0]


def with_proxy(*lines: str) -> str:
    """GOOD with these lines in the proxy section instead of its remoteurl."""
    body = "".join(f"  {line}\n" for line in lines)
    return GOOD.replace("  remoteurl: https://registry-1.docker.io\n", body)


# --------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("version", ["2.8.2", "3.0.0"])
def test_reference_config_from_the_guide_has_no_errors_or_warnings(version):
    findings = lint_config_file(REFERENCE, registry_version=version)
    assert codes(findings, Severity.ERROR) == []
    assert codes(findings, Severity.WARNING) == []


def test_a_config_with_debug_addr_has_no_findings_at_all():
    assert lint_config_text(GOOD) == []


CORPUS_CASES = [
    # file, registry version, the one error code, line, column
    ("no-proxy.yml", "2.8.2", "registry-config/proxy-missing", None, None),
    ("remoteurl-camel-case.yml", "2.8.2", "registry-config/proxy-remoteurl-case", 22, 3),
    ("remoteurl-camel-case.yml", "3.0.0", "registry-config/proxy-remoteurl-case", 22, 3),
    ("ttl-on-2.8.yml", "2.8.2", "registry-config/proxy-ttl-unsupported", 23, 3),
    ("storage-inmemory.yml", "2.8.2", "registry-config/storage-inmemory", 8, 3),
    ("delete-disabled.yml", "2.8.2", "registry-config/delete-disabled", 11, 14),
    ("delete-quoted-true.yml", "2.8.2", "registry-config/delete-disabled", 11, 14),
    ("remoteurl-dot-com.yml", "2.8.2", "registry-config/remoteurl-not-docker-hub", 22, 14),
    ("remoteurl-docker-io.yml", "2.8.2", "registry-config/remoteurl-not-docker-hub", 22, 14),
    ("remoteurl-hub-website.yml", "2.8.2", "registry-config/remoteurl-not-docker-hub", 22, 14),
    ("remoteurl-ghcr.yml", "2.8.2", "registry-config/remoteurl-not-docker-hub", 22, 14),
    ("remoteurl-http.yml", "2.8.2", "registry-config/remoteurl-not-https", 22, 14),
    ("unknown-key.yml", "2.8.2", "registry-config/unknown-key", 18, 5),
    ("yaml-syntax.yml", "2.8.2", "registry-config/yaml-syntax", 4, 12),
    ("tab-indentation.yml", "2.8.2", "registry-config/yaml-syntax", 8, 1),
    ("version-missing.yml", "2.8.2", "registry-config/version-missing", None, None),
    ("v3-ttl-in-days.yml", "3.0.0", "registry-config/proxy-ttl-invalid", 23, 8),
    ("v3-ttl-bare-number.yml", "3.0.0", "registry-config/proxy-ttl-invalid", 23, 8),
    ("v3-cachewritetimeout-bare-number.yml", "3.1.1",
     "registry-config/proxy-cachewritetimeout-invalid", 24, 22),
    ("v3-cachewritetimeout-bare-number.yml", "3.0.0", "registry-config/key-not-in-version", 24, 3),
    ("v3-swift-removed.yml", "3.0.0", "registry-config/storage-unknown-key", 8, 3),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "version", "code", "line", "column"),
    CORPUS_CASES,
    ids=[f"{c[0]}@{c[1]}" for c in CORPUS_CASES],
)
def test_each_broken_corpus_file_has_exactly_its_error_at_its_place(
    name, version, code, line, column
):
    findings = lint_config_file(CORPUS / name, registry_version=version)
    found = errors(findings)
    assert [f.code for f in found] == [code], [f.render() for f in findings]
    assert (found[0].line, found[0].column) == (line, column)
    assert found[0].path == str(CORPUS / name)
    assert found[0].fix


def test_duplicate_proxy_section_reports_the_dropped_block_and_judges_the_kept_one():
    findings = lint_config_file(CORPUS / "duplicate-proxy.yml")
    duplicate = only(findings, "registry-config/duplicate-key")
    assert (duplicate.line, duplicate.key) == (23, "proxy")
    assert "line 21" in duplicate.message
    assert "ghcr.io" in only(findings, "registry-config/remoteurl-not-docker-hub").message


def test_ttl_is_valid_on_3_0():
    assert errors(lint_config_file(CORPUS / "v3-ttl.yml", registry_version="3.0.0")) == []


# --------------------------------------------------------------------------- messages


def test_a_finding_names_file_key_line_column_and_fix():
    finding = only(
        lint_config_file(CORPUS / "ttl-on-2.8.yml"), "registry-config/proxy-ttl-unsupported"
    )
    assert finding.key == "proxy.ttl"
    assert "proxy.ttl" in finding.message
    assert finding.render().startswith(f"{CORPUS / 'ttl-on-2.8.yml'}:23:3: error ")
    assert "registry:3" in finding.fix


def test_camel_case_remoteurl_says_the_registry_is_not_a_mirror():
    finding = only(
        lint_config_file(CORPUS / "remoteurl-camel-case.yml"),
        "registry-config/proxy-remoteurl-case",
    )
    assert "NOT a mirror" in finding.message
    assert finding.fix == "rename 'remoteUrl' to 'remoteurl'"


def test_camel_case_remoteurl_is_not_also_reported_as_a_missing_proxy():
    findings = lint_config_file(CORPUS / "remoteurl-camel-case.yml")
    assert "registry-config/proxy-missing" not in codes(findings)


def test_an_ignored_variant_next_to_the_real_key_is_to_be_removed_not_renamed():
    findings = lint_config_text(
        with_proxy("remoteurl: https://registry-1.docker.io", "remote_url: x")
    )
    finding = only(findings, "registry-config/key-case")
    assert finding.fix.startswith("remove 'remote_url'")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("https://registry-1.docker.com", ".com instead of .io"),
        ("https://docker.io", "not its registry API"),
        ("https://hub.docker.com", "website"),
        ("https://registry-1.dockr.io", "mistyped"),
    ],
)
def test_mistyped_docker_hub_hosts_are_errors_that_say_what_the_host_is(url, said):
    finding = only(
        lint_config_text(with_proxy(f"remoteurl: {url}")),
        "registry-config/remoteurl-not-docker-hub",
    )
    assert finding.severity is Severity.ERROR
    assert said in finding.message
    assert finding.fix == "set proxy.remoteurl: https://registry-1.docker.io"


def test_another_registry_as_upstream_is_an_error_because_nodes_never_ask_the_mirror():
    finding = only(
        lint_config_text(with_proxy("remoteurl: https://quay.io")),
        "registry-config/remoteurl-not-docker-hub",
    )
    assert "only Docker Hub images" in finding.message


@pytest.mark.parametrize("host", ["index.docker.io", "registry.hub.docker.com"])
def test_older_docker_hub_aliases_are_only_a_warning(host):
    finding = only(
        lint_config_text(with_proxy(f"remoteurl: https://{host}")),
        "registry-config/remoteurl-not-docker-hub",
    )
    assert finding.severity is Severity.WARNING
    assert "registry-1.docker.io" in finding.message


def test_remoteurl_without_scheme_is_an_error():
    finding = only(
        lint_config_text(with_proxy("remoteurl: registry-1.docker.io")),
        "registry-config/remoteurl-not-https",
    )
    assert "scheme" in finding.message


def test_remoteurl_with_a_path_is_an_error_and_a_trailing_slash_a_warning():
    with_path = only(
        lint_config_text(with_proxy("remoteurl: https://registry-1.docker.io/v2")),
        "registry-config/remoteurl-path",
    )
    slash = only(
        lint_config_text(with_proxy("remoteurl: https://registry-1.docker.io/")),
        "registry-config/remoteurl-path",
    )
    assert (with_path.severity, slash.severity) == (Severity.ERROR, Severity.WARNING)


def test_a_lab_upstream_passes_when_it_is_the_expected_one():
    text = with_proxy("remoteurl: http://upstream:5000")
    assert lint_config_text(text, expected_remoteurl="http://upstream:5000") == []


def test_a_lab_config_pointing_elsewhere_is_an_error():
    findings = lint_config_text(
        with_proxy("remoteurl: http://other:5000"), expected_remoteurl="http://upstream:5000"
    )
    assert codes(findings) == ["registry-config/remoteurl-unexpected"]


def test_remoteurl_at_the_top_level_is_pointed_to_the_proxy_section():
    text = GOOD.replace("proxy:\n  remoteurl:", "remoteurl:")
    findings = lint_config_text(text)
    assert only(findings, "registry-config/unknown-key").fix == "move it to proxy.remoteurl"
    assert "registry-config/proxy-missing" in codes(findings)


def test_a_scalar_proxy_is_a_wrong_type_that_stops_the_registry():
    text = GOOD.replace("proxy:\n  remoteurl:", "proxy:")
    finding = only(lint_config_text(text), "registry-config/wrong-type")
    assert (finding.key, finding.line) == ("proxy", 11)


def test_ttl_zero_on_3_0_is_reported_as_expiry_off():
    findings = lint_config_text(
        with_proxy("remoteurl: https://registry-1.docker.io", "ttl: 0s"), registry_version="3.0.0"
    )
    assert codes(findings) == ["registry-config/proxy-ttl-disabled"]
    assert findings[0].severity is Severity.INFO


def test_bare_number_ttl_says_nanoseconds():
    finding = only(
        lint_config_file(CORPUS / "v3-ttl-bare-number.yml", registry_version="3.0.0"),
        "registry-config/proxy-ttl-invalid",
    )
    assert "nanoseconds" in finding.message


def test_a_key_that_exists_only_in_another_version_says_which():
    text = GOOD + "reporting:\n  bugsnag:\n    apikey: x\n"
    finding = only(
        lint_config_text(text, registry_version="3.0.0"), "registry-config/key-not-in-version"
    )
    assert "distribution 2.8" in finding.message


def test_unknown_key_suggests_the_close_one():
    text = GOOD.replace("rootdirectory:", "rootdir:")
    finding = only(lint_config_text(text), "registry-config/unknown-key")
    assert finding.key == "storage.filesystem.rootdir"
    assert "'rootdirectory'" in finding.fix


def test_an_unknown_storage_key_stops_the_registry():
    text = GOOD.replace("  delete:\n", "  deletes:\n")
    finding = only(lint_config_text(text), "registry-config/storage-unknown-key")
    assert "refuses to start" in finding.message


def test_an_unknown_auth_type_stops_the_registry():
    finding = only(
        lint_config_text(GOOD + "auth:\n  htpassword:\n    path: /auth/htpasswd\n"),
        "registry-config/unknown-key",
    )
    assert "access controller" in finding.message
    assert "'htpasswd'" in finding.fix


def test_wrong_case_top_level_section_is_reported():
    text = GOOD.replace("proxy:", "Proxy:")
    findings = lint_config_text(text)
    assert only(findings, "registry-config/key-case").fix == "rename 'Proxy' to 'proxy'"


def test_header_values_must_be_lists():
    text = GOOD.replace("http:\n", "http:\n  headers:\n    X-Content-Type-Options: nosniff\n")
    finding = only(lint_config_text(text), "registry-config/wrong-type")
    assert finding.key == "http.headers.X-Content-Type-Options"


# --------------------------------------------------------------------------- storage, version


def test_inmemory_storage_as_a_bare_name_is_an_error():
    text = GOOD.replace(STORAGE, "storage: inmemory\n")
    assert "registry-config/storage-inmemory" in codes(lint_config_text(text))


def test_missing_delete_section_is_an_error():
    text = GOOD.replace("  delete:\n    enabled: true\n", "")
    finding = only(lint_config_text(text), "registry-config/delete-disabled")
    assert "not set" in finding.message


def test_quoted_true_is_not_a_boolean():
    finding = only(
        lint_config_file(CORPUS / "delete-quoted-true.yml"), "registry-config/delete-disabled"
    )
    assert "string" in finding.message
    assert "without quotes" in finding.fix


def test_two_storage_drivers_stop_the_registry():
    text = GOOD.replace("  delete:\n", "  s3:\n    bucket: b\n  delete:\n")
    assert codes(lint_config_text(text)) == ["registry-config/storage-multiple-drivers"]


def test_no_storage_stops_the_registry():
    text = GOOD.replace(STORAGE, "")
    assert "registry-config/storage-missing" in codes(lint_config_text(text))


def test_storage_with_only_sections_names_no_driver():
    text = GOOD.replace("  filesystem:\n    rootdirectory: /var/lib/registry\n", "")
    assert codes(lint_config_text(text)) == ["registry-config/storage-missing"]


def test_version_other_than_0_1_stops_the_registry():
    finding = only(
        lint_config_text(GOOD.replace("version: 0.1", "version: 0.2")),
        "registry-config/version-unsupported",
    )
    assert (finding.line, finding.column) == (1, 10)


def test_quoted_version_is_accepted():
    assert lint_config_text(GOOD.replace("version: 0.1", 'version: "0.1"')) == []


def test_an_empty_file_is_one_error():
    assert codes(lint_config_text("# nothing here\n")) == ["registry-config/not-a-mapping"]


def test_a_list_at_the_top_is_one_error():
    assert codes(lint_config_text("- version: 0.1\n")) == ["registry-config/not-a-mapping"]


def test_merge_keys_are_followed_like_the_registry_does():
    text = GOOD.replace(
        "proxy:\n  remoteurl: https://registry-1.docker.io\n",
        "proxy:\n  <<: {remoteurl: https://registry-1.docker.io}\n",
    )
    assert lint_config_text(text) == []


def test_missing_debug_addr_is_information_only():
    text = GOOD.replace("  debug:\n    addr: :5001\n", "")
    finding = only(lint_config_text(text), "registry-config/debug-addr-missing")
    assert finding.severity is Severity.INFO


# --------------------------------------------------------------------------- reading


def test_tab_indentation_points_at_the_tab_and_says_spaces():
    [finding] = lint_config_file(CORPUS / "tab-indentation.yml")
    assert "tab" in finding.message
    assert "spaces" in finding.fix
    assert "→filesystem:" in finding.excerpt


def test_yaml_syntax_error_is_one_finding_with_the_line_and_a_caret():
    [finding] = lint_config_file(CORPUS / "yaml-syntax.yml")
    assert finding.excerpt.splitlines()[1].index("^") == 11


def test_a_missing_file_is_one_finding_not_a_traceback(tmp_path):
    [finding] = lint_config_file(tmp_path / "absent.yml")
    assert finding.code == "registry-config/unreadable"
    assert "does not exist" in finding.message


def test_read_config_raises_a_finding_for_bad_yaml():
    with pytest.raises(YamlReadError) as caught:
        load_config("a: [1,\n")
    assert caught.value.finding.code == "registry-config/yaml-syntax"


def test_registry_config_answers_values_and_positions():
    config = read_config(REFERENCE)
    assert config.remoteurl == "https://registry-1.docker.io"
    assert config.where("proxy.remoteurl") == (22, 14)
    assert config.storage_driver == "filesystem"
    assert config.rootdirectory == "/var/lib/registry"
    assert config.delete_enabled is True
    assert (config.http_addr, config.debug_addr) == (":5000", None)


def test_rootdirectory_defaults_like_the_filesystem_driver():
    config = load_config(GOOD.replace("    rootdirectory: /var/lib/registry\n", ""))
    assert config.rootdirectory == "/var/lib/registry"


# --------------------------------------------------------------------------- config path, schema


def test_config_path_is_checked_per_image_version():
    assert check_config_path("/etc/docker/registry/config.yml", "2.8.2") == []
    [finding] = check_config_path("/etc/docker/registry/config.yml", "3.0.0")
    assert finding.code == "registry-config/config-path"
    assert "/etc/distribution/config.yml" in finding.fix


def test_lint_config_checks_the_mount_target_when_given():
    findings = lint_config_text(
        GOOD, registry_version="3.0.0", mount_target="/etc/distribution/config.yml"
    )
    assert findings == []


def test_the_schema_tables_agree_with_the_version_facts():
    v28, v30 = schema_for(parse_version("2.8.2")), schema_for(parse_version("3.0.0"))
    assert lookup(v28.keys, ("proxy", "ttl")) is None
    assert lookup(v30.keys, ("proxy", "ttl")) is not None
    assert all(lookup(row.keys, ("proxy", "remoteurl")) for row in SCHEMAS)
    assert config_path_for(parse_version("2")) == "/etc/docker/registry/config.yml"
    assert config_path_for(parse_version("3")) == "/etc/distribution/config.yml"


def test_an_unparseable_registry_version_is_refused():
    with pytest.raises(ValueError, match="not a version"):
        lint_config_text(GOOD, registry_version="two")


# --------------------------------------------------------------------------- command line


def main(args: list[str]) -> int:
    """``mirrorcheck lint registry-config ARGS``."""
    return cli.main(["lint", "registry-config", *args])


def test_main_exits_0_on_the_reference_config(capsys):
    assert main([str(REFERENCE)]) == 0
    assert "debug-addr-missing" in capsys.readouterr().out


def test_main_exits_1_and_prints_rendered_findings_on_errors(capsys):
    assert main([str(CORPUS / "ttl-on-2.8.yml"), "--registry-version", "2.8.2"]) == 1
    assert "ttl-on-2.8.yml:23:3: error [registry-config/proxy-ttl-unsupported]" in (
        capsys.readouterr().out
    )


def test_main_takes_the_version_from_the_stack_image(capsys):
    code = main(
        [str(CORPUS / "v3-ttl.yml"), "--stack", str(CORPUS / "stack-registry3-old-path.yml")]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "proxy-ttl-unsupported" not in out
    assert "registry-stack/config-path" in out


def test_main_reports_a_missing_file_in_one_line_as_a_usage_error(tmp_path, capsys):
    assert main([str(tmp_path / "absent.yml")]) == 2
    printed = capsys.readouterr()
    [line] = printed.err.splitlines()
    assert "registry-config/unreadable" in line and "; fix: check the path" in line
    assert printed.out == ""


def test_main_exits_2_on_a_bad_version_argument(capsys):
    assert main([str(REFERENCE), "--registry-version", "two"]) == 2
    assert "not a version" in capsys.readouterr().err


def test_main_exits_2_without_arguments(capsys):
    assert main([]) == 2


def test_command_runs_from_the_shell():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mirrorcheck.cli",
            "lint",
            "registry-config",
            str(CORPUS / "yaml-syntax.yml"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 1
    assert "yaml-syntax.yml:4:12: error [registry-config/yaml-syntax]" in result.stdout
    assert result.stderr == ""


# -- what is not a config: one error type, with its place ------------------------------


def test_a_binary_config_file_is_unreadable_at_the_first_bad_byte(tmp_path):
    path = tmp_path / "config.yml"
    path.write_bytes(b"version: 0.1\nproxy:\n  remoteurl: \xff\xfe\x00\x1b[31m\n")
    [finding] = lint_config_file(path)
    assert finding.code == "registry-config/unreadable"
    assert (finding.line, finding.column) == (3, 14)
    assert "not UTF-8 text: byte ff" in finding.message
    with pytest.raises(YamlReadError):
        read_runnable_config(path)


def test_binary_text_is_named_with_its_place_and_shown_escaped():
    # As the lab reads a file under test: bytes that are not UTF-8 become U+FFFD.
    text = b"version: 0.1\nhttp:\n  addr: \x1b[2J\x00\xff".decode("utf-8", "replace")
    with pytest.raises(YamlReadError) as caught:
        load_runnable_config(text, "config.yml")
    finding = caught.value.finding
    assert finding.code == "registry-config/yaml-syntax"
    assert (finding.location, finding.message.split(";")[0]) == (
        "config.yml:3:9",
        "not a YAML text file: it holds the control character \\x1b (a binary file?)",
    )
    assert "\x1b" not in finding.render() and "\\x1b[2J" in finding.excerpt


@pytest.mark.parametrize(
    ("name", "shape"), [("top-level-list.yml", "sequence"), ("top-level-scalar.yml", "scalar")]
)
def test_a_config_that_is_not_a_mapping_raises_one_error_for_the_lab(name, shape):
    config = read_config(CORPUS / name)  # the lint reads it, and says what it is
    assert config.doc.root is not None
    with pytest.raises(YamlReadError) as caught:
        read_runnable_config(CORPUS / name)
    finding = caught.value.finding
    assert (finding.code, finding.line, finding.column) == ("registry-config/not-a-mapping", 1, 1)
    assert f"the top level is a {shape}, not a mapping of keys" in finding.message
    assert [f.render() for f in lint_config_file(CORPUS / name)] == [finding.render()]


def test_an_empty_config_is_not_runnable():
    with pytest.raises(YamlReadError) as caught:
        load_runnable_config("# nothing\n")
    assert "the file is empty" in caught.value.finding.message


def test_a_value_yaml_cannot_build_is_one_finding_at_the_value():
    [finding] = lint_config_file(CORPUS / "unbuildable-value.yml")
    assert (finding.code, finding.line, finding.column) == ("registry-config/yaml-syntax", 6, 9)
    assert "!!int cannot hold ':5000'" in finding.message
    assert finding.excerpt.splitlines() == ["  addr: !!int :5000", "        ^"]


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("version: 0.1\nstarted: 2001-13-01\n", (2, 10), "!!timestamp cannot hold '2001-13-01'"),
        ("version: 0.1\nstorage: !!python/name:os.system\n", (2, 10), "could not determine"),
        ("version: 0.1\n? [1]\n: 2\n", (2, 3), "found unhashable key"),
        ("version: 0.1\nstorage: &a [*a]\n", (2, 10), "contains itself through an alias"),
        ("version: 0.1\nstorage: &a\n  <<: *a\n", (2, 10), "contains itself through an alias"),
    ],
)
def test_values_that_cannot_be_built_are_findings_not_exceptions(text, where, words):
    with pytest.raises(YamlReadError) as caught:
        load_config(text)
    finding = caught.value.finding
    assert (finding.line, finding.column) == where, finding.render()
    assert words in finding.message


def test_nesting_500_deep_is_a_finding_at_the_level_past_the_limit():
    [finding] = lint_config_file(CORPUS / "deep-nesting.yml")
    # 'storage: ' is 9 characters; the top-level mapping is level 1, so the
    # 100th '[' (column 10 + 99) opens level 101.
    assert (finding.code, finding.line, finding.column) == ("registry-config/yaml-syntax", 2, 109)
    assert f"nest more than {MAX_DEPTH} levels deep" in finding.message
    assert len(finding.excerpt.splitlines()[0]) < 110


def test_merge_keys_leave_the_tree_as_written():
    text = "version: 0.1\nbase: &b\n  filesystem: {rootdirectory: /x}\nstorage:\n  <<: *b\n"
    config = load_config(text)
    assert config.rootdirectory == "/x"
    storage = config.node("storage")
    assert [key.value for key, _ in storage.value] == ["<<"]


# -- libyaml where present, the same findings either way ---------------------------------


@pytest.fixture(params=["libyaml", "pure"])
def loader(request, monkeypatch):
    if request.param == "libyaml":
        if not yaml.__with_libyaml__:
            pytest.skip("PyYAML was built without libyaml")
        monkeypatch.setattr(yaml_source, "_LOADER", yaml.CSafeLoader)
    else:
        monkeypatch.setattr(yaml_source, "_LOADER", yaml.SafeLoader)
    return request.param


def test_libyaml_reads_the_files_when_pyyaml_has_it():
    assert yaml_source.LIBYAML is yaml.__with_libyaml__
    assert yaml_source._LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize(
    "name",
    [
        "duplicate-proxy.yml",
        "remoteurl-camel-case.yml",
        "unknown-key.yml",
        "ttl-on-2.8.yml",
        "tab-indentation.yml",
        "yaml-syntax.yml",
        "unbuildable-value.yml",
        "top-level-list.yml",
    ],
)
def test_both_loaders_give_the_same_findings_and_places(name, monkeypatch):
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml")
    seen = []
    for parser in (yaml.CSafeLoader, yaml.SafeLoader):
        monkeypatch.setattr(yaml_source, "_LOADER", parser)
        findings = lint_config_file(CORPUS / name)
        # The words of a syntax error are the parser's own; code, place and fix are ours.
        seen.append([(f.code, f.line, f.column, f.fix, f.excerpt) for f in findings])
    assert seen[0] == seen[1]


def test_both_loaders_find_the_duplicate_key_at_its_line(loader):
    findings = lint_config_file(CORPUS / "duplicate-proxy.yml")
    [duplicate] = [f for f in findings if f.code == "registry-config/duplicate-key"]
    assert (duplicate.line, duplicate.column) == (23, 1)


def test_both_loaders_stop_deep_nesting_with_a_finding(loader):
    [finding] = lint_config_text("version: 0.1\nstorage: " + "[" * 3000 + "\n")
    assert finding.code == "registry-config/yaml-syntax"
    assert finding.line == 2


# --------------------------------------------------------------------------- registry 3.x


def test_a_3_1_config_with_ttl_0_cachewritetimeout_and_redis_addrs_passes_on_3_1():
    findings = lint_config_file(CORPUS / "v3-1-full.yml", registry_version="3.1.1")
    assert [(f.code, f.line) for f in findings] == [
        ("registry-config/debug-addr-missing", 12),
        ("registry-config/proxy-ttl-disabled", 23),
    ]


def test_3_1_keys_on_3_0_are_named_as_keys_of_another_version():
    findings = errors(lint_config_file(CORPUS / "v3-1-full.yml", registry_version="3.0.0"))
    assert [(f.code, f.key) for f in findings] == [
        ("registry-config/key-not-in-version", "proxy.cachewritetimeout")
    ]


def test_redis_addrs_is_a_3_x_key_and_addr_a_2_8_key():
    findings = errors(lint_config_file(CORPUS / "v3-1-full.yml", registry_version="2.8.2"))
    assert [(f.code, f.key) for f in findings] == [
        ("registry-config/proxy-ttl-unsupported", "proxy.ttl"),
        ("registry-config/key-not-in-version", "proxy.cachewritetimeout"),
        ("registry-config/key-not-in-version", "redis.addrs"),
    ]


def test_a_storage_driver_removed_in_3_0_is_named_as_removed():
    [finding] = errors(lint_config_file(CORPUS / "v3-swift-removed.yml", registry_version="3.1.1"))
    assert finding.message == (
        "storage.swift: distribution 3.1 has no 'swift' (it exists in distribution 2.8, "
        "removed since); distribution takes it for a storage driver name and refuses to start"
    )
    assert finding.fix == (
        "move the data to a driver distribution 3.1 has "
        "(azure, filesystem, gcs, inmemory, s3, s3aws), or run the version that has it"
    )
    on_2_8 = errors(lint_config_file(CORPUS / "v3-swift-removed.yml", registry_version="2.8.3"))
    assert [f.code for f in on_2_8] == ["registry-config/proxy-ttl-unsupported"]


def test_a_credential_helper_next_to_a_password_is_a_warning_without_the_password():
    findings = lint_config_file(CORPUS / "v3-exec-and-password.yml", registry_version="3.1.1")
    assert [(f.code, f.severity, f.line, f.column) for f in findings] == [
        ("registry-config/debug-addr-missing", Severity.INFO, 12, 1),
        ("registry-config/proxy-exec-ignores-credentials", Severity.WARNING, 25, 3),
    ]
    assert all("not-used-here" not in f.render() for f in findings)


def test_a_zero_cache_write_timeout_is_the_default_and_passes():
    text = (CORPUS / "v3-cachewritetimeout-bare-number.yml").read_text()
    findings = lint_config_text(
        text.replace("cachewritetimeout: 5", "cachewritetimeout: 0"), registry_version="3.1.1"
    )
    assert errors(findings) == []

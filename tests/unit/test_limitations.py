"""The limitations table and what it answers per distribution version."""

from __future__ import annotations

import json

import pytest

from mirrorcheck.rules.limitations import (
    CHECK_IDS,
    LIMITATIONS,
    SINGLE_FETCH_ACROSS_NODES,
    RegistryVersion,
    limitations_for,
    max_fetches_per_blob,
    parse_version,
    pull_cost,
    trusted_counters,
    version_from_log,
)


def ids(limitations) -> set[str]:
    return {lim.id for lim in limitations}


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("2.8.2+ds1", (2, 8, 2)),
        ("v3.0.0", (3, 0, 0)),
        ("2.8", (2, 8, 0)),
        ("3", (3, 0, 0)),
        ("3.0.0-rc.1", (3, 0, 0)),
    ],
)
def test_parse_version_reads_debian_v_prefixed_and_short_forms(text, parts):
    version = parse_version(text)
    assert (version.major, version.minor, version.patch) == parts
    assert str(version) == text


@pytest.mark.parametrize("text", ["", "latest", "two.eight", "2.8.x", None])
def test_parse_version_returns_none_for_what_is_not_a_version(text):
    assert parse_version(text) is None


def test_versions_compare_by_number_not_by_text():
    assert parse_version("2.10.0") > parse_version("2.8.2")
    assert parse_version("3.0.0") > parse_version("2.8.2+ds1")


def test_build_metadata_does_not_change_the_order():
    assert parse_version("2.8.2+ds1") == parse_version("2.8.2")


def test_a_prerelease_sorts_before_its_release():
    assert parse_version("3.0.0-alpha.1") < parse_version("3.0.0-rc.1") < parse_version("3.0.0")
    assert parse_version("3.0.0-rc.2") < parse_version("3.0.0-rc.10")


def test_parse_version_passes_a_version_through():
    version = RegistryVersion(2, 8, 2)
    assert parse_version(version) is version


def test_version_from_a_logfmt_startup_line():
    line = (
        'time="2024-05-01T10:00:00Z" level=info msg="listening on [::]:5000" '
        "go.version=go1.19.8 instance.id=5d7e service=registry version=2.8.2+ds1"
    )
    assert version_from_log(line) == parse_version("2.8.2")


def test_version_from_a_json_startup_line_ignores_go_version():
    line = json.dumps(
        {
            "go.version": "go1.19.8",
            "level": "info",
            "msg": "listening on [::]:5000",
            "service": "registry",
            "version": "2.8.2+ds1",
        }
    )
    assert version_from_log("starting\n" + line) == parse_version("2.8.2")


def test_version_from_registry_version_command_output():
    assert version_from_log("registry github.com/distribution/distribution/v3 v3.0.0\n") == (
        parse_version("3.0.0")
    )


def test_a_log_with_only_the_go_version_names_no_registry_version():
    assert version_from_log('level=info msg="starting" go.version=go1.19.8') is None


# --------------------------------------------------------------------------- limitations


def test_every_limitation_names_checks_source_and_fix():
    for lim in LIMITATIONS:
        assert lim.checks and lim.checks <= CHECK_IDS, lim.id
        assert "distribution/distribution" in lim.source, lim.id
        assert lim.fix and lim.behaviour, lim.id


def test_every_check_id_but_serial_single_fetch_is_weakened_by_some_limitation_on_2_8():
    for check in CHECK_IDS - {SINGLE_FETCH_ACROSS_NODES}:
        assert limitations_for("2.8.2", check), check


def test_serial_single_fetch_across_nodes_is_excused_by_no_limitation():
    # Serial pulls after the first are served from the cache on every version:
    # the double fetch happens within the first pull, which the check compares against.
    assert limitations_for("2.8.2", SINGLE_FETCH_ACROSS_NODES) == []


def test_double_blob_fetch_weakens_cold_pull_cost_on_2_8_only():
    assert "double-blob-fetch" in ids(limitations_for("2.8.2+ds1", "cold-pull-cost"))
    assert "double-blob-fetch" not in ids(limitations_for("3.0.0", "cold-pull-cost"))


def test_double_blob_fetch_is_fixed_from_the_first_3_0_prerelease():
    assert "double-blob-fetch" not in ids(limitations_for("3.0.0-alpha.1", "cold-pull-cost"))


def test_unshared_concurrent_fetches_apply_to_every_version():
    for version in ("2.8.2", "3.0.0", "3.1.1"):
        assert "unshared-concurrent-fetches" in ids(
            limitations_for(version, "concurrent-cold-pulls")
        ), version


def test_start_up_panic_weakens_restart_checks_on_2_8_and_3_x():
    for version in ("2.8.2", "3.0.0"):
        found = ids(limitations_for(version, "mirror-restart-upstream-down"))
        assert found == {"panic-at-start-upstream-unreachable"}, version


@pytest.mark.parametrize(
    ("version", "affected"),
    [("2.8.3", True), ("3.0.0", True), ("3.1.0", True), ("3.1.1", True), ("3.1.2", False)],
)
def test_upstream_errors_reach_clients_as_500_until_after_3_1_1(version, affected):
    found = ids(limitations_for(version, "upstream-error-status"))
    assert found == ({"upstream-errors-as-500"} if affected else set()), version


def test_the_start_up_panic_is_still_open_on_3_1_1():
    assert ids(limitations_for("3.1.1", "mirror-restart-upstream-down")) == {
        "panic-at-start-upstream-unreachable"
    }


@pytest.mark.parametrize(
    ("version", "fetches"), [("2.8.2", True), ("2.8.3", True), ("3.0.0", False), ("3.1.1", False)]
)
def test_the_double_blob_fetch_is_a_2_8_limitation_only(version, fetches):
    found = "double-blob-fetch" in ids(limitations_for(version, "cold-pull-cost"))
    assert found is fetches


def test_wrong_blob_counters_weaken_counter_checks_on_2_8_only():
    assert "blob-counters-wrong" in ids(limitations_for("2.8.2", "mirror-counters"))
    assert limitations_for("3.0.0", "mirror-counters") == []


def test_an_unknown_version_gets_every_limitation_of_the_check():
    every = {lim.id for lim in LIMITATIONS if "cold-pull-cost" in lim.checks}
    assert ids(limitations_for(None, "cold-pull-cost")) == every
    assert ids(limitations_for("not a version", "cold-pull-cost")) == every


def test_an_unknown_check_id_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="cold-pull-cost"):
        limitations_for("2.8.2", "cold-pull")


# --------------------------------------------------------------------------- counters


def test_on_2_8_only_the_measured_manifest_counters_are_trusted():
    assert trusted_counters("2.8.2") == {
        "registry.proxy.manifests.Requests",
        "registry.proxy.manifests.Misses",
        "registry.proxy.manifests.BytesPulled",
    }


def test_on_3_x_blob_misses_are_trusted():
    trusted = trusted_counters("3.0.0")
    assert "registry.proxy.blobs.Misses" in trusted
    assert "registry.proxy.manifests.Hits" in trusted


def test_an_unknown_version_trusts_no_counter():
    assert trusted_counters(None) == set()


# --------------------------------------------------------------------------- pull cost


@pytest.mark.parametrize(
    ("version", "gets"),
    [("2.8.2+ds1", 2), ("2.8", 2), ("3.0.0-alpha.1", 1), ("3.0.0", 1), ("3.1.1", 1), (None, 2)],
)
def test_max_upstream_gets_per_blob_on_a_cold_serial_pull(version, gets):
    assert max_fetches_per_blob(version) == gets


@pytest.mark.parametrize("version", ["2.8.2", "3.0.0", None])
def test_a_warm_pull_costs_only_the_tag_head(version):
    cost = pull_cost(version, warm=True)
    assert (cost.tag_heads, cost.manifest_gets, cost.blob_gets_per_blob) == (1, 0, 0)


def test_a_cold_pull_gets_each_manifest_once():
    assert pull_cost("2.8.2", warm=False).manifest_gets == 1
    assert pull_cost("3.0.0", warm=False).manifest_gets == 1

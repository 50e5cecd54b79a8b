"""The summary document, its schema, and the HTML and terminal views built from it."""

from __future__ import annotations

import re

import jsonschema
import pytest

from mirrorcheck.report import causes, html, terminal
from mirrorcheck.report.figures import (
    NODE_FIELD_ACCEPTS,
    NODE_FIELDS,
    WELL_KNOWN_FIGURES,
    node_rows,
)
from mirrorcheck.report.summary import (
    EXIT_VERDICTS,
    RunRecord,
    build_summary,
    load_schema,
    phase_verdict,
    target_name,
    usage_error_summary,
)

MIRROR = "https://mirror.test"
SERIAL = "suites/test_single_fetch.py::test_nodes_pulling_one_after_another"
DAEMON = "suites/test_daemon_json.py::test_daemon_starts_with_the_file"


def passed(run: RunRecord, check: str, *properties: tuple[str, object]) -> None:
    run.add_phase(check, "setup", "passed")
    run.add_phase(check, "call", "passed", duration=0.5, properties=properties)
    run.add_phase(check, "teardown", "passed", properties=properties)


def failed(run: RunRecord, check: str, message: str, *properties: tuple[str, object]) -> None:
    run.add_phase(check, "setup", "passed")
    run.add_phase(check, "call", "failed", message=message, properties=properties)
    run.add_phase(check, "teardown", "passed", properties=properties)


def healthy_run() -> RunRecord:
    run = RunRecord(target={"mode": "hermetic", "fqdn": "mirror.test", "mirror_url": MIRROR})
    run.add_target(
        {
            "registry_version": "2.8.2+ds1",
            "nodes": [{"name": f"node-{i}", "engine_version": "20.10.24"} for i in (1, 2, 3)],
        }
    )
    passed(
        run,
        SERIAL,
        ("upstream_requests_per_pull", {"node-1": 9, "node-2": 1, "node-3": 1}),
        ("upstream_blob_gets_per_pull", {"node-1": 6, "node-2": 0, "node-3": 0}),
        ("upstream_blob_gets_per_digest", {"sha256:a": 2, "sha256:b": 1}),
        ("cold_pull_seconds", {"node-1": 1.5}),
        ("upstream_bytes", 600),
        ("bytes_served_to_nodes", 1800),
        ("billable_manifest_gets", 1),
        ("billable_without_mirror", 3),
    )
    for i in (1, 2, 3):
        passed(
            run,
            f"{DAEMON}[node-{i}]",
            ("node", f"node-{i}"),
            ("effective_mirrors", [f"{MIRROR}/"]),
            ("daemon_json_verdict", "ok"),
        )
    return run


def summary_of(run: RunRecord, exit_code: int = 0) -> dict:
    return build_summary(
        run, exit_code=exit_code, generated_at="2026-01-01T00:00:00+00:00", tools={"pytest": "9"}
    )


def validate(document: dict) -> None:
    jsonschema.validate(document, load_schema(), cls=jsonschema.Draft202012Validator)


# ------------------------------------------------------------------------ schema


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(load_schema())


def test_summary_of_a_measured_run_validates_against_the_schema():
    validate(summary_of(healthy_run()))


def test_summary_of_a_run_where_nothing_ran_validates_and_says_so():
    document = summary_of(RunRecord(), exit_code=5)
    validate(document)
    assert document["verdict"] == "no_tests"
    assert document["counts"]["total"] == 0 and document["nodes"] == []


def test_summary_with_odd_figures_still_validates():
    run = RunRecord(target={"mode": "hermetic", "fqdn": "mirror.test"})
    passed(
        run,
        "suites/test_x.py::test_odd[node-1]",
        ("node", "node-1"),
        ("warm_pull_seconds", [0.1, 0.2]),  # a list: kept with the check, not in the table
        ("effective_mirrors", "not a list"),
        ("upstream_requests_per_pull", "nonsense"),
        ("something_else", {"nested": (1, 2)}),
    )
    document = summary_of(run)
    validate(document)
    assert document["nodes"][0]["warm_pull_seconds"] is None
    assert document["checks"][0]["figures"]["something_else"] == {"nested": [1, 2]}


def test_schema_rejects_a_summary_whose_verdict_is_unknown():
    document = summary_of(healthy_run())
    document["verdict"] = "mostly fine"
    with pytest.raises(jsonschema.ValidationError, match="mostly fine"):
        validate(document)


def test_schema_rejects_a_node_row_without_its_fields():
    document = summary_of(healthy_run())
    del document["nodes"][0]["warm_pull_seconds"]
    with pytest.raises(jsonschema.ValidationError, match="warm_pull_seconds"):
        validate(document)


# ----------------------------------------------------------------------- verdicts


@pytest.mark.parametrize(
    ("when", "outcome", "xfail", "verdict"),
    [
        ("call", "failed", False, "failed"),
        ("setup", "failed", False, "error"),
        ("teardown", "failed", False, "error"),
        ("setup", "skipped", False, "skipped"),
        ("call", "skipped", True, "xfailed"),
        ("call", "passed", True, "xpassed"),
        ("call", "passed", False, "passed"),
    ],
)
def test_phase_verdict_follows_pytest_outcomes(when, outcome, xfail, verdict):
    assert phase_verdict(when, outcome, xfail) == verdict


def test_check_that_passed_but_failed_teardown_is_an_error():
    run = RunRecord()
    run.add_phase("t.py::test_a", "call", "passed")
    run.add_phase("t.py::test_a", "teardown", "failed", message="teardown broke")
    assert run.checks["t.py::test_a"].verdict == "error"
    assert summary_of(run, exit_code=1)["failed_checks"] == ["t.py::test_a"]


@pytest.mark.parametrize(("code", "verdict"), sorted(EXIT_VERDICTS.items()))
def test_exit_code_gives_the_run_verdict(code, verdict):
    assert summary_of(RunRecord(), exit_code=code)["verdict"] == verdict


def test_failing_check_is_named_with_its_message_and_in_its_node_row():
    run = healthy_run()
    failed(
        run,
        f"{DAEMON}[node-2]",
        "node-2: dockerd refused daemon.json: invalid character",
        ("node", "node-2"),
    )
    document = summary_of(run, exit_code=1)
    assert document["verdict"] == "failed"
    assert document["failed_checks"] == [f"{DAEMON}[node-2]"]
    check = next(c for c in document["checks"] if c["id"] == f"{DAEMON}[node-2]")
    assert check["message"].startswith("node-2: dockerd refused")
    rows = {n["name"]: n for n in document["nodes"]}
    assert rows["node-2"]["failed_checks"] == [f"{DAEMON}[node-2]"]
    assert rows["node-1"]["failed_checks"] == []


# -------------------------------------------------------------------------- nodes


def test_node_rows_merge_the_target_node_status_and_node_figures():
    run = RunRecord(target={"mirror_url": MIRROR})
    run.add_target({"nodes": ["node-1", "node-2"]})
    passed(
        run,
        "s.py::test_status",
        ("node_status", {"name": "node-1", "engine_version": "25.0.3"}),
    )
    passed(run, "s.py::test_warm[node-2]", ("node", "node-2"), ("warm_pull_seconds", 0.4))
    rows = {n["name"]: n for n in node_rows(run.target, run.checks.values())}
    assert rows["node-1"]["engine_version"] == "25.0.3"
    assert rows["node-2"]["warm_pull_seconds"] == 0.4
    assert list(rows) == ["node-1", "node-2"]


def test_per_node_dict_figures_reach_each_named_node():
    run = RunRecord()
    passed(run, "s.py::test_cluster", ("warm_pull_seconds", {"node-2": 0.3, "node-3": 0.5}))
    rows = {n["name"]: n for n in node_rows({}, run.checks.values())}
    assert rows["node-2"]["warm_pull_seconds"] == 0.3
    assert rows["node-3"]["warm_pull_seconds"] == 0.5


def test_the_slowest_warm_pull_of_a_node_is_kept():
    run = RunRecord()
    passed(run, "s.py::test_a[node-1]", ("node", "node-1"), ("warm_pull_seconds", 0.2))
    passed(run, "s.py::test_b[node-1]", ("node", "node-1"), ("warm_pull_seconds", 0.9))
    passed(run, "s.py::test_c[node-1]", ("node", "node-1"), ("warm_pull_seconds", 0.4))
    assert node_rows({}, run.checks.values())[0]["warm_pull_seconds"] == 0.9


def test_a_check_without_a_node_figure_belongs_to_the_node_in_its_parameter_id():
    run = RunRecord(target={"nodes": ["node-1", "node-10"]})
    failed(run, "s.py::test_pull[node-10-cold]", "no pull")
    rows = {n["name"]: n for n in node_rows(run.target, run.checks.values())}
    assert rows["node-10"]["failed_checks"] == ["s.py::test_pull[node-10-cold]"]
    assert rows["node-1"]["failed_checks"] == []


@pytest.mark.parametrize(
    ("mirrors", "configured"),
    [([f"{MIRROR}/"], True), ([MIRROR], True), (["https://other.example/"], False), ([], False)],
)
def test_mirror_configured_is_read_from_the_effective_mirrors(mirrors, configured):
    run = RunRecord(target={"mirror_url": MIRROR})
    passed(run, "s.py::test_m[node-1]", ("node", "node-1"), ("effective_mirrors", mirrors))
    assert node_rows(run.target, run.checks.values())[0]["mirror_configured"] is configured


def test_mirror_configured_stays_unknown_when_nothing_was_measured():
    run = RunRecord(target={"mirror_url": MIRROR, "nodes": ["node-1"]})
    assert node_rows(run.target, [])[0]["mirror_configured"] is None


def test_a_node_whose_dockerd_did_not_start_has_its_daemon_json_refused():
    target = {"nodes": [{"name": "node-1", "startup_error": "invalid character '\"'"}]}
    row = node_rows(target, [])[0]
    assert row["daemon_json_verdict"] == "refused by dockerd"


def test_a_live_node_never_reached_is_not_said_to_be_refused_by_dockerd():
    error = "ssh://admin@node1: no answer from node1:22 within 5 s (host down or port filtered)"
    target = {"mode": "live", "nodes": [{"name": "ssh://admin@node1", "startup_error": error}]}
    row = node_rows(target, [])[0]
    assert row["daemon_json_verdict"] == (
        "not checked: the node could not be used (startup_error says why)"
    )


def test_only_a_check_that_passed_or_met_a_known_limitation_counts_as_checked():
    run = RunRecord()
    run.add_phase("s.py::test_a", "setup", "skipped")
    assert not run.checked_something()
    run.add_phase("s.py::test_b", "call", "skipped", xfail=True)
    assert run.checked_something()
    run = RunRecord()
    passed(run, "s.py::test_c")
    assert run.checked_something()


def test_target_nodes_merge_by_name_across_calls():
    run = RunRecord()
    run.add_target({"nodes": ["node-1", "node-2"]})
    run.add_target({"nodes": [{"name": "node-2", "engine_version": "20.10.24"}], "mode": "live"})
    assert run.target["nodes"] == [
        {"name": "node-1"},
        {"name": "node-2", "engine_version": "20.10.24"},
    ]
    assert run.target["mode"] == "live"


def test_every_node_field_has_a_rule_for_what_reaches_the_table():
    assert set(NODE_FIELDS) == set(NODE_FIELD_ACCEPTS)
    assert {f.name for f in WELL_KNOWN_FIGURES if f.place == "node"} >= set(NODE_FIELDS)


# ------------------------------------------------------------------ totals, pulls


def test_totals_sum_bytes_and_billable_requests_and_the_savings():
    totals = summary_of(healthy_run())["totals"]
    assert totals["upstream_bytes"] == 600 and totals["bytes_served_to_nodes"] == 1800
    assert totals["billable_with_mirror"] == 1 and totals["billable_without_mirror"] == 3
    assert totals["billable_saved"] == 2 and totals["billable_checks"] == [SERIAL]
    assert totals["bytes_saved"] == 1200


def test_with_and_without_mirror_count_only_checks_that_recorded_both_sides():
    run = healthy_run()
    passed(run, "s.py::test_warm[node-2]", ("node", "node-2"), ("billable_manifest_gets", 0))
    passed(run, "s.py::test_cold", ("billable_manifest_gets", 2))
    totals = summary_of(run)["totals"]
    assert totals["billable_manifest_gets"] == 3
    assert (totals["billable_with_mirror"], totals["billable_without_mirror"]) == (1, 3)
    assert totals["billable_saved"] == 2


def test_totals_are_null_when_no_check_measured_them():
    totals = summary_of(RunRecord())["totals"]
    assert totals["upstream_bytes"] is None and totals["billable_saved"] is None
    assert totals["whole_run"] is None


def test_the_lab_accounting_gives_the_whole_run_bill_with_and_without_the_mirror():
    run = healthy_run()
    run.add_target(
        {
            "accounting": {
                "billable_with_mirror": 4,
                "billable_without_mirror": 19,
                "upstream_bytes": 1000,
                "bytes_served_to_nodes": 5000,
                "source": "logs",
            }
        }
    )
    document = summary_of(run)
    validate(document)
    assert document["totals"]["whole_run"]["billable_saved"] == 15
    assert "accounting" not in document["target"]
    assert any(
        "whole run: 4 with the mirror, 19 without: 15 saved" in line
        for line, _ in terminal.summary_block(document)
    )


def test_upstream_requests_per_pull_give_each_node_its_pull_in_order():
    run = RunRecord()
    passed(run, SERIAL, ("upstream_requests_per_pull", {"node-1": 9, "node-2": 1, "node-3": 1}))
    series = summary_of(run)["pulls"]
    assert [p["upstream_requests"] for p in series[0]["pulls"]] == [9, 1, 1]
    assert [p["order"] for p in series[0]["pulls"]] == [1, 2, 3]
    assert [p["node"] for p in series[0]["pulls"]] == ["node-1", "node-2", "node-3"]


def test_blob_gets_per_pull_join_the_series_only_when_they_match_it():
    run = RunRecord()
    passed(
        run,
        SERIAL,
        ("upstream_requests_per_pull", {"node-1": 9, "node-2": 1}),
        ("upstream_blob_gets_per_pull", {"node-1": 6, "node-2": 0, "node-3": 0}),
    )
    pulls = summary_of(run)["pulls"][0]["pulls"]
    assert [p["upstream_blob_gets"] for p in pulls] == [None, None]


def test_single_fetch_reports_the_worst_blob_of_each_check():
    single = summary_of(healthy_run())["single_fetch"]
    assert single == [
        {
            "check": SERIAL,
            "verdict": "passed",
            "blobs": 2,
            "max_upstream_gets_per_blob": 2,
            "min_upstream_gets_per_blob": 1,
        }
    ]


def test_versions_list_each_node_engine_and_the_registry():
    versions = summary_of(healthy_run())["versions"]
    assert versions["engine"] == {f"node-{i}": "20.10.24" for i in (1, 2, 3)}
    assert versions["registry"] == "2.8.2+ds1"


def test_registry_version_comes_from_a_figure_when_the_target_has_none():
    run = RunRecord()
    passed(run, "s.py::test_v", ("registry_version", "3.0.0"))
    assert summary_of(run)["versions"]["registry"] == "3.0.0"


def test_target_name_says_host_and_mode():
    assert target_name({"fqdn": "mirror.test", "mode": "hermetic"}) == "mirror.test (hermetic lab)"
    assert target_name({"mirror_url": "https://m.example", "mode": "live"}) == (
        "https://m.example (live)"
    )


# --------------------------------------------------------------------------- html


def test_title_puts_the_verdict_first():
    assert html.title(summary_of(healthy_run(), exit_code=1)).startswith("FAILED: ")


def test_banner_names_each_failing_check_with_its_message():
    run = healthy_run()
    failed(run, f"{DAEMON}[node-2]", "node-2: daemon.json: missing comma", ("node", "node-2"))
    banner = html.verdict_banner(summary_of(run, exit_code=1))
    assert "mc-verdict-failed" in banner
    assert f"{DAEMON}[node-2]" in banner and "missing comma" in banner


def test_node_table_has_a_row_per_node_and_marks_the_failing_one():
    run = healthy_run()
    failed(run, f"{DAEMON}[node-3]", "broken", ("node", "node-3"))
    table = html.node_table(summary_of(run, exit_code=1))
    rows = re.findall(r"<tr( class=\"mc-bad\")?><td>(node-\d)</td>", table)
    assert [(bool(bad), name) for bad, name in rows] == [
        (False, "node-1"),
        (False, "node-2"),
        (True, "node-3"),
    ]


def test_chart_draws_a_bar_per_pull_with_the_first_pull_marked():
    document = summary_of(healthy_run())
    svg = html.pull_chart(document["pulls"][0])
    assert svg.count('class="mc-bar mc-bar-first"') == 1
    assert svg.count('class="mc-bar') - svg.count('class="mc-bar-blobs"') == 3
    assert svg.count('class="mc-bar-blobs"') == 3
    assert svg.startswith('<svg class="mc-chart"') and svg.endswith("</svg>")


def test_without_per_pull_figures_the_chart_says_which_figure_draws_it():
    assert "upstream_requests_per_pull" in html.charts(summary_of(RunRecord()))


def test_values_from_checks_are_escaped():
    run = RunRecord(target={"nodes": ["<script>alert(1)</script>"]})
    failed(run, "s.py::test_x", "<img src=x onerror=alert(1)>")
    page = "".join(html.summary_fragments(summary_of(run, exit_code=1)))
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page


def test_fragments_load_nothing_from_outside_the_file():
    page = "".join(html.summary_fragments(summary_of(healthy_run())))
    assert not re.search(r"\b(src|href)\s*=|url\(|@import", page)


def test_figures_cell_shows_json_and_hides_the_automatic_ones():
    cell = html.figures_cell(
        {"node": "node-1", "effective_mirrors": ["https://m/"]}, hidden=frozenset({"node"})
    )
    assert "effective_mirrors = [&quot;https://m/&quot;]" in cell and "node =" not in cell


# ----------------------------------------------------------------------- terminal


def test_terminal_block_gives_verdict_single_fetch_and_billable_savings():
    run = healthy_run()
    failed(run, f"{DAEMON}[node-2]", "broken", ("node", "node-2"))
    lines = [line for line, _ in terminal.summary_block(summary_of(run, exit_code=1))]
    assert lines[0].startswith("mirrorcheck FAILED: mirror.test (hermetic lab) (exit code 1")
    assert f"  failed: {DAEMON}[node-2]" in lines
    assert any("upstream requests per pull: node-1 9; node-2 1; node-3 1" in line for line in lines)
    assert any("at most 2 (2 blobs)" in line for line in lines)
    assert any("1 with the mirror, 3 without: 2 saved" in line for line in lines)


def test_terminal_block_without_a_comparison_gives_the_upstream_count_only():
    run = RunRecord()
    passed(run, "s.py::test_cold", ("billable_manifest_gets", 2))
    lines = [line for line, _ in terminal.summary_block(summary_of(run))]
    assert any("billable requests sent upstream: 2 (saved: not measured" in line for line in lines)


def test_terminal_block_says_what_was_not_measured():
    lines = [line for line, _ in terminal.summary_block(summary_of(RunRecord(), exit_code=5))]
    assert lines[0].startswith("mirrorcheck NOTHING CHECKED")
    assert lines[1].startswith("  nothing was checked: no check passed")
    assert "  single fetch: not measured in this run" in lines
    assert "  Docker Hub billable requests: not measured in this run" in lines


def test_a_usage_errors_summary_validates_and_the_terminal_names_each_problem():
    document = usage_error_summary(
        ["--max-pulls -1: must be 0 or more. Fix: x"],
        generated_at="2026-01-01T00:00:00Z",
        summary_path="/r/summary.json",
    )
    validate(document)
    assert (document["verdict"], document["exit_code"]) == ("usage_error", 4)
    lines = [line for line, _ in terminal.summary_block(document)]
    assert "  --max-pulls -1: must be 0 or more. Fix: x" in lines


# ------------------------------------------------------------------------- causes

HTTP_FILE_FINDING = (
    "/tmp/daemon.json:3:5: error [daemon-json/mirror-missing] the expected mirror "
    "'https://mirror.test/' is not in registry-mirrors (found 'http://mirror.test')"
)


def run_with_one_cause_behind_three_failures() -> RunRecord:
    run = healthy_run()
    failed(run, "suites/test_daemon_json.py::test_daemon_json_passes_the_reader", HTTP_FILE_FINDING)
    node_copy = HTTP_FILE_FINDING.replace("/tmp/daemon.json", "node-2:/etc/docker/daemon.json")
    stopped = f"node-2 is not known to use the mirror: not listed; its daemon.json:\n{node_copy}"
    for name in ("test_node_pull_goes_through_the_mirror", "test_pull_by_digest"):
        check = f"suites/test_bypass.py::{name}[node-2]"
        run.add_phase(check, "setup", "failed", message=known_cause_message_of(stopped))
        run.add_phase(check, "teardown", "passed", properties=[("node", "node-2")])
    return run


def known_cause_message_of(stopped: str) -> str:
    return f"{stopped}\n{causes.KNOWN_CAUSE_MARK}"


def test_summary_says_each_cause_once_with_where_and_the_checks_it_failed():
    document = summary_of(run_with_one_cause_behind_three_failures(), exit_code=1)
    jsonschema.validate(document, load_schema(), cls=jsonschema.Draft202012Validator)
    (cause,) = document["causes"]
    assert cause["cause"].startswith("[daemon-json/mirror-missing]")
    assert cause["where"] == ["/tmp/daemon.json:3:5", "node-2:/etc/docker/daemon.json:3:5"]
    assert len(cause["checks"]) == 3 and set(cause["checks"]) == set(document["failed_checks"])


def test_a_passing_run_has_no_causes():
    assert summary_of(healthy_run(), exit_code=0)["causes"] == []


def test_terminal_says_how_many_causes_before_the_failed_checks():
    document = summary_of(run_with_one_cause_behind_three_failures(), exit_code=1)
    lines = [line for line, _ in terminal.summary_block(document)]
    assert lines[1] == "  1 cause:"
    assert lines[2].startswith("  1. [daemon-json/mirror-missing]")
    assert lines[3] == "     at /tmp/daemon.json:3:5, node-2:/etc/docker/daemon.json:3:5"
    assert lines[4].startswith("     failed 3: test_daemon_json_passes_the_reader, ")
    assert lines[5].startswith("  failed: ")


def test_html_shows_the_causes_above_the_failed_checks():
    banner = html.verdict_banner(summary_of(run_with_one_cause_behind_three_failures(), 1))
    assert banner.index('id="mc-causes"') < banner.index('id="mc-failed-checks"')
    assert ">1 cause</h2>" in banner and "node-2:/etc/docker/daemon.json:3:5" in banner

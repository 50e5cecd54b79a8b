"""Negative controls for the fetch, cache, outage and bypass suites.

Each broken deployment must make the right check fail, with a message that
names the cause; the reference deployment must pass them all, on the default
topology (the swarm). The suites run in a child pytest exactly as a user runs
them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorcheck.options import EXAMPLES
from tests.suite_runner import SuiteRun, run_suites

pytestmark = [pytest.mark.docker]

REFERENCE_CONFIG = (EXAMPLES / "registry-config.yml").read_text()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_reference_deployment_passes_every_suite(engine, tmp_path):
    # The README's command as it is (the swarm topology is the default; the runner pins
    # controls to the plain one unless told).
    run = run_suites("suites/", "--topology", "swarm", tmp_path=tmp_path)
    assert run.exit_code == 0, run.output[-4000:]
    assert not run.failed()
    target = str(run.summary().get("target") or {})
    assert "'topology': 'swarm'" in target and "host mode" in target, target[:2000]
    # The known limitations of distribution 2.8 show as expected failures, named.
    assert "double-blob-fetch" in run.message("test_cold_pull_fetches_each_blob_within_the_bound")
    run.expect("test_nodes_pulling_one_after_another_fetch_blobs_only_for_the_first", "passed")


def test_mirror_config_without_proxy_section_fails_lint_pull_and_bypass(engine, tmp_path):
    config = write(tmp_path, "no-proxy.yml", REFERENCE_CONFIG.split("proxy:")[0])
    run = run_suites(
        "suites/test_registry_config.py",
        "suites/test_smoke.py",
        "suites/test_bypass.py",
        "--registry-config",
        config,
        "--nodes",
        "1",
        tmp_path=tmp_path,
    )
    assert run.exit_code == 1
    run.expect("test_registry_config_passes_the_lint", "failed")
    assert "proxy" in run.message("test_registry_config_passes_the_lint")
    run.expect("test_node_pulls_a_test_image_by_tag_through_the_mirror", "failed")
    run.expect("test_node_pull_goes_through_the_mirror", "failed")
    assert "did not serve" in run.message("test_node_pull_goes_through_the_mirror")


def lint_and_smoke_with_config(tmp_path: Path, config_text: str) -> SuiteRun:
    """The registry config lint and the smoke pull, one node, on ``config_text`` as the config."""
    return run_suites(
        "suites/test_registry_config.py",
        "suites/test_smoke.py",
        "--registry-config",
        write(tmp_path, "config.yml", config_text),
        "--nodes",
        "1",
        tmp_path=tmp_path,
    )


def test_camel_case_remote_url_is_caught_by_the_lint_and_the_pulls(engine, tmp_path):
    run = lint_and_smoke_with_config(tmp_path, REFERENCE_CONFIG.replace("remoteurl", "remoteUrl"))
    run.expect("test_registry_config_passes_the_lint", "failed")
    assert "remoteUrl" in run.message("test_registry_config_passes_the_lint")
    run.expect("test_node_pulls_a_test_image_by_tag_through_the_mirror", "failed")


def test_mistyped_remote_url_is_caught_by_the_lint_and_the_pulls(engine, tmp_path):
    typo = REFERENCE_CONFIG.replace("registry-1.docker.io", "registry-1.docker.com")
    run = lint_and_smoke_with_config(tmp_path, typo)
    assert run.exit_code == 1
    run.expect("test_registry_config_passes_the_lint", "failed")
    assert "registry-1.docker.com" in run.message("test_registry_config_passes_the_lint")
    # The lab runs the file as written: the mirror cannot reach its upstream (distribution
    # 2.8 panics at start), so no pull goes through it; the lab's start fails the check.
    smoke = "test_node_pulls_a_test_image_by_tag_through_the_mirror"
    assert run.outcome(smoke) in ("failed", "error"), run.output[-3000:]
    message = run.message(smoke)
    assert "the mirror did not start" in message and "registry-1.docker.com" in message


def test_mirror_storage_not_on_a_volume_loses_the_cache_on_restart(engine, tmp_path):
    stack = (EXAMPLES / "registry-stack.yml").read_text()
    without_data = "\n".join(
        line for line in stack.splitlines() if "registry-mirror-data" not in line
    )
    run = run_suites(
        "suites/test_outages.py",
        "suites/test_registry_config.py",
        "-k",
        "restarted_mirror_keeps_its_cache or stack_file",
        "--stack-file",
        write(tmp_path, "stack.yml", without_data + "\n"),
        "--nodes",
        "1",
        tmp_path=tmp_path,
    )
    run.expect("test_restarted_mirror_keeps_its_cache", "failed")
    assert "storage did not survive" in run.message("test_restarted_mirror_keeps_its_cache")
    run.expect("test_stack_file_passes_the_lint", "failed")


def test_node_without_the_mirror_fails_bypass_detection(engine, tmp_path):
    daemon_json = write(tmp_path, "daemon.json", '{\n    "log-driver": "journald"\n}\n')
    run = run_suites(
        "suites/test_bypass.py",
        "suites/test_smoke.py",
        "-k",
        "bypass or goes_through or lists",
        "--daemon-json",
        daemon_json,
        "--mirror-fqdn",
        "mirror.test",
        "--nodes",
        "2",
        tmp_path=tmp_path,
    )
    assert run.exit_code == 1
    for outcome in run.find("test_node_pull_goes_through_the_mirror"):
        # Stopped by the known cause (the daemon lists no mirror) or by the check itself.
        assert outcome.outcome in ("failed", "error"), outcome
        assert (
            "never reached the mirror" in outcome.message
            or "is not known to use the mirror" in outcome.message
        ), outcome.message
    run.expect("test_node_daemon_lists_the_mirror", "failed")


def test_node_that_refuses_the_mirror_falls_back_and_the_accounting_names_it(engine, tmp_path):
    run = run_suites(
        "suites/test_bypass.py",
        "-k",
        "test_node_pull_goes_through_the_mirror",
        "--lab-fault",
        "node-without-ca",
        "--nodes",
        "2",
        tmp_path=tmp_path,
    )
    assert run.exit_code == 1, run.output[-3000:]
    run.expect("test_node_pull_goes_through_the_mirror[node-1]", "passed")
    run.expect("test_node_pull_goes_through_the_mirror[node-2]", "failed")
    message = run.message("test_node_pull_goes_through_the_mirror[node-2]")
    # The pull succeeded from Docker Hub's stand-in: only the accounting shows the bypass.
    assert "never reached the mirror" in message and "pull succeeded" in message, message
    assert "asked Docker Hub itself for" in message and "GET blob" in message, message


def test_strict_modes_turn_known_limitations_into_failures(engine, tmp_path):
    run = run_suites(
        "suites/test_single_fetch.py",
        "-k",
        "cold_pull or concurrent",
        "--strict-single-fetch",
        "--strict-limitations",
        "--nodes",
        "2",
        tmp_path=tmp_path,
    )
    run.expect("test_cold_pull_fetches_each_blob_within_the_bound", "failed")
    assert "Strict mode" in run.message("test_cold_pull_fetches_each_blob_within_the_bound")
    run.expect("test_concurrent_cold_pulls_stay_within_what_the_mirror_guarantees", "failed")
    assert "in-flight requests are not shared" in run.message(
        "test_concurrent_cold_pulls_stay_within_what_the_mirror_guarantees"
    )


def test_an_explicit_fetch_bound_of_one_fails_distribution_2_8(engine, tmp_path):
    run = run_suites(
        "suites/test_single_fetch.py",
        "-k",
        "cold_pull",
        "--max-fetches-per-blob",
        "1",
        "--nodes",
        "1",
        tmp_path=tmp_path,
    )
    run.expect("test_cold_pull_fetches_each_blob_within_the_bound", "failed")
    assert "fetched a blob 2 times" in run.message(
        "test_cold_pull_fetches_each_blob_within_the_bound"
    )

"""Negative controls for the fetch, cache, outage and bypass suites.

Each broken deployment must make the right check fail, with a message that
names the cause; the reference deployment must pass them all, on the default
topology (the swarm). The suites run in a child pytest exactly as a user runs
them.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from mirrorcheck.options import EXAMPLES
from mirrorcheck.report.causes import KNOWN_CAUSE_MARK
from tests.suite_runner import SuiteRun, run_suites, suites_together

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
    run.expect("test_nodes_pulling_after_the_first_fetch_no_blob_upstream", "passed")


# The one-node and two-node controls below: each child run's arguments, by control. They
# start together (own run ids, so that none sweeps another's lab); each test waits for its own.
def _control_args(tmp: Path) -> dict[str, list[str]]:
    stack = (EXAMPLES / "registry-stack.yml").read_text()
    without_data = "\n".join(
        line for line in stack.splitlines() if "registry-mirror-data" not in line
    )
    lint_and_smoke = ["suites/test_registry_config.py", "suites/test_smoke.py", "--nodes", "1"]
    return {
        "mistyped": [
            *lint_and_smoke, "--registry-config",
            write(tmp, "typo.yml", REFERENCE_CONFIG.replace("docker.io", "docker.com")),
        ],
        "storage-not-on-a-volume": [
            "suites/test_outages.py", "suites/test_registry_config.py",
            "-k", "restarted_mirror_keeps_its_cache or stack_file",
            "--stack-file", write(tmp, "stack.yml", without_data + "\n"),
            "--nodes", "1",
        ],
        "node-without-mirror": [
            "suites/test_bypass.py", "suites/test_smoke.py",
            "-k", "bypass or goes_through or lists",
            "--daemon-json", write(tmp, "daemon.json", '{\n    "log-driver": "journald"\n}\n'),
            "--mirror-fqdn", "mirror.test",
            "--nodes", "2",
        ],
        "node-refuses-mirror": [
            "suites/test_bypass.py", "suites/test_cache_hits.py",
            "-k", "test_node_pull_goes_through_the_mirror or probe_image or warm_pull "
            "or pull_by_digest",
            "--lab-fault", "node-without-ca",
            "--nodes", "2",
        ],
        "strict": [
            "suites/test_single_fetch.py", "-k", "cold_pull or concurrent",
            "--strict-single-fetch", "--strict-limitations",
            "--nodes", "2",
        ],
        "fetch-bound-one": [
            "suites/test_single_fetch.py", "-k", "cold_pull",
            "--max-fetches-per-blob", "1",
            "--nodes", "1",
        ],
    }  # fmt: skip


@pytest.fixture(scope="module")
def runs(engine, tmp_path_factory) -> Iterator[dict[str, Future[SuiteRun]]]:
    """Every control's child run below, three at a time."""
    tmp = tmp_path_factory.mktemp("suite-controls")
    with suites_together(_control_args(tmp), tmp) as started:
        yield started


def test_mistyped_remote_url_is_caught_by_the_lint_and_the_pulls(runs):
    run = runs["mistyped"].result()
    assert run.exit_code == 1
    run.expect("test_registry_config_passes_the_lint", "failed")
    assert "registry-1.docker.com" in run.message("test_registry_config_passes_the_lint")
    # The lab runs the file as written: the mirror cannot reach its upstream (distribution
    # 2.8 panics at start), so no pull goes through it; the lab's start fails the check.
    smoke = "test_node_pulls_a_test_image_by_tag_through_the_mirror"
    assert run.outcome(smoke) in ("failed", "error"), run.output[-3000:]
    message = run.message(smoke)
    assert "the mirror did not start" in message and "registry-1.docker.com" in message


def test_mirror_storage_not_on_a_volume_loses_the_cache_on_restart(runs):
    run = runs["storage-not-on-a-volume"].result()
    run.expect("test_restarted_mirror_keeps_its_cache", "failed")
    assert "storage did not survive" in run.message("test_restarted_mirror_keeps_its_cache")
    run.expect("test_stack_file_passes_the_lint", "failed")


def test_node_without_the_mirror_fails_bypass_detection(runs):
    run = runs["node-without-mirror"].result()
    assert run.exit_code == 1
    for outcome in run.find("test_node_pull_goes_through_the_mirror"):
        # Stopped by the known cause (the daemon lists no mirror) or by the check itself.
        assert outcome.outcome in ("failed", "error"), outcome
        assert (
            "never reached the mirror" in outcome.message
            or "is not known to use the mirror" in outcome.message
        ), outcome.message
    run.expect("test_node_daemon_lists_the_mirror", "failed")


def test_node_that_refuses_the_mirror_falls_back_and_the_accounting_names_it(runs):
    run = runs["node-refuses-mirror"].result()
    assert run.exit_code == 1, run.output[-3000:]
    run.expect("test_node_pull_goes_through_the_mirror[node-1]", "passed")
    run.expect("test_node_pull_goes_through_the_mirror[node-2]", "failed")
    message = run.message("test_node_pull_goes_through_the_mirror[node-2]")
    # The pull succeeded from Docker Hub's stand-in: only the accounting shows the bypass.
    assert "never reached the mirror" in message and "pull succeeded" in message, message
    assert "asked Docker Hub itself for" in message and "GET blob" in message, message
    # Its probe pull, made at once with the other nodes' after node-1's, is judged by the
    # proxy's access log, by its address: it shows no manifest served to it.
    probe = "test_node_pull_of_the_probe_image_goes_through_the_mirror"
    run.expect(f"{probe}[node-1]", "passed")
    run.expect(f"{probe}[node-2]", "failed")
    bypassed = run.message(f"{probe}[node-2]")
    assert "did not go through" in bypassed and "shows no manifest" in bypassed, bypassed
    # Its cache checks stop at once on that cause; node-1's pass.
    for check in (
        "test_warm_pull_by_tag_fetches_nothing_upstream_but_a_tag_head",
        "test_pull_by_digest_asks_upstream_nothing",
    ):
        run.expect(f"{check}[node-1]", "passed")
        run.expect(f"{check}[node-2]", "failed")
        stopped = run.message(f"{check}[node-2]")
        assert KNOWN_CAUSE_MARK in stopped and "first pull of" in stopped, stopped


def test_strict_modes_turn_known_limitations_into_failures(runs):
    run = runs["strict"].result()
    run.expect("test_cold_pull_fetches_each_blob_within_the_bound", "failed")
    assert "Strict mode" in run.message("test_cold_pull_fetches_each_blob_within_the_bound")
    run.expect("test_concurrent_cold_pulls_stay_within_what_the_mirror_guarantees", "failed")
    assert "in-flight requests are not shared" in run.message(
        "test_concurrent_cold_pulls_stay_within_what_the_mirror_guarantees"
    )


def test_an_explicit_fetch_bound_of_one_fails_distribution_2_8(runs):
    run = runs["fetch-bound-one"].result()
    run.expect("test_cold_pull_fetches_each_blob_within_the_bound", "failed")
    assert "fetched a blob 2 times" in run.message(
        "test_cold_pull_fetches_each_blob_within_the_bound"
    )

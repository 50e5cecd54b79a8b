"""A node whose daemon does not list the mirror: its checks stop at once, the verdict says why once.

One lab run (one node) on a daemon.json whose mirror is plain ``http://``:
dockerd runs it, so the node lists ``http://mirror.test/`` where the lab
serves ``https://mirror.test``. The reader's checks and the check that the
running daemon lists the mirror fail on their own evidence; the checks that
pull through the mirror stop before their first pull, naming the node's
cause; summary.json and the terminal give one cause for all of them.

A second run (one node) on a daemon.json whose second ``registry-mirrors``
key hides the first: dockerd keeps the last value, a mirror whose name does
not resolve on the lab's network, where every lookup waits out the
resolver. The checks that would pull through it (the smoke pull, what the
mirror kept, the node without the CA) stop at once, under one cause naming
the duplicate key. How long the run took is recorded (``run_seconds``), not
judged: timing belongs to ``bench/bench.py``.

Three runs together (one node each) on registry configs: without the proxy
section, with ``remoteUrl`` (distribution reads only ``remoteurl``), and the
reference one. On the broken two the registry is a plain registry: the lab
asks it once for an image Docker Hub holds, it answers 404, and every check
that pulls through it stops at once under ONE cause, the lint's finding on
``proxy.remoteurl`` (the lint check itself under it too); the TLS checks and
the node's own reading keep judging on their own evidence. The reference run
has no such cause and its pulls are not stopped.
"""

from __future__ import annotations

import time

import pytest

from mirrorcheck.options import EXAMPLES
from mirrorcheck.report.causes import KNOWN_CAUSE_MARK
from tests.suite_runner import SuiteRun, run_suites, suites_together

pytestmark = [pytest.mark.docker]

HTTP_MIRROR = """{
    "log-driver": "journald",
    "registry-mirrors": ["http://mirror.test"]
}
"""
SUITES = (
    "suites/test_daemon_json.py",
    "suites/test_smoke.py",
    "suites/test_bypass.py",
    "suites/test_cache_hits.py",
)
OWN_EVIDENCE = (
    "suites/test_daemon_json.py::test_daemon_json_passes_the_reader",
    "suites/test_daemon_json.py::test_node_daemon_json_passes_the_reader[node-1]",
    "suites/test_smoke.py::test_node_daemon_lists_the_mirror[node-1]",
)
STOPPED = (
    "suites/test_bypass.py::test_node_pull_goes_through_the_mirror[node-1]",
    "suites/test_cache_hits.py::test_pull_by_digest_asks_upstream_nothing[node-1]",
)


@pytest.fixture(scope="module")
def http_mirror_run(engine, settings, tmp_path_factory) -> SuiteRun:
    work = tmp_path_factory.mktemp("http-mirror")
    daemon_json = work / "daemon.json"
    daemon_json.write_text(HTTP_MIRROR, encoding="utf-8")
    return run_suites(
        *SUITES,
        "--daemon-json",
        str(daemon_json),
        "--nodes",
        "1",
        tmp_path=work,
        report_dir=settings.report_dir / "controls" / "fail-fast-http-mirror",
    )


def test_one_cause_names_the_http_mirror_with_every_check_it_failed(http_mirror_run):
    summary = http_mirror_run.summary()
    assert summary["exit_code"] == 1, http_mirror_run.output[-3000:]
    naming = [c for c in summary["causes"] if "http://mirror.test" in c["cause"]]
    assert len(naming) == 1, summary["causes"]
    (cause,) = naming
    for check in (*OWN_EVIDENCE, *STOPPED):
        assert check in summary["failed_checks"], f"{check} did not fail"
        assert check in cause["checks"], f"{check} is not under {cause}"
    assert any(w.endswith("daemon.json:3:5") for w in cause["where"]), cause["where"]


def test_checks_that_pull_stop_before_pulling_and_name_the_node_and_its_file(http_mirror_run):
    messages = {c["id"]: c["message"] for c in http_mirror_run.summary()["checks"]}
    for check in STOPPED:
        assert KNOWN_CAUSE_MARK in messages[check], messages[check]
        assert "node-1 is not known to use the mirror" in messages[check]
        assert "node-1:/etc/docker/daemon.json:3:5" in messages[check]
    for check in OWN_EVIDENCE:
        assert KNOWN_CAUSE_MARK not in messages[check], messages[check]


def test_terminal_says_the_causes_before_the_failed_checks(http_mirror_run):
    lines = http_mirror_run.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("mirrorcheck FAILED"))
    assert lines[start + 1].endswith(" causes:") or lines[start + 1] == "  1 cause:"
    first_failed = next(i for i, line in enumerate(lines) if line.startswith("  failed: "))
    assert first_failed > start + 1


DUPLICATE_KEY = """{
    "registry-mirrors": ["https://mirror.test"],
    "log-driver": "journald",
    "registry-mirrors": ["https://mirror.example.org"]
}
"""
DUPLICATE_SUITES = (
    "suites/test_daemon_json.py",
    "suites/test_smoke.py",
    "suites/test_single_fetch_kept.py",
    "suites/test_tls_nodes_verify.py",
)
WOULD_WAIT = (
    "suites/test_smoke.py::test_node_pulls_a_test_image_by_tag_through_the_mirror",
    "suites/test_single_fetch_kept.py::"
    "test_mirror_catalog_lists_the_probe_image_after_its_first_pull",
    "suites/test_single_fetch_kept.py::"
    "test_mirror_storage_holds_every_blob_of_the_probe_image_after_its_first_pull",
    "suites/test_tls_nodes_verify.py::test_node_without_the_ca_does_not_use_the_mirror",
)


@pytest.fixture(scope="module")
def duplicate_key_run(engine, settings, tmp_path_factory) -> tuple[SuiteRun, float]:
    work = tmp_path_factory.mktemp("duplicate-key")
    daemon_json = work / "daemon.json"
    daemon_json.write_text(DUPLICATE_KEY, encoding="utf-8")
    started = time.monotonic()
    run = run_suites(
        *DUPLICATE_SUITES,
        "--daemon-json",
        str(daemon_json),
        "--mirror-fqdn",
        "mirror.test",
        "--nodes",
        "1",
        tmp_path=work,
        report_dir=settings.report_dir / "controls" / "fail-fast-duplicate-key",
    )
    return run, round(time.monotonic() - started, 1)


def test_a_hidden_mirror_stops_the_checks_that_would_wait_on_it(duplicate_key_run, record_property):
    run, seconds = duplicate_key_run
    record_property("run_seconds", seconds)
    summary = run.summary()
    assert summary["exit_code"] == 1, run.output[-3000:]
    messages = {c["id"]: c["message"] for c in summary["checks"]}
    for check in WOULD_WAIT:
        assert check in summary["failed_checks"], f"{check} did not fail:\n{run.output[-3000:]}"
        assert KNOWN_CAUSE_MARK in messages[check], messages[check]
        assert "node-1 is not known to use the mirror" in messages[check], messages[check]
    naming = [c for c in summary["causes"] if "daemon-json/duplicate-key" in c["cause"]]
    assert len(naming) == 1, summary["causes"]
    for check in WOULD_WAIT:
        assert check in naming[0]["checks"], f"{check} is not under {naming[0]}"


REFERENCE_CONFIG = (EXAMPLES / "registry-config.yml").read_text(encoding="utf-8")
CONFIGS = {
    "no-proxy": REFERENCE_CONFIG.split("proxy:")[0],
    "camel-case": REFERENCE_CONFIG.replace("remoteurl", "remoteUrl"),
    "reference": REFERENCE_CONFIG,
}
# The finding each broken config's one cause is, where (camel-case: the key's line), and
# what the lint check's own message names.
NAMED = {
    "no-proxy": ("[registry-config/proxy-missing]", "registry-config.yml", "proxy"),
    "camel-case": (
        "[registry-config/proxy-remoteurl-case]",
        "registry-config.yml:22:3",
        "remoteUrl",
    ),
}
NOT_A_CACHE_SUITES = (
    "suites/test_registry_config.py",
    "suites/test_smoke.py",
    "suites/test_bypass.py",
    "suites/test_cache_hits.py",
    "suites/test_mirror_counters.py",
    "suites/test_tls_certificate.py",
)
SERVED_THROUGH_THE_MIRROR = (
    "suites/test_smoke.py::test_node_pulls_a_test_image_by_tag_through_the_mirror",
    "suites/test_bypass.py::test_node_pull_goes_through_the_mirror[node-1]",
    "suites/test_bypass.py::test_node_pull_of_the_probe_image_goes_through_the_mirror[node-1]",
    "suites/test_cache_hits.py::test_pull_by_digest_asks_upstream_nothing[node-1]",
    "suites/test_cache_hits.py::test_pull_after_the_first_fetches_no_manifest_upstream[node-1]",
    "suites/test_mirror_counters.py::test_manifest_counters_agree_with_upstream",
)
LINT_CHECK = "suites/test_registry_config.py::test_registry_config_passes_the_lint"
ON_THEIR_OWN = (
    "suites/test_smoke.py::test_node_daemon_lists_the_mirror[node-1]",
    "suites/test_tls_certificate.py::test_proxy_certificate_is_issued_for_the_mirror_name",
    "suites/test_tls_certificate.py::test_proxy_certificate_chains_to_the_ca_the_nodes_trust",
    "suites/test_registry_config.py::test_stack_file_passes_the_lint",
)


@pytest.fixture(scope="module")
def config_runs(engine, tmp_path_factory) -> dict[str, tuple[SuiteRun, float]]:
    """Each registry config's run (``CONFIGS``), started together, and its wall seconds."""
    work = tmp_path_factory.mktemp("not-a-cache")
    args = {}
    for name, text in CONFIGS.items():
        config = work / name / "registry-config.yml"
        config.parent.mkdir()
        config.write_text(text, encoding="utf-8")
        args[name] = [*NOT_A_CACHE_SUITES, "--registry-config", str(config), "--nodes", "1"]
    started = time.monotonic()
    with suites_together(args, work) as running:
        return {
            name: (run.result(), round(time.monotonic() - started, 1))
            for name, run in running.items()
        }


@pytest.mark.parametrize("config", sorted(NAMED))
def test_a_mirror_that_is_not_a_cache_is_one_cause_with_every_check_it_stopped(
    config_runs, config, record_property
):
    run, seconds = config_runs[config]
    record_property("run_seconds", seconds)
    summary = run.summary()
    assert summary["exit_code"] == 1, run.output[-3000:]
    finding, where, named = NAMED[config]
    assert len(summary["causes"]) == 1, summary["causes"]
    (cause,) = summary["causes"]
    assert cause["cause"].startswith(finding), cause
    assert any(w.endswith(where) for w in cause["where"]), cause["where"]
    messages = {c["id"]: c["message"] for c in summary["checks"]}
    for check in (*SERVED_THROUGH_THE_MIRROR, LINT_CHECK):
        assert check in summary["failed_checks"], f"{check} did not fail:\n{run.output[-3000:]}"
        assert check in cause["checks"], f"{check} is not under {cause}"
    assert named in messages[LINT_CHECK], messages[LINT_CHECK]
    for check in SERVED_THROUGH_THE_MIRROR:
        assert KNOWN_CAUSE_MARK in messages[check], messages[check]
        assert "the mirror cannot serve the nodes: it did not serve" in messages[check]
        assert "not a pull-through cache" in messages[check], messages[check]
        assert "answered HTTP 404 MANIFEST_UNKNOWN" in messages[check], messages[check]
    verdicts = {c["id"]: c["verdict"] for c in summary["checks"]}
    for check in ON_THEIR_OWN:
        assert verdicts.get(check) == "passed", f"{check}: {messages.get(check)}"


def test_the_reference_config_has_no_such_cause_and_its_pulls_run(config_runs, record_property):
    run, seconds = config_runs["reference"]
    record_property("run_seconds", seconds)
    summary = run.summary()
    assert not [c for c in summary["causes"] if "not a pull-through cache" in c["cause"]], summary[
        "causes"
    ]
    messages = {c["id"]: c["message"] for c in summary["checks"]}
    for check in SERVED_THROUGH_THE_MIRROR:
        assert check in messages, f"{check} did not run:\n{run.output[-3000:]}"
        assert check not in summary["failed_checks"], messages[check]
        assert KNOWN_CAUSE_MARK not in (messages[check] or ""), messages[check]

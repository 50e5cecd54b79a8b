"""Negative controls for the TLS suite: each broken deployment fails the right check, by name.

Every control runs the TLS suites (``suites/test_tls_*.py``) in a child pytest against a
lab with one node, as a user would, and reads the junit outcomes. Four child
runs, started together (each builds its own lab, about 15-20 s):

- healthy: the reference files pass the whole suite, and a stack that publishes
  the registry's plain port as the guide's does (on the plain topology, which
  runs no routing mesh) has it reported as a warning naming file, line and address;
- other host name + plain-HTTP proxy: two independent faults, each failing
  its own check while the certificate's chain, dates and key still pass;
- expired certificate + the mirror under ``insecure-registries``: the expiry
  fails the validity check, the insecure listing fails the node checks, and
  the nodes still pull through the mirror: insecure-registries hides a broken
  certificate, which is exactly why it must fail;
- certificate from a CA the nodes do not trust: the chain check fails, and so
  does a node's pull, naming the unknown authority.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from mirrorcheck.options import EXAMPLES
from tests.suite_runner import SuiteRun, suites_together

pytestmark = [pytest.mark.docker]

SUITES = (
    "suites/test_tls_certificate.py",
    "suites/test_tls_versions.py",
    "suites/test_tls_registry_through_proxy.py",
    "suites/test_tls_no_plaintext.py",
    "suites/test_tls_nodes_verify.py",
    "suites/test_tls_read_only.py",
)
FQDN = "mirror.test"

NAME = "test_proxy_certificate_is_issued_for_the_mirror_name"
CHAIN = "test_proxy_certificate_chains_to_the_ca_the_nodes_trust"
VALIDITY = "test_proxy_certificate_has_at_least_min_cert_days_left"
STRENGTH = "test_proxy_certificate_key_and_signature_are_not_weak"
MODERN = "test_tls_1_2_and_1_3_are_accepted"
LEGACY = "test_tls_1_0_and_1_1_are_refused_by_the_server"
API = "test_registry_api_answers_through_the_proxy"
LARGE_LAYER = "test_large_layer_streams_through_the_proxy_intact"
PLAIN_HTTP = "test_plain_http_never_serves_registry_content"
PLAIN_PORT = "test_registry_plain_port_is_not_reachable_around_the_proxy"
DAEMON_JSON = "test_node_daemon_json_does_not_list_the_mirror_as_insecure"
RUNNING_DAEMON = "test_node_daemon_treats_the_mirror_as_a_secure_registry"
PULL_WITH_CA = "test_node_with_the_ca_pulls_through_the_mirror"
WITHOUT_CA = "test_node_without_the_ca_does_not_use_the_mirror"
PUSH = "test_pushes_through_the_proxy_are_refused"
DELETE = "test_deletes_through_the_proxy_are_refused"
EVERY_CHECK = (
    *(NAME, CHAIN, VALIDITY, STRENGTH, MODERN, LEGACY, API, LARGE_LAYER),
    *(PLAIN_HTTP, PLAIN_PORT, DAEMON_JSON, RUNNING_DAEMON, PULL_WITH_CA, WITHOUT_CA),
    *(PUSH, DELETE),
)

INSECURE_DAEMON_JSON = f"""{{
    "log-driver": "journald",
    "registry-mirrors": ["https://{FQDN}"],
    "insecure-registries": ["{FQDN}"]
}}
"""


def _reference_files() -> list[str]:
    """The reference deployment, named explicitly so no environment variable can swap it."""
    return [
        "--registry-config",
        str(EXAMPLES / "registry-config.yml"),
        "--stack-file",
        str(EXAMPLES / "registry-stack.yml"),
        "--daemon-json",
        str(EXAMPLES / "daemon.after.json"),
    ]


def _controls(tmp: Path) -> dict[str, list[str]]:
    insecure = tmp / "daemon.insecure.json"
    insecure.write_text(INSECURE_DAEMON_JSON)
    # The example stack as the guide writes it: the registry's plain port published too.
    publishing = tmp / "publishing" / "registry-stack.yml"
    publishing.parent.mkdir()
    publishing.write_text(
        (EXAMPLES / "registry-stack.yml")
        .read_text()
        .replace(
            "    networks:\n      - traefik_public\n",
            "    networks:\n      - traefik_public\n    ports:\n      - 5000:5000\n",
            1,
        )
    )
    return {
        "healthy": ["--stack-file", str(publishing)],
        "other-host+plaintext": [
            "--lab-fault",
            "cert-other-host",
            "--lab-fault",
            "proxy-plaintext",
        ],
        "expired+insecure": ["--lab-fault", "cert-expired", "--daemon-json", str(insecure)],
        "untrusted-ca": ["--lab-fault", "cert-untrusted-ca"],
    }


@pytest.fixture(scope="module")
def control_runs(docker_client, tmp_path_factory) -> Iterator[dict[str, Future[SuiteRun]]]:
    """Every control's child run, started at once; each test waits for the one it reads."""
    tmp = tmp_path_factory.mktemp("tls-controls")
    # Later options win: a control's --daemon-json replaces the reference one.
    args = {
        name: [*SUITES, "--nodes", "1", *_reference_files(), *extra]
        for name, extra in _controls(tmp).items()
    }
    with suites_together(args, tmp, workers=len(args)) as started:
        yield started


def assert_failed(run: SuiteRun, test: str, *causes: str) -> None:
    """``test`` failed, and its message names every one of ``causes``."""
    assert run.outcome(test) == "failed", (
        f"{test} should fail but {run.outcome(test)}:\n{run.output[-3000:]}"
    )
    message = run.message(test)
    missing = [cause for cause in causes if cause not in message]
    assert not missing, f"{test} failed without naming {missing}:\n{message}"


def assert_passed(run: SuiteRun, *tests: str) -> None:
    wrong = {test: run.outcome(test) for test in tests if run.outcome(test) != "passed"}
    assert not wrong, f"expected to pass, but: {wrong}\n" + "\n".join(
        run.message(test) for test in wrong
    )


def test_reference_topology_passes_the_whole_tls_suite(control_runs):
    run = control_runs["healthy"].result()
    assert run.exit_code == 0 and not run.failed(), (
        f"the reference topology failed {run.failed()}:\n{run.output[-4000:]}"
    )
    ran = {o.name.split("[")[0] for o in run.outcomes}
    assert set(EVERY_CHECK) <= ran, f"not run: {sorted(set(EVERY_CHECK) - ran)}"
    # Passing must mean observed: nothing skipped (e.g. a TLS 1.0 probe the client could not make).
    not_passed = {o.name: o.outcome for o in run.outcomes if o.outcome != "passed"}
    assert not not_passed, f"not passed: {not_passed}"


def test_reference_stack_publishing_the_plain_port_is_reported_with_its_address(control_runs):
    run = control_runs["healthy"].result()
    assert run.outcome(PLAIN_PORT) == "passed"
    assert "PlainPortPublished" in run.output, run.output[-3000:]
    assert "registry-stack.yml:10:9" in run.output
    assert f"http://{FQDN}:5000/v2/" in run.output


def test_certificate_for_another_host_fails_the_name_check_only(control_runs):
    run = control_runs["other-host+plaintext"].result()
    assert_failed(run, NAME, "tls/hostname-mismatch", "not-the-mirror.invalid", f"DNS:{FQDN}")
    assert_passed(run, CHAIN, VALIDITY, STRENGTH, MODERN, LEGACY)
    # What a node makes of it: it gives up on the mirror, and the check says why.
    assert_failed(run, PULL_WITH_CA, "names another host", "certificate is valid for")


def test_proxy_serving_the_registry_on_plain_http_fails_the_plaintext_check(control_runs):
    run = control_runs["other-host+plaintext"].result()
    assert_failed(
        run, PLAIN_HTTP, "plain HTTP serves registry content", "Docker-Distribution-API-Version"
    )
    assert_passed(run, API, LARGE_LAYER, PLAIN_PORT, PUSH, DELETE)


def test_expired_certificate_fails_the_validity_check(control_runs):
    run = control_runs["expired+insecure"].result()
    assert_failed(run, VALIDITY, "tls/expired", "expired on", "renew")
    assert_passed(run, NAME, CHAIN, STRENGTH)


def test_mirror_under_insecure_registries_fails_the_node_checks(control_runs):
    run = control_runs["expired+insecure"].result()
    assert_failed(
        run, DAEMON_JSON, "daemon-json/mirror-insecure", "daemon.json:4:", "insecure-registries"
    )
    assert_failed(run, RUNNING_DAEMON, "insecure-registries", "docker info")
    # Proof that TLS was not verified: a node without the CA used the mirror...
    assert_failed(run, WITHOUT_CA, "did not verify the mirror's certificate", "listed by name")
    # ...and a node pulled through the mirror despite the expired certificate.
    assert_passed(run, PULL_WITH_CA)


def test_certificate_from_an_untrusted_ca_fails_the_chain_check(control_runs):
    run = control_runs["untrusted-ca"].result()
    assert_failed(run, CHAIN, "tls/untrusted-issuer", "mirrorcheck stranger", "ca.crt")
    assert_passed(run, NAME, VALIDITY, STRENGTH)
    assert_failed(run, PULL_WITH_CA, "certificate signed by unknown authority")

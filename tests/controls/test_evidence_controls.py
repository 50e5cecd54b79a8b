"""Honesty controls with no Docker: a plain-HTTP mirror and a fake mirror must fail their checks.

- A mirror whose URL is ``http://`` serves the Registry API in plain text at
  its own port: "plain HTTP never serves registry content" fails naming that
  URL (the live suite, run in a child pytest as a user would, against a local
  registry stand-in); the same stand-in over https passes.
- A fake mirror that only sends the registry header and a catalog, with a node
  whose daemon log is empty: "the probe image's pull went through the mirror"
  and "the catalog lists the probe image" fail, naming the missing evidence
  (the suite checks called on a live deployment of that fake and that node).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from mirrorcheck.probes.synthetic_image import make_image
from mirrorcheck.targets.endpoint import MirrorEndpoint
from mirrorcheck.targets.live.deployment import LiveDeployment
from tests.suite_runner import load_suite, run_suites
from tests.unit.fake_registry import FakeRegistry, PullingNode

FQDN = "mirror.test"
PLAIN_HTTP = "test_plain_http_never_serves_registry_content"
BYPASS = "test_node_pull_of_the_probe_image_goes_through_the_mirror"
CATALOG = "test_mirror_catalog_lists_the_probe_image_after_its_first_pull"
# A node nobody answers for: live mode needs one, the plaintext check uses none.
NO_NODE = "ssh://control@127.0.0.1:1"


@pytest.fixture(scope="module")
def image():
    return make_image("library/busybox", "latest", layer_sizes=[2_000])


def _live_plaintext_run(registry: FakeRegistry, tmp_path: Path, *extra: str):
    scheme = registry.url.split(":", 1)[0]
    return run_suites(
        "suites/test_tls_no_plaintext.py",
        "-k",
        PLAIN_HTTP,
        "--mirror-url",
        f"{scheme}://{FQDN}:{registry.port}",
        "--mirror-address",
        f"127.0.0.1:{registry.port}",
        "--node",
        NO_NODE,
        *extra,
        tmp_path=tmp_path,
        timeout=120,
    )


def test_a_mirror_url_in_plain_http_fails_the_plaintext_check_naming_it(image, tmp_path):
    with FakeRegistry(image, host=FQDN) as registry:
        run = _live_plaintext_run(registry, tmp_path)
    assert run.outcome(PLAIN_HTTP) == "failed", run.output[-3000:]
    message = run.message(PLAIN_HTTP)
    assert f"the mirror URL http://{FQDN}:{registry.port} is plain HTTP" in message
    assert "registry/2.0" in message  # what answered there, named
    assert f"https://{FQDN}" in message  # the fix


def test_the_same_registry_over_https_passes_the_plaintext_check(image, tmp_path):
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(FQDN).configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    with FakeRegistry(image, context=context, host=FQDN) as registry:
        run = _live_plaintext_run(registry, tmp_path, "--ca-file", str(ca_file))
    assert run.outcome(PLAIN_HTTP) == "passed", run.output[-3000:]


class _Recorded:
    """``record_property`` outside pytest's own fixture."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def __call__(self, name: str, value: object) -> None:
        self.values[name] = value


@pytest.fixture
def fake_deployment(image) -> Iterator[LiveDeployment]:
    """A live deployment of a fake mirror (header and catalog only) and an empty-log node."""
    with FakeRegistry(image, honest=False, host=FQDN) as fake:
        url = f"http://{FQDN}:{fake.port}"
        node = PullingNode("node-empty-log", url, image)  # its image came from elsewhere
        endpoint = MirrorEndpoint(url, FQDN, "127.0.0.1", fake.port, None, fake.port)
        yield LiveDeployment(endpoint, [node], registry_version="2.8.2", max_pulls=2)


def test_a_fake_mirror_and_an_empty_daemon_log_fail_the_bypass_check(fake_deployment):
    check = load_suite("test_bypass").test_node_pull_of_the_probe_image_goes_through_the_mirror
    # The node's pull, as the suites' probe_pulled fixture makes it.
    pulled = fake_deployment.probe_pulls().pull_each(fake_deployment.nodes)
    with pytest.raises(pytest.fail.Exception) as failed:
        check(fake_deployment.nodes[0], fake_deployment, pulled, _Recorded())
    message = str(failed.value)
    assert "did not go through" in message
    assert "does not behave like a registry" in message
    assert "does not serve the manifest node-empty-log got" in message


class _Request:
    """pytest's ``request`` outside pytest: the fixtures a check asks for by name."""

    def __init__(self, **fixtures: object) -> None:
        self.fixtures = fixtures

    def getfixturevalue(self, name: str) -> object:
        return self.fixtures[name]


def test_a_fake_catalog_fails_the_catalog_check(fake_deployment):
    suite = load_suite("test_single_fetch_kept")
    request = _Request(deployment=fake_deployment, healthy_nodes=fake_deployment.nodes)
    with pytest.raises(pytest.fail.Exception) as failed:
        suite.test_mirror_catalog_lists_the_probe_image_after_its_first_pull(
            request, fake_deployment, _Recorded()
        )
    message = str(failed.value)
    assert "could not pull busybox:latest through the mirror" in message
    assert "does not behave like a registry" in message

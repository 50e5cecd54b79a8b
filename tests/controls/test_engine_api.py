"""A lab node asked through curl on its socket answers as the docker CLI does on the same node.

One node of the lab's default engine (28.5, containerd store) behind the
plain topology's mirror; each claim is asked both ways of the same node:
``engine_socket`` set (curl, ``engine_api``) and unset (the docker CLI).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from mirrorcheck.targets.lab.topology import Lab
from mirrorcheck.targets.nodes import engine_api
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from tests.controls.labs import one_node_lab

pytestmark = [pytest.mark.docker]


@pytest.fixture(scope="module")
def lab(engine) -> Iterator[Lab]:
    with one_node_lab(engine, "engineapi") as started:
        yield started


@pytest.fixture
def node(lab):
    node = lab.nodes[0]
    yield node
    node.engine_socket = engine_api.SOCKET


def _by_cli(node):
    node.engine_socket = ""
    return node


def test_lab_nodes_are_asked_through_curl(node):
    answer = node.engine_request("GET", "/_ping")
    assert node.engine_socket == engine_api.SOCKET and answer is not None
    assert answer.ok and answer.body == "OK"


def test_a_pull_through_curl_succeeds_with_the_digest_the_cli_prints(lab, node):
    image = lab.push_image(f"mirrorcheck/engine-api-{uuid.uuid4().hex[:6]}")
    by_api = node.pull(image.reference)
    assert by_api.ok, by_api.output
    assert by_api.digest == image.manifest_digest
    assert f"Digest: {image.manifest_digest}" in by_api.output
    assert node.has_image(image.reference)
    node.remove_image(image.reference, f"{image.name}@{image.manifest_digest}")
    assert not node.has_image(image.reference)
    by_cli = _by_cli(node).pull(image.reference)
    assert by_cli.ok and by_cli.digest == by_api.digest
    assert node.has_image(image.reference)
    node.remove_image(image.reference, f"{image.name}@{image.manifest_digest}")
    assert not node.has_image(image.reference)


def test_a_refused_pull_reads_as_the_cli_prints_it(lab, node):
    missing = f"{lab.spec.fqdn}/mirrorcheck/never-pushed-{uuid.uuid4().hex[:6]}:v1"
    by_api = node.pull(missing, timeout=60)
    by_cli = _by_cli(node).pull(missing, timeout=60)
    assert not by_api.ok and not by_cli.ok
    assert by_api.output.strip() == by_cli.output.strip().splitlines()[-1]
    assert by_api.output.startswith(engine_api.DAEMON_ERROR)


def test_docker_info_through_curl_is_the_clis(node):
    by_api = node.docker_info()
    by_cli = _by_cli(node).docker_info()
    for key in ("ID", "ServerVersion", "RegistryConfig", "DriverStatus", "Swarm"):
        assert by_api[key] == by_cli[key], key


def test_a_node_image_without_curl_is_asked_with_the_cli(node):
    node.run("sh", "-c", "mv /usr/bin/curl /usr/bin/curl.away", timeout=10)
    without = DockerExecNode(node.container, name=node.name)
    without.engine_socket = engine_api.SOCKET
    try:
        assert without.engine_request("GET", "/_ping") is None
        by_cli = node.run("docker", "info", "--format", "{{.ID}}", timeout=30).output.strip()
        assert without.docker_info()["ID"] == by_cli
    finally:
        without.close()
        node.run("sh", "-c", "mv /usr/bin/curl.away /usr/bin/curl", timeout=10)

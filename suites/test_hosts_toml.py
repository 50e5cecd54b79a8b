"""containerd's hosts.toml on every node: it must not take Docker Hub away from the mirrors.

With the containerd image store, dockerd reads
``/etc/docker/certs.d/<host>/hosts.toml``; a ``[host]`` section in Docker Hub's
file (``certs.d/docker.io/`` or ``certs.d/registry-1.docker.io/``) makes it
ignore the daemon.json ``registry-mirrors`` while ``docker info`` still lists
them (``mirrorcheck.versions.HOSTS_TOML``, measured on Engine 28.5.2). Each
node's files are read and linted (mirrorcheck/rules/hosts_toml); on the
classic store the same finding is a warning, recorded but not failed.
"""

from __future__ import annotations

import pytest

from mirrorcheck.findings import Severity, render_all
from mirrorcheck.rules.hosts_toml.lint import NODE_PATHS, lint_hosts_toml
from mirrorcheck.targets.nodes.node import Node, NodeError
from mirrorcheck.versions import image_store_of


def _read_if_present(node: Node, path: str) -> bytes | None:
    """The file's bytes, None when the node has no such file; fails naming what went wrong."""
    if not node.run("test", "-e", path, timeout=30).ok:
        return None
    try:
        return node.read_file(path)
    except NodeError as error:
        pytest.fail(f"{error}. Fix: make {path} a readable file, or remove it", pytrace=False)


@pytest.mark.own_evidence
def test_node_hosts_toml_keeps_the_daemon_json_mirrors(node, record_property):
    """No hosts.toml for Docker Hub on the node defines a [host]: the mirrors stay in force."""
    try:
        store = image_store_of(node.docker_info().get("DriverStatus"))
    except NodeError as error:
        pytest.fail(str(error), pytrace=False)
    findings = []
    present = []
    for path in NODE_PATHS:
        data = _read_if_present(node, path)
        if data is not None:
            present.append(path)
            findings += lint_hosts_toml(data, path, store)
    record_property("image_store", store)
    record_property("hosts_toml_files", present)
    record_property("hosts_toml_findings", [f.render() for f in findings])
    errors = [f for f in findings if f.severity is Severity.ERROR]
    assert not errors, (
        f"{node.name} ({store} image store): its dockerd ignores the daemon.json mirrors "
        f"because of hosts.toml:\n{render_all(errors)}"
    )

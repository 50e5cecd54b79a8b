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
from mirrorcheck.rules.hosts_toml.lint import lint_node_files
from mirrorcheck.targets.nodes.node import NodeError
from mirrorcheck.targets.nodes.readings import HostsTomlFile
from mirrorcheck.versions import image_store_of


def _read_if_present(file: HostsTomlFile) -> bytes | None:
    """The file's bytes, None when the node has no such file; fails naming what went wrong."""
    if not file.present.get() or file.content is None:
        return None
    try:
        return file.content.get()
    except NodeError as error:
        pytest.fail(f"{error}. Fix: make {file.path} a readable file, or remove it", pytrace=False)


@pytest.mark.own_evidence
def test_node_hosts_toml_keeps_the_daemon_json_mirrors(node, node_readings, record_property):
    """No hosts.toml for Docker Hub on the node defines a [host]: the mirrors stay in force."""
    reading = node_readings[node.name]
    try:
        store = image_store_of(reading.info.get().get("DriverStatus"))
    except NodeError as error:
        pytest.fail(str(error), pytrace=False)
    files = []
    for file in reading.hosts_toml:  # NODE_PATHS, in order
        data = _read_if_present(file)
        if data is not None:
            files.append((file.path, data))
    present = [path for path, _ in files]
    findings = lint_node_files(files, store)  # as the known cause (node.hosts_toml_problem)
    record_property("image_store", store)
    record_property("hosts_toml_files", present)
    record_property("hosts_toml_findings", [f.render() for f in findings])
    errors = [f for f in findings if f.severity is Severity.ERROR]
    assert not errors, (
        f"{node.name} ({store} image store): its dockerd ignores the daemon.json mirrors "
        f"because of hosts.toml:\n{render_all(errors)}"
    )

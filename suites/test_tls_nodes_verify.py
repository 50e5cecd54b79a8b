"""Nodes verify the mirror's TLS: no node treats the mirror as an insecure registry,
a node with the CA pulls through the mirror, a node without it does not use it.

In the lab Docker Hub's stand-in answers and every node trusts it, as nodes
trust Docker Hub: a node that gives up on the mirror pulls from there,
silently. Who served a pull is told by the accounting (the mirror's log, and
the node's own requests in the stand-in's log), never by the pull's outcome.

The pull of a node with the CA is its pull of the fresh image every node
pulls (``node_pulls``, suites/conftest.py): what the TLS proxy served that
node, told apart by its address, shows it went through the mirror.

Live (``--mirror-url``), the daemon.json and running-daemon checks read the
nodes as they are. What needs a test image pushed upstream (a node pulling a
fresh image, a node without the CA) is hermetic only.
"""

from __future__ import annotations

import time

import pytest

from mirrorcheck.findings import render_all
from mirrorcheck.probes.access_log import BLOB
from mirrorcheck.rules.daemon_json.assess import assess
from mirrorcheck.rules.daemon_json.catalog import MIRROR_INSECURE
from mirrorcheck.rules.daemon_json.insecure_registries import (
    InsecureRegistries,
    insecure_mirror_findings,
    why_insecure,
)
from mirrorcheck.rules.tls.policy import docker_ca_path
from mirrorcheck.rules.tls.x509_causes import certificate_errors, explain_certificate_errors
from mirrorcheck.targets.lab.throwaway_nodes import WITHOUT_CA, without_ca_spec
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH, Node, NodeError
from mirrorcheck.targets.nodes.readings import addresses_on


@pytest.mark.own_evidence
def test_node_daemon_json_does_not_list_the_mirror_as_insecure(node, node_readings, deployment):
    """The file on the node, read as its dockerd reads it, with line and column."""
    reading = node_readings[node.name]
    try:
        document = reading.daemon_json()
    except NodeError as error:
        pytest.fail(f"{error}. Fix: create {DAEMON_JSON_PATH} with registry-mirrors", pytrace=False)
    assessment = assess(
        document, mirror_url=deployment.mirror_url, mirror_ips=reading.mirror_addresses.get()
    )
    insecure = [f for f in assessment.findings if f.code == MIRROR_INSECURE.code]
    if insecure:
        pytest.fail(render_all(insecure), pytrace=False)


@pytest.mark.own_evidence
def test_node_daemon_treats_the_mirror_as_a_secure_registry(
    node, node_readings, deployment, record_property
):
    """The running daemon's view, which also holds --insecure-registry flags and 127.0.0.0/8."""
    reading = node_readings[node.name]
    config = reading.info.get().get("RegistryConfig") or {}
    record_property("insecure_registry_cidrs", config.get("InsecureRegistryCIDRs") or [])
    source = f"{node.name}'s running dockerd (docker info RegistryConfig)"
    registries = InsecureRegistries.from_docker_info(config, source=source)
    addresses = reading.mirror_addresses.get()
    record_property("mirror_resolves_to", addresses)
    findings = insecure_mirror_findings(deployment.mirror_url, registries, addresses=addresses)
    if findings:
        pytest.fail(render_all(findings), pytrace=False)


def _certificate_log(node: Node, since: float, fqdn: str) -> list[str]:
    """The daemon's log lines about the mirror's certificate since ``since``."""
    return certificate_errors(node.daemon_log(since=since), fqdn)


def _ca_on_node(node: Node, fqdn: str) -> str:
    path = str(docker_ca_path(fqdn))
    try:
        node.read_file(path)
    except NodeError:
        return f"no CA at {path}"
    return f"CA present at {path}"


def test_node_with_the_ca_pulls_through_the_mirror(node, lab, node_pulls, record_property):
    """The node's pull of a fresh image, one of every node's pulls of it."""
    pulled, started = node_pulls.of(node.name)
    image, result, bypass, served = node_pulls.image, pulled.result, pulled.bypass, pulled.served
    record_property("pull_seconds", round(result.seconds, 3))
    record_property("served_by_mirror", served.by_method_and_kind())
    record_property("node_to_docker_hub", bypass.by_method_and_kind())
    got = {
        r.reference for r in served.requests if r.kind == BLOB and r.method == "GET" and r.succeeded
    }
    if result.ok and got >= set(image.layer_digests) and not bypass.count():
        return
    fqdn = lab.spec.fqdn
    cause = explain_certificate_errors(_certificate_log(node, started, fqdn), fqdn)
    # Whatever else the daemon said about the mirror (e.g. a failed lookup of its name).
    about_mirror = [
        line[-300:] for line in node.daemon_log(since=started).splitlines() if fqdn in line
    ]
    outcome = "succeeded" if result.ok else "failed"
    pytest.fail(
        f"{node.name} did not pull {image.reference} through {lab.mirror_url}: the pull "
        f"{outcome}, the mirror served {served.by_method_and_kind() or 'nothing'} for it and "
        f"the node asked Docker Hub itself for {bypass.by_method_and_kind() or 'nothing'} "
        f"({_ca_on_node(node, fqdn)}). Cause: {cause}. dockerd falls back to Docker Hub "
        f"silently after such an error.\npull output: {result.output.strip()[-400:]}"
        f"\ndaemon log about {fqdn}: {about_mirror[-3:] or 'nothing'}",
        pytrace=False,
    )


@pytest.mark.hermetic_only
@pytest.mark.lab_node(WITHOUT_CA)
def test_node_without_the_ca_does_not_use_the_mirror(
    lab, nodes_using_the_mirror, unique_name, record_property
):
    """A node lacking the CA must fail TLS and skip the mirror: proof that nodes verify.

    dockerd falls back to the next endpoint silently (here to Docker Hub's
    stand-in, which it trusts and which answers), so the pull's outcome
    proves nothing; the mirror's own log must show no request for the image,
    the stand-in's log the node's own requests for it, and the node's log the
    certificate error that stopped it. The extra node runs the file under
    test: when the nodes that run it are not known to use the mirror
    (``nodes_using_the_mirror``), the check stops at once with that cause, since a node
    that never tries the mirror shows nothing about verifying it.
    """
    fqdn = lab.spec.fqdn
    # The file under test, FQDN filled in; started by the lab ahead of this check.
    (extra,) = lab.add_nodes([without_ca_spec(lab.spec)])
    try:
        if extra.startup_error:
            pytest.fail(extra.startup_error, pytrace=False)
        image = lab.push_image(unique_name, layer_sizes=[200_000])
        mark, hub_mark, started = lab.mirror_mark(), lab.upstream_mark(), time.time() - 1
        result = extra.pull(image.reference)
        lab.settle(image if result.ok else None)  # every log line of the pull, then count
        served = lab.mirror_traffic(mark).for_repository(image.name)
        bypass = lab.bypass_traffic(extra, hub_mark).for_repository(image.name)
        certificate_log = _certificate_log(extra, started, fqdn)
        config = extra.docker_info().get("RegistryConfig") or {}
        addresses = addresses_on(extra, fqdn)
    finally:
        lab.remove_node(extra)
    record_property("served_to_node_without_ca", served.by_method_and_kind())
    record_property("node_without_ca_to_docker_hub", bypass.by_method_and_kind())
    record_property("node_without_ca_log", certificate_log[-1:])
    if served.count():
        registries = InsecureRegistries.from_docker_info(config, source="its running dockerd")
        reason = why_insecure(lab.mirror_url, registries, addresses)
        pytest.fail(
            f"{extra.name} (no {docker_ca_path(fqdn)}) pulled {image.reference} through the "
            f"mirror (pull {'ok' if result.ok else 'failed'}, mirror served "
            f"{served.by_method_and_kind()}): dockerd did not verify the mirror's certificate. "
            f"Cause: {reason or 'the CA is trusted some other way (system store?)'}. Fix: "
            "remove the mirror from insecure-registries on every node; a wrong or expired "
            "certificate goes unnoticed otherwise",
            pytrace=False,
        )
    assert certificate_log, (
        f"{extra.name} did not use the mirror, but its daemon log shows no certificate error "
        f"for {fqdn}: something other than TLS verification stopped it, so this run does not "
        f"show that nodes verify the certificate.\npull output: {result.output.strip()[-400:]}"
    )
    assert result.ok and bypass.count("GET"), (
        f"{extra.name} refused the mirror's certificate but did not then pull "
        f"{image.reference} from Docker Hub (pull {'ok' if result.ok else 'failed'}; it asked "
        f"Docker Hub's stand-in for {bypass.by_method_and_kind() or 'nothing'}): the lab's "
        f"fallback path is broken, so a silent bypass would go unseen here.\n"
        f"pull output: {result.output.strip()[-400:]}"
    )

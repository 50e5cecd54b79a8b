"""The ACME checks on a real Traefik and Pebble: a healthy edge passes, broken ones fail.

One small edge lab (one swarm node, Pebble, the lab's Traefik stack, a
registry routed by the reference labels) serves every step in turn, since
each step changes what the next one sees: healthy (certificate issued, kept
across a restart), then acme.json moved off its volume (lost at restart),
then the mirror's router on the plain ``web`` entry point only. The checks
called are the suite's own (``suites/test_acme.py``).
"""

from __future__ import annotations

import uuid

import pytest

from mirrorcheck.pytest_plugin.options import fail_or_skip
from mirrorcheck.rules.traefik import catalog
from mirrorcheck.targets.lab.edge.acme_checks import issuance_findings, persistence_findings
from mirrorcheck.targets.lab.edge.edge_lab import EdgeLab, registry_labels
from mirrorcheck.targets.lab.images.supply import ImageSupply, ImageSupplyError
from mirrorcheck.targets.lab.labels import RunLabels

FQDN = "mirror.test"


def codes(findings) -> set[str]:
    return {finding.code for finding in findings}


@pytest.fixture(scope="module")
def edge_lab(engine):
    try:
        images = ImageSupply(engine).resolve_all(edge=True)
    except ImageSupplyError as error:
        fail_or_skip(str(error))
    labels = RunLabels.for_this_process()
    with EdgeLab(engine, images, labels, f"mirrorcheck-acme-{uuid.uuid4().hex[:6]}") as lab:
        lab.start()
        lab.edge.wait_certificate()
        yield lab


def test_acme_checks_on_healthy_then_broken_edges(edge_lab):
    edge = edge_lab.edge
    # Healthy: the served certificate is Pebble's for the name, and a restart keeps it.
    assert issuance_findings(edge) == []
    assert persistence_findings(edge) == []
    assert len(edge.issued()) == 1 and edge.accounts() == 1

    # acme.json in the task's own filesystem: a restart loses it.
    edge.acme_storage_on_volume = False
    edge.redeploy()
    edge.wait_certificate()
    lost = persistence_findings(edge)
    assert codes(lost) == {
        catalog.ACME_STORAGE_EPHEMERAL.code,
        catalog.ACME_STORAGE_LOST.code,
    }, lost
    assert "new ACME account" in lost[-1].message

    # The mirror's router on the plain web entry point only: no HTTPS route, no certificate use.
    edge_lab.route(registry_labels(FQDN, entrypoint="web", tls=False))
    edge_lab.wait_https_status(404)
    plain = issuance_findings(edge)
    assert codes(plain) == {catalog.ACME_NOT_ISSUED.code}, plain
    assert "no router on a TLS entry point" in plain[0].message

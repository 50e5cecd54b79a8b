"""The mirror's certificate comes from ACME, as the reference setup gets it from Let's Encrypt.

Traefik's ACME resolver obtains the certificate for the mirror's name; the lab
stands Pebble (Let's Encrypt's own test CA) in for Let's Encrypt and changes
nothing else. Traefik keeps the ACME account and certificates in acme.json:
on storage that a restart loses, every restart asks the CA again, and Let's
Encrypt allows 5 duplicate certificates per week. A certificate must be
renewed before it expires, or every node fails TLS and falls back to Docker
Hub.

Hermetic only: the checks read the CA's own records (what Pebble issued),
which only the lab can see. The deployment offers them as
``deployment.acme`` (``mirrorcheck.targets.lab.edge.acme_checks.AcmeEdge``);
one without it (the plain topology's throwaway CA) skips these checks.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mirrorcheck.findings import Finding, render_all
from mirrorcheck.pytest_plugin.options import fail_or_skip
from mirrorcheck.targets.lab.edge.acme_checks import (
    AcmeEdge,
    issuance_findings,
    persistence_findings,
    renewal_findings,
)
from mirrorcheck.targets.lab.edge.edge_lab import EdgeLab
from mirrorcheck.targets.lab.images.supply import EDGE_ROLES, ImageSupply, ImageSupplyError

pytestmark = [pytest.mark.hermetic_only]

# Renewal is watched on an edge of its own: Pebble's certificates last this long (seconds),
# and Traefik's certificatesDuration (hours) below a day makes it check every minute
# (traefik pkg/provider/acme getCertificateRenewDurations). Measured here: renewed 60 s
# after Traefik started, 44 s after the first certificate.
RENEWAL_VALIDITY = 120
RENEWAL_CERTIFICATES_DURATION = 1


def _fail_on(findings: list[Finding]) -> None:
    if findings:
        pytest.fail(render_all(findings), pytrace=False)


@pytest.fixture(scope="module")
def acme(deployment) -> AcmeEdge:
    """The deployment's ACME side; the checks skip where the CA is not the lab's."""
    edge = getattr(deployment, "acme", None)
    if edge is None:
        pytest.skip(
            "this deployment's certificate does not come from an ACME CA under the lab's "
            "control (the plain topology uses a throwaway CA): run the swarm topology"
        )
    return edge


@pytest.fixture(scope="module")
def renewal_edge(acme, request, settings, run_labels, worker_id) -> Iterator[AcmeEdge]:
    """An edge of its own (one node, Pebble, Traefik, a registry) with short-lived certificates.

    Watching a renewal takes about 90 s (Traefik checks once a minute at best), so it runs
    only when asked for with --acme-renewal.
    """
    if not settings.acme_renewal:
        pytest.skip(
            "renewal is watched only with --acme-renewal (about 90 s: Traefik checks for "
            "renewal once a minute at best)"
        )
    client = request.getfixturevalue("docker_client")
    try:
        supply = ImageSupply(client, overrides=settings.image_overrides)
        images = {**request.getfixturevalue("lab_images")}
        images.update({role: supply.resolve(role).image for role in EDGE_ROLES})
    except ImageSupplyError as error:
        fail_or_skip(str(error))
    prefix = f"mirrorcheck-{run_labels.run_id}-{worker_id}-renewal"
    with EdgeLab(
        client,
        images,
        run_labels,
        prefix,
        fqdn=acme.fqdn,
        acme_validity_seconds=RENEWAL_VALIDITY,
        certificates_duration=RENEWAL_CERTIFICATES_DURATION,
    ) as lab:
        edge = lab.start()
        edge.wait_certificate()
        yield edge


def test_the_served_certificate_was_issued_by_the_acme_ca_for_the_mirror(acme, record_property):
    record_property("acme", {"ca": acme.ca_name, "issued": acme.issued()})
    _fail_on(issuance_findings(acme))


def test_acme_json_survives_a_traefik_restart(acme, record_property):
    record_property("acme_storage", acme.acme_storage)
    _fail_on(persistence_findings(acme))


def test_the_certificate_is_renewed_before_it_expires(renewal_edge, record_property):
    findings = renewal_findings(renewal_edge)
    record_property("acme_renewals", renewal_edge.issued())
    _fail_on(findings)

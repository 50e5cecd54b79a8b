"""The ACME checks' observations, on any edge that lets the lab see its ACME CA (``AcmeEdge``).

Each function observes what one claim needs and returns the judgement's
findings (``mirrorcheck.rules.traefik.acme``); the suite check
(``suites/test_acme.py``) and its negative controls call the same function,
so a control fails exactly where the suite would.

Usage::

    from mirrorcheck.targets.lab.edge.acme_checks import issuance_findings, persistence_findings

    findings = issuance_findings(deployment.acme)     # [] when the CA issued the served one
    findings = persistence_findings(deployment.acme)  # restarts Traefik, compares
"""

from __future__ import annotations

import time
from typing import Protocol

import requests
import urllib3

from mirrorcheck.findings import Finding
from mirrorcheck.probes.acme_certificate import ServedCertificate
from mirrorcheck.rules.traefik.acme import (
    judge_issued,
    judge_kept,
    judge_renewed,
    lint_acme_storage,
)

REGISTRY_HEADER = "Docker-Distribution-Api-Version"
RENEWAL_MARGIN = 90.0  # seconds past the first certificate's expiry that the renewal wait adds
RENEWAL_MAX_WAIT = 600.0  # seconds: the renewal of a longer-lived certificate is not watched


class AcmeEdge(Protocol):
    """What the ACME checks need from a deployment's edge (``TraefikEdge`` implements it).

    A deployment offers it as ``deployment.acme`` (None when its CA is not
    the lab's: a live deployment, the plain topology).
    """

    fqdn: str
    url: str  # https://<fqdn>

    def session(self) -> requests.Session:
        """A session reaching the mirror by name as nodes do, trusting the CA's issuing root."""

    @property
    def acme_storage(self) -> str:
        """Where the proxy keeps acme.json, in words for the reports."""

    @property
    def ca_name(self) -> str:
        """The ACME CA as reports name it (``Pebble 2.4.0``)."""

    def served_certificate(self) -> ServedCertificate:
        """The certificate served now for the FQDN, judged against the CA's issuing root."""

    def wait_certificate(self) -> ServedCertificate:
        """The certificate served once one verifies and the mirror answers (bounded wait)."""

    def issued(self) -> list[str]:
        """Serial numbers (hex) of the certificates the CA issued."""

    def accounts(self) -> int:
        """ACME accounts the CA registered."""

    def restart(self) -> ServedCertificate:
        """Restart the proxy; the certificate it serves once it answers again."""

    def traefik_stack(self) -> tuple[str, str]:
        """The Traefik stack file deployed: its text and where it came from (for findings)."""


def registry_answer(edge: AcmeEdge) -> str:
    """ "" when ``GET https://<fqdn>/v2/`` reaches a registry (any certificate), else what did."""
    session = edge.session()
    session.verify = False  # the certificate is judged on its own
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    try:
        response = session.get(f"{edge.url}/v2/", timeout=10)
    except requests.RequestException as error:
        return f"GET {edge.url}/v2/ failed: {type(error).__name__}"
    if response.headers.get(REGISTRY_HEADER) and response.status_code in (200, 401):
        return ""
    return (
        f"GET {edge.url}/v2/ answered {response.status_code} without {REGISTRY_HEADER}: "
        "no router on a TLS entry point sends the name to the registry"
    )


def issuance_findings(edge: AcmeEdge) -> list[Finding]:
    """The mirror answers over HTTPS with a certificate the ACME CA issued for its name."""
    served = edge.served_certificate()
    return judge_issued(
        registry_answer=registry_answer(edge),
        fqdn=edge.fqdn,
        sans=served.sans,
        trusted=served.trusted,
        trust_error=served.trust_error,
        serial=served.serial,
        issued=edge.issued(),
        ca=edge.ca_name,
    )


def persistence_findings(edge: AcmeEdge) -> list[Finding]:
    """acme.json on a volume in the Traefik stack, and kept across a restart of Traefik.

    The restart is real: the same certificate must be served afterwards, and
    the CA must have registered no account and issued no certificate.
    """
    text, source = edge.traefik_stack()
    linted = lint_acme_storage(text, path=source)
    # The certificate Pebble issued, served and answering: not a default one Traefik
    # might show for a moment while it applies a configuration.
    before = edge.wait_certificate()
    issued, accounts = edge.issued(), edge.accounts()
    after = edge.restart()
    return linted + judge_kept(
        fqdn=edge.fqdn,
        before=before.fingerprint,
        after=after.fingerprint,
        issued_before=len(issued),
        issued_after=len(edge.issued()),
        new_accounts=edge.accounts() - accounts,
        storage=edge.acme_storage,
        after_issued_before=after.serial in issued,
    )


def renewal_findings(
    edge: AcmeEdge,
    margin: float = RENEWAL_MARGIN,
    interval: float = 2.0,
    max_wait: float = RENEWAL_MAX_WAIT,
) -> list[Finding]:
    """The certificate is replaced before it expires (waits at most its lifetime + ``margin`` s).

    Every certificate seen must verify; a renewal seen ends the wait. Raises
    ValueError, before waiting, when the served certificate lives longer than
    ``max_wait`` seconds: its renewal cannot be watched (give the CA a short
    validity, as ``suites/test_acme.py`` does).
    """
    first = edge.served_certificate()
    remaining = max(0.0, first.not_after.timestamp() - time.time())
    if remaining + margin > max_wait:
        raise ValueError(
            f"the certificate for {edge.fqdn} expires in {remaining:.0f} s: its renewal cannot "
            f"be watched within {max_wait:.0f} s; give the ACME CA a validity of a few minutes"
        )
    started = time.monotonic()
    deadline = started + remaining + margin
    seen: list[ServedCertificate] = [first]
    while time.monotonic() < deadline and seen[-1].fingerprint == first.fingerprint:
        time.sleep(interval)
        seen.append(edge.served_certificate())
    findings = judge_renewed(
        fqdn=edge.fqdn,
        first_serial=first.serial,
        serials_seen=[s.serial for s in seen],
        waited=time.monotonic() - started,
        lifetime=first.lifetime_seconds,
    )
    untrusted = [s for s in seen if not s.trusted]
    if untrusted and not findings:
        findings = issuance_findings(edge)
    return findings

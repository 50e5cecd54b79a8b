"""A served certificate said to be trusted is the one that verified, not one seen beside it."""

from __future__ import annotations

import hashlib
import ssl

import trustme

from mirrorcheck.probes.acme_certificate import served_certificate
from tests.unit.tls_servers import LocalTlsServer

NAME = "mirror.test"


class AlternatingServer(LocalTlsServer):
    """Serves ``first`` to the 1st, 3rd, ... handshake and ``then`` to the others: a proxy
    that shows its default certificate to one client and its ACME one to the next."""

    def __init__(self, first: trustme.LeafCert, then: trustme.LeafCert) -> None:
        super().__init__(first)
        self.contexts = [self.context, self._context(then, None, None, None)]

    def _answer(self, conn) -> None:
        self.context = self.contexts[(self.connections - 1) % 2]
        super()._answer(conn)


def _fingerprint(leaf: trustme.LeafCert) -> str:
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    return hashlib.sha256(der).hexdigest()


def _served_by(first: str, then: str):
    """What the probe reports of a server that shows ``first`` then ``then`` ("acme": a leaf of
    the root the probe trusts, "default": of another CA); the server's handshakes, the leaves."""
    acme_ca, default_ca = trustme.CA(), trustme.CA()
    leaves = {"acme": acme_ca.issue_cert(NAME), "default": default_ca.issue_cert(NAME)}
    with AlternatingServer(leaves[first], leaves[then]) as server:
        served = served_certificate(
            server.address, server.port, NAME, root_pem=acme_ca.cert_pem.bytes(), timeout=2
        )
        return served, server.connections, leaves


def test_a_default_certificate_then_the_acme_one_is_not_reported_trusted():
    served, _, _ = _served_by("default", "acme")
    assert not served.trusted, "the first handshake showed the default certificate"


def test_a_trusted_certificate_is_the_one_its_handshake_verified():
    served, handshakes, leaves = _served_by("acme", "default")
    assert handshakes == 1  # verified at once: no second handshake
    assert served.trusted and served.fingerprint == _fingerprint(leaves["acme"])

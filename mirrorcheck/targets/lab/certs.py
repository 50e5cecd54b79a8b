"""Throwaway certificates for the lab's TLS proxy and the nodes that trust it.

One lab CA stands for the CA that nodes trust through
``/etc/docker/certs.d/<fqdn>/ca.crt``. The proxy gets a server certificate
for the mirror FQDN (named in subjectAltName: Go, hence dockerd, has ignored
the CN since Go 1.15), or one of the broken variants that negative controls
need.

Usage::

    from mirrorcheck.targets.lab.certs import LabCertificates, Variant

    certs = LabCertificates("mirror.test")
    files = certs.write(tmp_path / "tls")                    # healthy, valid for a year
    files.ca_cert, files.server_cert, files.server_key       # mount into nginx and nodes
    bad = certs.write(tmp_path / "expired", Variant.EXPIRED)  # same ca.crt, expired leaf

    leaf = certs.issue(Variant.OTHER_HOST)                   # a trustme.LeafCert
    leaf.configure_cert(ssl_server_context)                  # for in-process servers
    certs.ca.configure_trust(ssl_client_context)

    docker_ca_path("mirror.test")   # PurePosixPath('/etc/docker/certs.d/mirror.test/ca.crt')

    hub = certs.write_docker_hub(tmp_path / "hub")  # Docker Hub's stand-in: its own CA

Docker Hub's stand-in gets its certificate from a second lab CA, the
``hub_ca``, which nodes and the mirror trust through their system store
(``SYSTEM_CA_BUNDLE``) as they trust Docker Hub's public CA in production.
It must not be the mirror's CA: on the containerd image store dockerd reads
the mirror's CA from ``certs.d/docker.io/`` (``versions.MIRROR_CA_DIRECTORY``),
the directory of Docker Hub itself, so one shared CA would let a node without
the mirror's CA still trust the mirror.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
from dataclasses import dataclass
from pathlib import Path

import trustme

from mirrorcheck.rules.tls.policy import docker_ca_path

__all__ = [
    "CA_FILE",
    "DOCKER_HUB_NAMES",
    "OTHER_HOST",
    "SERVER_CERT_FILE",
    "SERVER_KEY_FILE",
    "SYSTEM_CA_BUNDLE",
    "CertFiles",
    "LabCertificates",
    "Variant",
    "docker_ca_path",
]

# The name of the OTHER_HOST variant; .invalid never resolves (RFC 2606).
OTHER_HOST = "not-the-mirror.invalid"

# Docker Hub's names, all served by the stand-in: dockerd pulls from registry-1.docker.io
# (docker.io is the image domain, index.docker.io the v1 index, auth.docker.io the token
# realm); whichever a node asks lands at the stand-in and in its log.
DOCKER_HUB_NAMES = ("registry-1.docker.io", "docker.io", "index.docker.io", "auth.docker.io")
# Where Go reads the system's CA bundle first on Debian (crypto/x509 root_linux.go).
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

CA_FILE = "ca.crt"
SERVER_CERT_FILE = "server.crt"
SERVER_KEY_FILE = "server.key"


class Variant(str, enum.Enum):
    """Which server certificate the proxy presents."""

    HEALTHY = "healthy"  # the mirror FQDN, lab CA, valid for a year
    OTHER_HOST = "other-host"  # lab CA, valid, but for another host name
    EXPIRED = "expired"  # the mirror FQDN, lab CA, expired yesterday
    UNTRUSTED_CA = "untrusted-ca"  # the mirror FQDN, valid, signed by a CA nodes do not trust
    EXPIRES_SOON = "expires-soon"  # the mirror FQDN, lab CA, a few days left


@dataclass(frozen=True)
class CertFiles:
    """Where :meth:`LabCertificates.write` put the PEM files."""

    directory: Path
    ca_cert: Path  # the lab CA nodes trust (also for the UNTRUSTED_CA variant)
    server_cert: Path  # leaf first, then any intermediates: nginx ssl_certificate
    server_key: Path  # nginx ssl_certificate_key


class LabCertificates:
    """A throwaway lab CA and the server certificates it (or a stranger) issues.

    ``now`` fixes the clock for reproducible validity windows; by default the
    current time. ``key_type`` chooses ECDSA P-256 (fast) or RSA 2048.
    """

    def __init__(
        self,
        fqdn: str,
        *,
        key_type: trustme.KeyType = trustme.KeyType.ECDSA,
        now: dt.datetime | None = None,
        expires_soon_days: int = 5,
    ) -> None:
        self.fqdn = fqdn
        self.key_type = key_type
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.expires_soon_days = expires_soon_days
        self.ca = trustme.CA(organization_name="mirrorcheck lab", key_type=key_type)
        self._stranger_ca: trustme.CA | None = None
        self.hub_ca = trustme.CA(organization_name="mirrorcheck Docker Hub", key_type=key_type)

    @property
    def stranger_ca(self) -> trustme.CA:
        """A second CA that no node trusts, created on first use."""
        if self._stranger_ca is None:
            self._stranger_ca = trustme.CA(
                organization_name="mirrorcheck stranger", key_type=self.key_type
            )
        return self._stranger_ca

    def issue(self, variant: Variant = Variant.HEALTHY) -> trustme.LeafCert:
        """A new leaf certificate (with private key) for ``variant``."""
        # Start an hour back: container clocks and the host's may differ slightly.
        start = self.now - dt.timedelta(hours=1)
        year = self.now + dt.timedelta(days=365)
        windows = {
            Variant.HEALTHY: (self.ca, self.fqdn, start, year),
            Variant.OTHER_HOST: (self.ca, OTHER_HOST, start, year),
            Variant.EXPIRED: (
                self.ca,
                self.fqdn,
                self.now - dt.timedelta(days=30),
                self.now - dt.timedelta(days=1),
            ),
            Variant.UNTRUSTED_CA: (self.stranger_ca, self.fqdn, start, year),
            Variant.EXPIRES_SOON: (
                self.ca,
                self.fqdn,
                start,
                self.now + dt.timedelta(days=self.expires_soon_days),
            ),
        }
        issuer, host, not_before, not_after = windows[Variant(variant)]
        return issuer.issue_cert(
            host, not_before=not_before, not_after=not_after, key_type=self.key_type
        )

    def write(
        self, directory: str | os.PathLike[str], variant: Variant = Variant.HEALTHY
    ) -> CertFiles:
        """Write ``ca.crt``, ``server.crt`` (chain) and ``server.key`` into ``directory``."""
        return _write_files(directory, self.ca, self.issue(variant))

    def write_docker_hub(self, directory: str | os.PathLike[str]) -> CertFiles:
        """Docker Hub's stand-in: ``hub_ca`` as ``ca.crt``, a leaf for every Hub name.

        Valid for a year from an hour back, for ``DOCKER_HUB_NAMES``.
        """
        leaf = self.hub_ca.issue_cert(
            *DOCKER_HUB_NAMES,
            not_before=self.now - dt.timedelta(hours=1),
            not_after=self.now + dt.timedelta(days=365),
            key_type=self.key_type,
        )
        return _write_files(directory, self.hub_ca, leaf)


def _write_files(
    directory: str | os.PathLike[str], ca: trustme.CA, leaf: trustme.LeafCert
) -> CertFiles:
    """``ca.crt``, ``server.crt`` (the leaf's chain) and ``server.key`` in ``directory``."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    files = CertFiles(
        directory=target,
        ca_cert=target / CA_FILE,
        server_cert=target / SERVER_CERT_FILE,
        server_key=target / SERVER_KEY_FILE,
    )
    files.ca_cert.write_bytes(ca.cert_pem.bytes())
    files.server_cert.write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
    files.server_key.write_bytes(leaf.private_key_pem.bytes())
    # A private key, owner only: nginx's master process reads it as root before dropping
    # privileges, the stand-in's registry as itself.
    files.server_key.chmod(0o600)
    return files

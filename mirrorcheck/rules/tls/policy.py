"""What a mirror's TLS endpoint is held to: thresholds and the expected protocol versions.

Data only; the judges that apply it are in :mod:`mirrorcheck.rules.tls.certificate`
and :mod:`mirrorcheck.rules.tls.versions`, all of them at once in
:func:`mirrorcheck.rules.tls.judge.judge_tls`.

Usage::

    from mirrorcheck.rules.tls.policy import TlsPolicy, docker_ca_path

    policy = TlsPolicy(min_days_left=30)
    docker_ca_path("mirror.test")   # PurePosixPath('/etc/docker/certs.d/mirror.test/ca.crt')
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType

from mirrorcheck.findings import Severity


class Expect(str, enum.Enum):
    ACCEPT = "accept"
    REFUSE = "refuse"


@dataclass(frozen=True)
class VersionExpectation:
    expect: Expect
    severity: Severity  # when the server does the opposite
    why: str


# TLS 1.0 and 1.1 are deprecated by RFC 8996; Mozilla's "intermediate"
# configuration (https://wiki.mozilla.org/Security/Server_Side_TLS) serves
# TLS 1.2 and 1.3. TLS 1.3 missing breaks nothing, hence a warning.
VERSION_EXPECTATIONS: Mapping[str, VersionExpectation] = MappingProxyType(
    {
        "TLSv1": VersionExpectation(Expect.REFUSE, Severity.ERROR, "deprecated by RFC 8996"),
        "TLSv1.1": VersionExpectation(Expect.REFUSE, Severity.ERROR, "deprecated by RFC 8996"),
        "TLSv1.2": VersionExpectation(
            Expect.ACCEPT,
            Severity.ERROR,
            "clients without TLS 1.3 (OpenSSL 1.0.x, Go before 1.13) cannot connect",
        ),
        "TLSv1.3": VersionExpectation(
            Expect.ACCEPT,
            Severity.WARNING,
            "current clients, dockerd included, prefer it; Mozilla's intermediate profile has it",
        ),
    }
)


def docker_ca_path(host: str, port: int | None = None) -> PurePosixPath:
    """Where a Docker node looks for the CA of registry ``host[:port]``.

    dockerd reads ``/etc/docker/certs.d/<host[:port]>/*.crt``; the port is part
    of the directory name only when the registry URL names one.
    """
    name = host if port in (None, 443) else f"{host}:{port}"
    return PurePosixPath("/etc/docker/certs.d") / name / "ca.crt"


@dataclass(frozen=True)
class TlsPolicy:
    """Thresholds; the defaults suit a mirror that Docker nodes reach over HTTPS."""

    min_days_left: int = 14
    # Smallest acceptable key per key type (bits; EC counts the curve size).
    min_key_bits: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"RSA": 2048, "DSA": 2048, "EC": 256})
    )
    weak_signature_hashes: frozenset[str] = frozenset({"md5", "sha1"})
    versions: Mapping[str, VersionExpectation] = field(default_factory=lambda: VERSION_EXPECTATIONS)

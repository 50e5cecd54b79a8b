"""Whether a running dockerd verifies the mirror's certificate, decided as dockerd decides it.

dockerd skips certificate verification for a mirror (``InsecureSkipVerify``)
when the mirror URL's ``host[:port]`` is an insecure registry: listed by name
(exactly as written, port included) or resolving to an address inside an
insecure CIDR; 127.0.0.0/8 always is. Sources (moby/moby):
``registry/config.go`` (``loadInsecureRegistries`` appends 127.0.0.0/8;
``isSecureIndex`` looks the name up in ``IndexConfigs`` first, then
``isCIDRMatch`` resolves it), ``registry/service_v2.go`` (``lookupV2Endpoints``
-> ``tlsConfigForMirror(mirrorURL.Host)``).

This judges what the running daemon reports (``docker info`` ->
``RegistryConfig``): it holds daemon.json's ``insecure-registries``, any
``--insecure-registry`` flag from the service's command line, and the
defaults. The daemon.json file itself is judged, with line and column, by
:mod:`mirrorcheck.rules.daemon_json.insecure_entries`; both decide with
:func:`insecure_match` and report the one rule ``daemon-json/mirror-insecure``.

Usage::

    from mirrorcheck.rules.daemon_json.insecure_registries import (
        InsecureRegistries,
        insecure_mirror_findings,
    )

    running = InsecureRegistries.from_docker_info(node.docker_info()["RegistryConfig"])
    findings = insecure_mirror_findings("https://mirror.test", running, addresses=["172.18.0.4"])
    # [Finding(error, 'daemon-json/mirror-insecure', "... listed by name ...")]
    insecure_match("127.0.0.1:5000", {}, [ipaddress.ip_network("127.0.0.0/8")], [])
    # InsecureMatch(name='', network=IPv4Network('127.0.0.0/8'), address=IPv4Address('127.0.0.1'))
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mirrorcheck.findings import Finding
from mirrorcheck.rules.daemon_json.catalog import MIRROR_INSECURE
from mirrorcheck.rules.tls.policy import docker_ca_path
from mirrorcheck.text.hostport import ip_of, split_host_port

CODE = MIRROR_INSECURE.code

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges dockerd adds whatever the configuration says, named as such in messages.
# 127.0.0.0/8: moby registry/config.go loadInsecureRegistries (measured on
# Engine 20.10: `docker info` lists it with an empty daemon.json). ::1/128:
# listed as a default by the Engine API reference (RegistryServiceConfig,
# InsecureRegistryCIDRs) for later engines.
ALWAYS_INSECURE: tuple[str, ...] = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class InsecureRegistries:
    """Insecure registries as a running dockerd holds them: names with their Secure flag, CIDRs."""

    names: Mapping[str, bool] = field(default_factory=dict)  # host[:port] -> Secure
    networks: tuple[Network, ...] = ()
    source: str = "docker info"

    @classmethod
    def from_docker_info(
        cls, registry_config: Mapping[str, object], source: str = "docker info"
    ) -> InsecureRegistries:
        """From ``docker info``'s ``RegistryConfig``: what the running daemon really uses."""
        indexes = registry_config.get("IndexConfigs") or {}
        names = {
            str(name): bool(info.get("Secure", True))
            for name, info in (indexes.items() if isinstance(indexes, Mapping) else [])
            if isinstance(info, Mapping)
        }
        networks = []
        for text in registry_config.get("InsecureRegistryCIDRs") or []:
            try:
                networks.append(ipaddress.ip_network(str(text), strict=False))
            except ValueError:
                continue
        return cls(names, tuple(networks), source)


def mirror_host(mirror_url: str) -> str:
    """The ``host[:port]`` dockerd looks up for a mirror URL (Go's ``URL.Host``)."""
    url = mirror_url if "://" in mirror_url else f"https://{mirror_url}"
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


LOOPBACK_NAMES = ("localhost",)
"""Names that always mean this host, whatever a resolver says."""


@dataclass(frozen=True)
class InsecureMatch:
    """Why dockerd skips certificate checks for a mirror: the name listing it, or the range.

    ``name``: the insecure registry ``host[:port]`` the mirror is listed under;
    else ``network`` and the mirror's ``address`` inside it.
    """

    name: str = ""
    network: Network | None = None
    address: Address | None = None


def mirror_addresses(host_port: str, resolved: Iterable[str] = ()) -> list[Address]:
    """The addresses dockerd may reach the mirror at: ``resolved``, then the host if an IP.

    ``localhost`` stands for both loopback addresses. Text that is not an IP is skipped.
    """
    found = [ip for ip in (ip_of(str(text)) for text in resolved) if ip is not None]
    host = split_host_port(host_port)[0]
    ip = ip_of(host)
    if ip is not None:
        found.append(ip)
    elif host.lower() in LOOPBACK_NAMES:
        found += [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    return found


def insecure_match(
    host_port: str,
    names: Mapping[str, bool],
    networks: Iterable[Network],
    resolved: Iterable[str] = (),
) -> InsecureMatch | None:
    """dockerd's isSecureIndex for a mirror's ``host[:port]``; None when TLS is verified.

    ``names``: registry ``host[:port]`` -> Secure, looked up first and exactly
    as written (a name listed as secure ends the search). ``networks``: the
    insecure ranges in order, the first holding one of the mirror's addresses
    wins. ``resolved``: what the mirror's name resolves to where dockerd runs.
    """
    if host_port in names:
        return None if names[host_port] else InsecureMatch(name=host_port)
    addresses = mirror_addresses(host_port, resolved)
    for network in networks:
        for address in addresses:
            if address.version == network.version and address in network:
                return InsecureMatch(network=network, address=address)
    return None


def why_insecure(
    mirror_url: str, registries: InsecureRegistries, addresses: Iterable[str] = ()
) -> str:
    """Why dockerd would not verify this mirror's certificate; '' when it would.

    ``addresses``: what the mirror's name resolves to where dockerd runs.
    """
    host = mirror_host(mirror_url)
    match = insecure_match(host, registries.names, registries.networks, addresses)
    if match is None:
        return ""
    if match.name:
        return f"{host!r} is listed by name in {registries.source}"
    always = str(match.network) in ALWAYS_INSECURE
    default = " (dockerd always treats it as insecure)" if always else ""
    return (
        f"{host!r} resolves to {match.address}, inside the insecure range {match.network}"
        f"{default} of {registries.source}"
    )


def insecure_mirror_findings(
    mirror_url: str,
    registries: InsecureRegistries,
    *,
    addresses: Iterable[str] = (),
    where: str = "",
) -> list[Finding]:
    """An error when dockerd would skip certificate verification for the mirror; else none."""
    addresses = list(addresses)
    reason = why_insecure(mirror_url, registries, addresses)
    if not reason:
        return []
    host = mirror_host(mirror_url)
    if host in registries.names:
        fix = (
            f"remove {host!r} from insecure-registries (daemon.json, or --insecure-registry on "
            f"dockerd's command line) and install the mirror's CA as {docker_ca_path(host)} "
            "if it is private"
        )
    else:
        fix = (
            f"give the mirror an address outside that range (name it by an FQDN that resolves "
            f"to a routable address), or drop the range from insecure-registries; the mirror's "
            f"CA goes in {docker_ca_path(host)}"
        )
    return [
        MIRROR_INSECURE.finding(
            f"dockerd does not verify the mirror's certificate: {reason}. A wrong, "
            "expired or forged certificate then goes unnoticed",
            fix=fix,
            path=where or registries.source,
            key="insecure-registries",
        )
    ]

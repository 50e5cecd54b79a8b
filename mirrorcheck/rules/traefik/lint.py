"""Whether a stack's labels make Traefik route the mirror's name to the registry over TLS.

Judges one service's labels (``labels.Label``, with their placement) against
what nodes need: a router for ``Host(`<mirror FQDN>`)`` (the host of the
daemon.json mirror URL) on a TLS entry point, sending to the registry's
``http.addr`` port, over a network the registry joins. Traefik facts and their
sources are in :mod:`mirrorcheck.rules.traefik.labels`.

Usage::

    findings = lint_traefik_routing(
        labels, path="registry.yml", service="registry-mirror",
        fqdn="mirror.example.com", registry_port=5000, networks=["traefik_public"],
    )
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mirrorcheck.findings import Finding, Rule
from mirrorcheck.rules.traefik import catalog as rules
from mirrorcheck.rules.traefik.labels import Label, Router, Routing, hosts_of_v1_rule, read_routing

# An unfilled ``<...>`` host stands for the mirror's name: the deployment fills it in.
PLACEHOLDER = re.compile(r"^<[^<>]*>$")


@dataclass(frozen=True)
class TraefikSetup:
    """What is known of the Traefik that reads the labels (its static configuration).

    ``entrypoints`` maps entry point names to whether they terminate TLS;
    ``resolvers`` and ``networks`` are None when unknown (then not judged).
    The defaults are the guide's Traefik: ``web`` on :80, ``websecure`` on :443.
    """

    version: int = 3
    entrypoints: Mapping[str, bool] = field(
        default_factory=lambda: {"web": False, "websecure": True}
    )
    resolvers: frozenset[str] | None = None
    networks: frozenset[str] | None = None
    exposed_by_default: bool = True


def lint_traefik_routing(
    labels: Iterable[Label],
    *,
    path: str,
    service: str,
    fqdn: str,
    registry_port: int,
    networks: Sequence[str],
    setup: TraefikSetup | None = None,
    swarm: bool = True,
) -> list[Finding]:
    """Findings on the labels of ``service`` in the stack file ``path``; [] when it routes.

    ``networks`` are the networks the service joins; ``registry_port`` its
    ``http.addr`` port. Raises nothing: every problem is a finding.
    """
    setup = setup or TraefikSetup()
    labels = list(labels)
    routing = read_routing(labels, swarm=swarm)
    place = _Place(path, service)
    found = _placement(routing, place, setup)
    if routing.enable is not None and routing.enable.value.strip().lower() == "false":
        found.append(place.finding(rules.DISABLED, "traefik.enable=false", routing.enable))
    elif routing.enable is None and not setup.exposed_by_default and routing.routers:
        found.append(place.finding(rules.DISABLED, "no traefik.enable=true", None))
    mirror_routers = [r for r in routing.routers.values() if _routes(r, fqdn)]
    found.extend(_routes_found(routing, mirror_routers, place, fqdn))
    for router in mirror_routers:
        found.extend(_router_findings(router, place, setup))
    found.extend(_port_findings(routing, mirror_routers, place, registry_port))
    found.extend(_network_findings(routing, place, networks, setup))
    return found


@dataclass(frozen=True)
class _Place:
    path: str
    service: str

    def finding(self, rule: Rule, detail: str, label: Label | None) -> Finding:
        return rule.finding(
            f"service {self.service!r}: {detail}: {rule.summary}",
            path=self.path,
            line=label.line if label else None,
            column=label.column if label else None,
            key=label.key if label else "",
        )


def _routes(router: Router, fqdn: str) -> bool:
    return any(h == fqdn or PLACEHOLDER.match(h) for h in router.hosts)


def _placement(routing: Routing, place: _Place, setup: TraefikSetup) -> list[Finding]:
    found = []
    misplaced = list(routing.container_labels)
    if misplaced:
        keys = ", ".join(label.key for label in misplaced)
        found.append(
            place.finding(
                rules.CONTAINER_LABELS,
                f"{len(misplaced)} traefik label(s) sit under labels, not deploy.labels ({keys})",
                misplaced[0],
            )
        )
    if setup.version >= 2:
        found.extend(
            place.finding(rules.V1_LABELS, f"{label.key}={label.value}", label)
            for label in routing.v1_labels
        )
    return found


def _routes_found(
    routing: Routing, mirror_routers: list[Router], place: _Place, fqdn: str
) -> list[Finding]:
    if mirror_routers:
        return []
    other_hosts = [(r, h) for r in routing.routers.values() for h in r.hosts]
    if other_hosts:
        return [
            place.finding(
                rules.HOST_MISMATCH,
                f"router {router.name!r} matches Host({host}), the nodes ask for {fqdn}",
                router.rule,
            )
            for router, host in other_hosts
        ]
    v1_hosts = [h for label in routing.v1_labels for h in hosts_of_v1_rule(label.value)]
    detail = f"no Host(`{fqdn}`) router"
    if v1_hosts:
        detail += f" (only the 1.x rule Host:{','.join(v1_hosts)}, which Traefik 2/3 ignore)"
    return [place.finding(rules.NO_ROUTE, detail, None)]


def _router_findings(router: Router, place: _Place, setup: TraefikSetup) -> list[Finding]:
    found = []
    names = router.entrypoint_names
    unknown = [n for n in names if n not in setup.entrypoints]
    found.extend(
        place.finding(
            rules.UNKNOWN_ENTRYPOINT,
            f"router {router.name!r} names entry point {name!r} "
            f"(Traefik has {', '.join(sorted(setup.entrypoints))})",
            router.entrypoints,
        )
        for name in unknown
    )
    on_tls_entrypoint = any(setup.entrypoints.get(n) for n in names)
    if not router.tls_enabled and not on_tls_entrypoint and not unknown:
        where = ", ".join(names) if names else "every entry point"
        found.append(
            place.finding(
                rules.PLAIN_ENTRYPOINT,
                f"router {router.name!r} on {where} without tls",
                router.entrypoints or router.rule,
            )
        )
    resolver = router.certresolver
    known = setup.resolvers
    if resolver is not None and known is not None and resolver.value.strip() not in known:
        found.append(
            place.finding(
                rules.UNKNOWN_RESOLVER,
                f"router {router.name!r} uses resolver {resolver.value.strip()!r}",
                resolver,
            )
        )
    return found


def _port_findings(
    routing: Routing, mirror_routers: list[Router], place: _Place, registry_port: int
) -> list[Finding]:
    if not mirror_routers:
        return []
    wanted = {r.service.value.strip() for r in mirror_routers if r.service}
    ports = {
        name: label for name, label in routing.service_ports.items() if not wanted or name in wanted
    }
    if not ports:
        return [place.finding(rules.PORT_MISSING, "the router's service has no port", None)]
    return [
        place.finding(
            rules.PORT_MISMATCH,
            f"service {name!r} port {label.value.strip()}, the registry listens on {registry_port}",
            label,
        )
        for name, label in ports.items()
        if label.value.strip() != str(registry_port)
    ]


def _network_findings(
    routing: Routing, place: _Place, networks: Sequence[str], setup: TraefikSetup
) -> list[Finding]:
    found = []
    label = routing.network
    if label is not None and label.value.strip() not in networks:
        found.append(
            place.finding(
                rules.NETWORK_NOT_JOINED,
                f"{label.key}={label.value.strip()}, the service joins "
                f"{', '.join(networks) or 'no network'}",
                label,
            )
        )
    if setup.networks is not None and not set(networks) & setup.networks:
        found.append(
            place.finding(
                rules.NETWORK_UNSHARED,
                f"the service joins {', '.join(networks) or 'no network'}, Traefik "
                f"{', '.join(sorted(setup.networks))}",
                None,
            )
        )
    return found

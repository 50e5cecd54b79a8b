"""Every Traefik routing rule, declared once: code, severity, meaning, fix, the check it gates.

Usage::

    from mirrorcheck.rules.traefik.catalog import RULES, NO_ROUTE

    NO_ROUTE.code          # 'traefik/no-route'
"""

from __future__ import annotations

from mirrorcheck.findings import Rule, Severity, rule_table

ROUTING_CHECK = "suites/test_traefik_labels.py::test_stack_routes_the_mirror_through_traefik"
_GATE = (ROUTING_CHECK,)
_FALLBACK = "every node falls back to Docker Hub, silently"

CONTAINER_LABELS = Rule(
    "traefik/container-labels",
    Severity.ERROR,
    f"routing labels on the container: in swarm mode Traefik reads only service labels; "
    f"{_FALLBACK}",
    fix="move the traefik.* labels under the service's deploy.labels",
    gated_by=_GATE,
)
V1_LABELS = Rule(
    "traefik/v1-labels",
    Severity.ERROR,
    "Traefik 1.x label syntax, which Traefik 2 and 3 ignore",
    fix=(
        "write v2/v3 labels: traefik.http.routers.<r>.rule=Host(`<mirror FQDN>`), "
        "traefik.http.routers.<r>.entrypoints=websecure, "
        "traefik.http.routers.<r>.tls.certresolver=<resolver>, "
        "traefik.http.services.<s>.loadbalancer.server.port=5000"
    ),
    gated_by=_GATE,
)
NO_ROUTE = Rule(
    "traefik/no-route",
    Severity.ERROR,
    f"no router sends the mirror's host name to the registry; {_FALLBACK}",
    fix="add traefik.http.routers.<r>.rule=Host(`<mirror FQDN>`) under deploy.labels",
    gated_by=_GATE,
)
HOST_MISMATCH = Rule(
    "traefik/host-mismatch",
    Severity.ERROR,
    "the router's Host rule names another host than the nodes' registry-mirrors",
    fix="make the rule Host(`<mirror FQDN>`) with the host of the daemon.json mirror URL",
    gated_by=_GATE,
)
PLAIN_ENTRYPOINT = Rule(
    "traefik/plain-entrypoint",
    Severity.ERROR,
    "the mirror's router has no TLS: nodes reach https://<mirror FQDN> and find no route",
    fix=(
        "put the router on the TLS entry point (entrypoints=websecure) with "
        "tls.certresolver=<resolver>"
    ),
    gated_by=_GATE,
)
UNKNOWN_RESOLVER = Rule(
    "traefik/unknown-resolver",
    Severity.ERROR,
    "the router's certificate resolver is not in Traefik's configuration: no certificate",
    fix="name a resolver of Traefik's certificatesResolvers (static configuration)",
    gated_by=_GATE,
)
UNKNOWN_ENTRYPOINT = Rule(
    "traefik/unknown-entrypoint",
    Severity.ERROR,
    "the router names an entry point Traefik does not have: it never matches",
    fix="use an entry point of Traefik's static configuration (e.g. websecure)",
    gated_by=_GATE,
)
PORT_MISMATCH = Rule(
    "traefik/port-mismatch",
    Severity.ERROR,
    "the service port Traefik sends to is not the registry's http.addr port",
    fix="set traefik.http.services.<s>.loadbalancer.server.port to the registry's port",
    gated_by=_GATE,
)
PORT_MISSING = Rule(
    "traefik/port-missing",
    Severity.WARNING,
    "no loadbalancer.server.port: Traefik guesses the port from the image's EXPOSE",
    fix="set traefik.http.services.<s>.loadbalancer.server.port to the registry's port",
    gated_by=_GATE,
)
NETWORK_NOT_JOINED = Rule(
    "traefik/network-not-joined",
    Severity.ERROR,
    "the network label names a network the registry service does not join: no route",
    fix="join the service to that network, or name one it joins in traefik.swarm.network",
    gated_by=_GATE,
)
NETWORK_UNSHARED = Rule(
    "traefik/network-unshared",
    Severity.ERROR,
    "the registry shares no network with Traefik: Traefik cannot reach it",
    fix="put the registry service on Traefik's network (the guide's traefik_public)",
    gated_by=_GATE,
)
DISABLED = Rule(
    "traefik/disabled",
    Severity.ERROR,
    "traefik.enable is false (or missing while Traefik exposes nothing by default)",
    fix="set traefik.enable=true under deploy.labels",
    gated_by=_GATE,
)

ACME_CHECKS = "suites/test_acme.py::"
ACME_NOT_ISSUED = Rule(
    "traefik/acme-not-issued",
    Severity.ERROR,
    "the mirror is not served over HTTPS with a certificate the ACME CA issued for its name",
    fix=(
        "put the mirror's router on the TLS entry point (entrypoints=websecure) with "
        "tls.certresolver=<resolver>, an ACME resolver that can answer the CA's challenge "
        "(TLS-ALPN-01 on :443, or HTTP-01 on :80)"
    ),
    gated_by=(
        f"{ACME_CHECKS}test_the_served_certificate_was_issued_by_the_acme_ca_for_the_mirror",
    ),
)
_PERSISTED = (f"{ACME_CHECKS}test_acme_json_survives_a_traefik_restart",)
_KEEP_ACME = (
    "keep acme.json on a volume: certificatesresolvers.<r>.acme.storage=/acme/acme.json "
    "with a named volume (or a bind mount of the shared disk) at /acme"
)
ACME_STORAGE_LOST = Rule(
    "traefik/acme-storage-lost",
    Severity.ERROR,
    "Traefik asked for a new certificate at a restart: Let's Encrypt allows 5 duplicate "
    "certificates per week, then refuses",
    fix=_KEEP_ACME,
    gated_by=_PERSISTED,
)
ACME_STORAGE_EPHEMERAL = Rule(
    "traefik/acme-storage-ephemeral",
    Severity.ERROR,
    "acme.json is not on a volume: lost at every restart of Traefik's task",
    fix=_KEEP_ACME,
    gated_by=_PERSISTED,
)
ACME_NOT_RENEWED = Rule(
    "traefik/acme-not-renewed",
    Severity.ERROR,
    "the certificate was not renewed before it expired: nodes then fail TLS and fall back",
    fix=(
        "set the resolver's certificatesDuration (hours) to the CA's certificate lifetime: "
        "Traefik derives its renewal checks from it (daily for the default 2160), and keep "
        "the CA reachable from Traefik"
    ),
    gated_by=(f"{ACME_CHECKS}test_the_certificate_is_renewed_before_it_expires",),
)

RULES = rule_table(
    CONTAINER_LABELS,
    V1_LABELS,
    NO_ROUTE,
    HOST_MISMATCH,
    PLAIN_ENTRYPOINT,
    UNKNOWN_RESOLVER,
    UNKNOWN_ENTRYPOINT,
    PORT_MISMATCH,
    PORT_MISSING,
    NETWORK_NOT_JOINED,
    NETWORK_UNSHARED,
    DISABLED,
    ACME_NOT_ISSUED,
    ACME_STORAGE_LOST,
    ACME_STORAGE_EPHEMERAL,
    ACME_NOT_RENEWED,
)

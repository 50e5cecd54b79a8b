"""Traefik's routing labels, read as Traefik 2 and 3 read them (and 1.x, to name it).

A label is ``key=value`` on a service. Traefik 2 and 3 route HTTP through
``traefik.http.routers.<router>.*`` and ``traefik.http.services.<service>.*``;
Traefik 1.x used ``traefik.frontend.rule``, ``traefik.port``, ``traefik.backend``,
which 2 and 3 ignore (doc.traefik.io, "Migration Guide: From v1 to v2"). In
swarm mode Traefik reads the labels of the SERVICE (``deploy.labels``), never
those of its containers (traefik#994, answered in traefik#2582). The network
label is ``traefik.swarm.network`` for v3's swarm provider and
``traefik.docker.network`` for v2 (and v3's docker provider).

Usage::

    labels = [Label("traefik.http.routers.mirror.rule", "Host(`mirror.example.com`)",
                    "deploy"), ...]
    routing = read_routing(labels)
    routing.routers["mirror"].hosts          # ('mirror.example.com',)
    routing.service_ports                    # {'mirror': '5000'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

PREFIX = "traefik."
ROUTER = re.compile(r"^traefik\.http\.routers\.(?P<name>[^.]+)\.(?P<attribute>.+)$")
SERVICE_PORT = re.compile(r"^traefik\.http\.services\.(?P<name>[^.]+)\.loadbalancer\.server\.port$")
# v1 keys and v1 label families that v2 and v3 do not read.
V1_KEYS = frozenset({"traefik.port", "traefik.backend", "traefik.frontend.rule"})
V1_PREFIXES = ("traefik.frontend.", "traefik.backend.", "traefik.protocol", "traefik.weight")
NETWORK_KEYS = ("traefik.swarm.network", "traefik.docker.network")
# ``Host(`a`)`` and, in v2, ``Host(`a`, `b`)``; also HostSNI for TCP routers.
HOST_CALL = re.compile(r"\bHost\s*\(([^)]*)\)")
BACKTICKED = re.compile(r"`([^`]*)`|\"([^\"]*)\"")
V1_HOST = re.compile(r"Host\s*:\s*([^;]+)")


@dataclass(frozen=True)
class Label:
    """One label as written: ``placement`` is ``deploy`` (service) or ``container``."""

    key: str
    value: str
    placement: str
    line: int | None = None
    column: int | None = None


@dataclass
class Router:
    """One HTTP router's labels: rule, entry points, TLS, the service it sends to."""

    name: str
    rule: Label | None = None
    entrypoints: Label | None = None
    tls: Label | None = None
    certresolver: Label | None = None
    service: Label | None = None

    @property
    def hosts(self) -> tuple[str, ...]:
        """The host names of the rule's ``Host(...)`` matchers."""
        return hosts_of_rule(self.rule.value) if self.rule else ()

    @property
    def entrypoint_names(self) -> tuple[str, ...]:
        if not self.entrypoints:
            return ()
        return tuple(e.strip() for e in self.entrypoints.value.split(",") if e.strip())

    @property
    def tls_enabled(self) -> bool:
        """``tls=true`` or a certificate resolver (which implies TLS)."""
        return bool(self.certresolver) or (
            self.tls is not None and self.tls.value.strip().lower() == "true"
        )


@dataclass
class Routing:
    """What a service's labels ask Traefik for."""

    routers: dict[str, Router] = field(default_factory=dict)
    service_ports: dict[str, Label] = field(default_factory=dict)
    network: Label | None = None
    enable: Label | None = None
    v1_labels: list[Label] = field(default_factory=list)
    container_labels: list[Label] = field(default_factory=list)


def hosts_of_rule(rule: str) -> tuple[str, ...]:
    """Host names in a v2/v3 rule: ``Host(`a`) || Host(`b`)`` -> ``('a', 'b')``."""
    found: list[str] = []
    for call in HOST_CALL.finditer(rule):
        for quoted in BACKTICKED.finditer(call.group(1)):
            name = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
            if name and name.strip():
                found.append(name.strip())
    return tuple(found)


def hosts_of_v1_rule(rule: str) -> tuple[str, ...]:
    """Host names in a v1 frontend rule: ``Host:a,b`` -> ``('a', 'b')``."""
    match = V1_HOST.search(rule)
    if not match:
        return ()
    return tuple(h.strip() for h in match.group(1).split(",") if h.strip())


def is_v1(key: str) -> bool:
    """Whether a label key is Traefik 1.x syntax."""
    return key in V1_KEYS or key.startswith(V1_PREFIXES)


def read_routing(labels: Iterable[Label], *, swarm: bool = True) -> Routing:
    """The routing the labels ask for, as Traefik reads them in this mode.

    In swarm mode container labels are kept apart (``container_labels``):
    Traefik does not read them. v1 keys are kept apart (``v1_labels``).
    """
    routing = Routing()
    for label in labels:
        if not label.key.startswith(PREFIX):
            continue
        if swarm and label.placement == "container":
            routing.container_labels.append(label)
            continue
        if is_v1(label.key):
            routing.v1_labels.append(label)
            continue
        _read_one(routing, label)
    return routing


def _read_one(routing: Routing, label: Label) -> None:
    if label.key == "traefik.enable":
        routing.enable = label
        return
    if label.key in NETWORK_KEYS:
        routing.network = label
        return
    port = SERVICE_PORT.match(label.key)
    if port:
        routing.service_ports[port.group("name")] = label
        return
    router = ROUTER.match(label.key)
    if not router:
        return
    name, attribute = router.group("name"), router.group("attribute")
    entry = routing.routers.setdefault(name, Router(name))
    if attribute == "rule":
        entry.rule = label
    elif attribute == "entrypoints":
        entry.entrypoints = label
    elif attribute == "tls":
        entry.tls = label
    elif attribute == "tls.certresolver":
        entry.certresolver = label
    elif attribute == "service":
        entry.service = label

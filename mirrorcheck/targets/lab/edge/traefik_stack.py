"""The lab's Traefik v3 stack: the guide's Traefik recipe, with Let's Encrypt replaced by Pebble.

As the reference setup runs it: the swarm provider reading service labels
through the manager's Docker socket (``exposedByDefault=false``: only services
labelled ``traefik.enable=true``), a ``web`` entry point on :80 and a
``websecure`` one on :443, both published in host mode on the manager (the
routing mesh needs IPVS, which this host lacks: FINDINGS "Swarm inside the
lab"), an ACME certificate resolver ``main`` (TLS-ALPN-01) that keeps
``acme.json`` on a named volume, and the access log as JSON on stdout (with
the User-Agent header kept) beside Traefik's own log without colours.

What the lab changes (``LAB_CHANGES``, which reports show): the resolver's
``caServer`` is Pebble's directory; Traefik's ACME client (lego) trusts
Pebble's API CA through ``LEGO_CA_CERTIFICATES``; the task resolves Pebble's
name through ``extra_hosts`` (a task's resolver cannot see the lab network's
names); the swarm provider polls every second instead of every 15 s, and a new
configuration is applied at once, not 2 s after the one before.

Usage::

    spec = TraefikStackSpec(image="traefik:v3.7", network="traefik_public",
                            ca_server="https://acme.test:14000/dir",
                            acme_address="172.18.0.3")
    text = lab_traefik_stack(spec)      # YAML for `docker stack deploy -c - traefik`
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from mirrorcheck.targets.lab.edge.user_traefik import STATIC_CONFIG_PATH, AcmeSettings

# The lab's own Traefik polls the swarm every second (Traefik's default: 15 s, user_traefik).
LAB_REFRESH_SECONDS = 1
RESOLVER = "main"
STACK = "traefik"
SERVICE = "traefik"
ACME_VOLUME = "acme"  # the stack's volume; `docker volume ls` shows it as traefik_acme
ACME_DIR = "/acme"
ACME_STORAGE = f"{ACME_DIR}/acme.json"
# Where the manager holds Pebble's API CA for the Traefik task to mount.
ACME_CA_HOST_PATH = "/srv/mirrorcheck-edge/acme-api-ca.crt"
ACME_CA_PATH = "/etc/mirrorcheck/acme-api-ca.crt"
SOCKET = "/var/run/docker.sock"

LAB_CHANGES = (
    "the ACME server URL (caServer) is Pebble's instead of Let's Encrypt's, and Traefik "
    "trusts Pebble's API CA (LEGO_CA_CERTIFICATES)",
    "the swarm provider polls services every 1 s instead of every 15 s (refreshSeconds), and "
    "a new configuration is applied at once instead of 2 s after the one before "
    "(providersThrottleDuration), so that a freshly deployed stack is routed at once",
)


@dataclass(frozen=True)
class TraefikStackSpec:
    """What the lab's Traefik stack is made of.

    ``network`` is the overlay the registry service joins (the stack's
    ``traefik.swarm.network``); ``acme_address`` is Pebble's address on the
    lab network. ``acme_storage_on_volume`` False keeps ``acme.json`` in the
    task's own filesystem (a broken deployment: lost at every restart).
    ``certificates_duration`` (hours, Traefik's ``certificatesDuration``) sets
    how often Traefik checks for renewal: below 24 every minute (traefik
    pkg/provider/acme getCertificateRenewDurations), Let's Encrypt's 2160 daily.
    """

    image: str
    network: str
    ca_server: str
    acme_address: str
    acme_host: str = "acme.test"
    acme_storage_on_volume: bool = True
    certificates_duration: int | None = None
    log_level: str = "INFO"
    static_config_host_path: str | None = None  # a user's traefik.yml on the manager


def acme_settings(spec: TraefikStackSpec) -> AcmeSettings:
    """What any Traefik needs to use the lab's ACME CA (``user_traefik`` applies it)."""
    return AcmeSettings(
        ca_server=spec.ca_server,
        acme_host=spec.acme_host,
        acme_address=spec.acme_address,
        ca_host_path=ACME_CA_HOST_PATH,
        ca_path=ACME_CA_PATH,
    )


def traefik_arguments(spec: TraefikStackSpec) -> list[str]:
    """Traefik's static configuration as command-line arguments."""
    storage = ACME_STORAGE if spec.acme_storage_on_volume else "/tmp/acme.json"
    resolver = f"--certificatesresolvers.{RESOLVER}.acme"
    arguments = [
        f"--providers.swarm.endpoint=unix://{SOCKET}",
        "--providers.swarm.exposedByDefault=false",
        f"--providers.swarm.network={spec.network}",
        # Swarm has no service events: Traefik polls, by default every 15 s. The lab polls
        # every second so that a freshly deployed stack is routed at once (LAB_CHANGES).
        f"--providers.swarm.refreshSeconds={LAB_REFRESH_SECONDS}",
        # Traefik applies a new configuration at most every 2 s (providersThrottleDuration):
        # the route to a task seen running waited for it (measured here, LAB_CHANGES).
        "--providers.providersThrottleDuration=0s",
        "--entrypoints.web.address=:80",
        "--entrypoints.websecure.address=:443",
        f"{resolver}.email=admin@example.com",
        f"{resolver}.storage={storage}",
        f"{resolver}.tlschallenge=true",
        f"{resolver}.caserver={spec.ca_server}",
        "--accesslog=true",
        "--accesslog.format=json",
        # Kept so that a node's own request (a docker/ agent) can be told from others.
        "--accesslog.fields.headers.names.User-Agent=keep",
        f"--log.level={spec.log_level}",
        "--log.noColor=true",
    ]
    if spec.certificates_duration is not None:
        arguments.append(f"{resolver}.certificatesDuration={spec.certificates_duration}")
    return arguments


def lab_traefik_stack(spec: TraefikStackSpec) -> str:
    """The stack file (YAML) of one Traefik service on the manager, as described above.

    With ``static_config_host_path`` Traefik reads that file (mounted at
    ``/etc/traefik/traefik.yml``) instead of command-line arguments: Traefik
    takes its static configuration from one source only.
    """
    volumes = [f"{SOCKET}:{SOCKET}:ro", f"{ACME_CA_HOST_PATH}:{ACME_CA_PATH}:ro"]
    if spec.acme_storage_on_volume:
        volumes.append(f"{ACME_VOLUME}:{ACME_DIR}")
    if spec.static_config_host_path:
        volumes.append(f"{spec.static_config_host_path}:{STATIC_CONFIG_PATH}:ro")
    service = {
        "image": spec.image,
        "command": [] if spec.static_config_host_path else traefik_arguments(spec),
        "environment": {"LEGO_CA_CERTIFICATES": ACME_CA_PATH},
        "extra_hosts": [f"{spec.acme_host}:{spec.acme_address}"],
        "ports": [
            {"target": 80, "published": 80, "protocol": "tcp", "mode": "host"},
            {"target": 443, "published": 443, "protocol": "tcp", "mode": "host"},
        ],
        "volumes": volumes,
        "networks": [spec.network],
        "deploy": {"placement": {"constraints": ["node.role == manager"]}},
    }
    document: dict[str, object] = {
        "version": "3.8",
        "services": {SERVICE: service},
        "networks": {spec.network: {"external": True}},
    }
    if spec.acme_storage_on_volume:
        document["volumes"] = {ACME_VOLUME: {}}
    return yaml.safe_dump(document, sort_keys=False)

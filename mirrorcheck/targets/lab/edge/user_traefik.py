"""A user's own Traefik (a stack file, or a static configuration), pointed at the lab's ACME CA.

The user's entry points, providers, resolvers and acme.json placement stay as
written, so that they are under test. Changed, each with a line in
``substitutions``: every ACME resolver's ``caServer`` becomes Pebble's
directory (the one thing the lab must change); Traefik's ACME client trusts
Pebble's API CA (``LEGO_CA_CERTIFICATES``, a mounted file) and resolves
Pebble's name (``extra_hosts``); ports published through the routing mesh are
published in host mode (the mesh needs IPVS, which this host lacks).

A static configuration (YAML, Traefik's ``traefik.yml``) runs in the lab's
Traefik stack instead of its command-line configuration, mounted at
``/etc/traefik/traefik.yml``.

Usage::

    stack = user_stack(text, "traefik-stack.yml", edge_settings)
    stack.text, stack.image, stack.substitutions
    static = user_static_config(text, "traefik.yml", "https://acme.test:14000/dir")
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mirrorcheck.targets.lab.swarm.stack import host_mode_port

# Traefik's swarm provider polls services every ``refreshSeconds``, 15 by default
# (doc.traefik.io/traefik/providers/swarm/#refreshseconds).
DEFAULT_REFRESH_SECONDS = 15.0
STATIC_CONFIG_PATH = "/etc/traefik/traefik.yml"
CA_SERVER_ARGUMENT = ".acme.caserver="


class UserTraefikError(ValueError):
    """The user's Traefik file cannot be run; the message names the file and the fix."""


@dataclass(frozen=True)
class AcmeSettings:
    """What the lab's ACME CA needs in any Traefik: its URL, its API CA, its address."""

    ca_server: str
    acme_host: str
    acme_address: str
    ca_host_path: str  # the API CA's file on the manager
    ca_path: str  # where the task sees it


@dataclass
class UserStack:
    """The user's Traefik stack as deployed: text, the service and image it runs, the changes."""

    text: str
    service: str
    image: str
    substitutions: list[str] = field(default_factory=list)


def _load(text: str, path: str) -> dict:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UserTraefikError(
            f"{path}: not YAML ({str(error).splitlines()[0]}). Fix: give Traefik's YAML file"
        ) from None
    if not isinstance(document, dict):
        raise UserTraefikError(f"{path}: not a YAML mapping. Fix: give Traefik's YAML file")
    return document


def read_user_traefik(path: str | None) -> tuple[str | None, str | None]:
    """``(stack text, None)``, ``(None, static config text)`` or ``(None, None)`` without a path.

    A file with ``services`` is a stack file. Raises UserTraefikError when
    the file cannot be read or is not YAML.
    """
    if path is None:
        return None, None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserTraefikError(
            f"{path}: cannot be read ({error}). Fix: give a readable Traefik stack file or "
            "static configuration"
        ) from None
    return (text, None) if "services" in _load(text, path) else (None, text)


def _traefik_service(document: dict, path: str) -> str:
    services = document.get("services") or {}
    for name, service in services.items():
        if isinstance(service, dict) and "traefik" in str(service.get("image")):
            return str(name)
    raise UserTraefikError(
        f"{path}: no service runs a traefik image. Fix: give the stack file that deploys "
        "Traefik, or Traefik's static configuration file"
    )


def user_service(text: str, path: str) -> str:
    """The name of the user's Traefik service in its stack file."""
    return _traefik_service(_load(text, path), path)


def user_image(text: str, path: str) -> str:
    """The image name the user's Traefik service runs (the lab loads its Traefik under it)."""
    document = _load(text, path)
    return str(document["services"][_traefik_service(document, path)]["image"])


def _point_arguments(command: list[str], ca_server: str) -> tuple[list[str], list[str]]:
    """Each resolver's caServer argument set to ``ca_server``; the resolvers touched."""
    resolvers = sorted(
        {
            argument.split(".acme.", 1)[0].split(".", 1)[1]
            for argument in command
            if argument.lower().startswith("--certificatesresolvers.") and ".acme." in argument
        }
    )
    kept = [a for a in command if CA_SERVER_ARGUMENT not in a.lower()]
    added = [f"--certificatesresolvers.{r}.acme.caserver={ca_server}" for r in resolvers]
    return kept + added, resolvers


def user_stack(text: str, path: str, acme: AcmeSettings) -> UserStack:
    """The user's stack with its Traefik service pointed at the lab's CA (see the module doc).

    The Traefik service is the one whose image names ``traefik``. Raises
    UserTraefikError when there is none, or its ACME resolvers are not in its
    command (a static file then: give that with the Traefik config option).
    """
    document = _load(text, path)
    name = _traefik_service(document, path)
    service = document["services"][name]
    command = service.get("command") or []
    command = command.split() if isinstance(command, str) else [str(a) for a in command]
    command, resolvers = _point_arguments(command, acme.ca_server)
    if not resolvers:
        raise UserTraefikError(
            f"{path}: service {name} configures no ACME resolver on its command line "
            "(--certificatesresolvers.<name>.acme.*). Fix: give Traefik's static "
            "configuration file instead, if the resolvers are there"
        )
    service["command"] = command
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(str(e).partition("=")[::2] for e in environment)
    service["environment"] = {**environment, "LEGO_CA_CERTIFICATES": acme.ca_path}
    service["extra_hosts"] = [
        *(service.get("extra_hosts") or []),
        f"{acme.acme_host}:{acme.acme_address}",
    ]
    service["volumes"] = [
        *(service.get("volumes") or []),
        f"{acme.ca_host_path}:{acme.ca_path}:ro",
    ]
    changes = [
        f"{path}: the ACME server of resolver(s) {', '.join(resolvers)} is the lab's Pebble "
        f"({acme.ca_server}), trusted through LEGO_CA_CERTIFICATES: the lab's stand-in for "
        "Let's Encrypt"
    ]
    ports = []
    for entry in service.get("ports") or []:
        converted = host_mode_port(entry)
        ports.append(converted or entry)
        if converted:
            changes.append(
                f"{path}: port {converted['published']} of {name} is published in host mode: "
                "the ingress routing mesh needs IPVS, which this host's kernel lacks"
            )
    if ports:
        service["ports"] = ports
    return UserStack(
        yaml.safe_dump(document, sort_keys=False), name, str(service["image"]), changes
    )


def user_static_config(text: str, path: str, ca_server: str) -> str:
    """The static configuration with every ACME resolver's ``caServer`` set to ``ca_server``.

    Raises UserTraefikError when it is not YAML or has no ACME resolver.
    """
    document = _load(text, path)
    resolvers = document.get("certificatesResolvers") or {}
    acme = {n: r.get("acme") for n, r in resolvers.items() if isinstance(r, dict)}
    if not any(isinstance(a, dict) for a in acme.values()):
        raise UserTraefikError(
            f"{path}: certificatesResolvers has no ACME resolver. Fix: configure the resolver "
            "the mirror's router names (certificatesResolvers.<name>.acme)"
        )
    for settings in acme.values():
        if isinstance(settings, dict):
            settings["caServer"] = ca_server
    return yaml.safe_dump(document, sort_keys=False)


def refresh_seconds(text: str) -> float:
    """The swarm provider's ``refreshSeconds`` a Traefik stack or static config sets (seconds).

    As a flag (``--providers.swarm.refreshSeconds=5``) or a YAML key
    (``refreshSeconds: 5``); Traefik's default, 15, when neither is there.
    """
    match = re.search(r"refreshSeconds['\"]?\s*[=:]\s*['\"]?(\d+(?:\.\d+)?)", text)
    return float(match.group(1)) if match else DEFAULT_REFRESH_SECONDS

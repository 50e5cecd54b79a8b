"""The registry service of a swarm stack / compose file, as a small plain object, and its lint.

``read_stack`` answers what other checks ask of a deployment: which image
runs, which ports are published, and which host path or volume sits behind
each container path ("is the storage rootdirectory on a volume?", "is port
5000 published?"). ``lint_stack`` judges it, with the registry's config when
there is one.

Usage::

    from mirrorcheck.rules.registry.stack import lint_stack, read_stack

    stack = read_stack("registry.yml")          # YamlReadError on bad input
    stack.image                                  # "registry:2"
    stack.version                                # RegistryVersion(2, 0, 0)
    stack.publishes(5000)                        # True
    stack.host_path_for("/var/lib/registry")     # "/var/data/registry/registry-mirror-data"
    stack.config_mount.source                    # the host file mounted as config.yml
    for finding in lint_stack(stack, config):    # config: RegistryConfig or None
        print(finding.render())

Finding codes (all ``registry-stack/...``): ``unreadable``, ``yaml-syntax``,
``no-registry-service``, ``image-unpinned``, ``config-not-mounted``,
``config-path``, ``storage-not-mounted``, ``storage-not-persistent``,
``storage-node-local``, ``storage-read-only``, ``port-published``,
``debug-port-published``, ``traefik-port-mismatch``, ``placeholder``,
``env-override``, ``restart-gives-up``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mirrorcheck.findings import Finding, Severity
from mirrorcheck.rules.limitations import RegistryVersion, parse_version
from mirrorcheck.rules.registry.schema import CONFIG_PATHS, DEFAULT_ROOTDIRECTORY, config_path_for
from mirrorcheck.text.yaml_source import (
    YamlDocument,
    YamlReadError,
    entries,
    entry_for,
    load_yaml,
    position,
    read_text,
    scalar_text,
)

if TYPE_CHECKING:
    from mirrorcheck.rules.registry.config import RegistryConfig

Add = Callable[..., None]  # the finding collector lint_stack hands to each rule

CODE = "registry-stack"
CONSEQUENCE = "docker stack deploy refuses this file"
REGISTRY_IMAGE_NAMES = ("registry", "distribution")
DEFAULT_PORT = 5000  # distribution's default http.addr is :5000
LOOPBACK = ("127.", "::1", "localhost")
PLACEHOLDER = re.compile(r"<[^<>\n]+>")
TRAEFIK_PORT_LABEL = re.compile(r"^traefik(\.http\.services\.[^.]+\.loadbalancer\.server)?\.port$")


@dataclass(frozen=True)
class Mount:
    """What a container path is backed by.

    ``kind`` is ``bind`` (a host path), ``volume`` (a named volume),
    ``anonymous`` (a volume with no name), ``tmpfs`` or ``config`` (a swarm
    config; ``source`` is its file when the stack names one).
    """

    source: str
    target: str
    kind: str
    read_only: bool = False
    line: int | None = None
    column: int | None = None

    @property
    def persistent(self) -> bool:
        """Survives the task being replaced (a redeploy or a move to another node)."""
        return self.kind in ("bind", "volume")

    def covers(self, container_path: str) -> bool:
        target = self.target.rstrip("/") or "/"
        return container_path == target or container_path.startswith(target.rstrip("/") + "/")


@dataclass(frozen=True)
class PortMapping:
    """One published port. ``mode`` ``ingress`` publishes on every swarm node."""

    target: int
    published: int | None
    protocol: str = "tcp"
    mode: str = "ingress"
    host_ip: str = ""
    line: int | None = None
    column: int | None = None

    @property
    def loopback_only(self) -> bool:
        return self.host_ip.startswith(LOOPBACK)


@dataclass(frozen=True)
class StackInfo:
    """The registry service of a stack file, reduced to what checks ask about."""

    path: str
    service: str
    image: str
    ports: tuple[PortMapping, ...] = ()
    mounts: tuple[Mount, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    volume_drivers: Mapping[str, str] = field(default_factory=dict)
    restart_policy: Mapping[str, object] = field(default_factory=dict)
    places: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def image_tag(self) -> str:
        return split_image(self.image)[1]

    @property
    def version(self) -> RegistryVersion | None:
        """The distribution version the image tag names (``registry:2`` -> 2.0.0), if any."""
        repository, tag = split_image(self.image)
        if repository.rsplit("/", 1)[-1] not in REGISTRY_IMAGE_NAMES:
            return None
        return parse_version(tag) if tag else None

    def mount_for(self, container_path: str) -> Mount | None:
        """The mount a container path lives on (the deepest one), or ``None``."""
        covering = [m for m in self.mounts if m.covers(container_path)]
        return max(covering, key=lambda m: len(m.target), default=None)

    def host_path_for(self, container_path: str) -> str | None:
        """The host path behind a container path, for bind mounts; ``None`` otherwise."""
        mount = self.mount_for(container_path)
        if mount is None or mount.kind != "bind":
            return None
        rest = container_path[len(mount.target.rstrip("/")) :]
        return mount.source.rstrip("/") + rest if rest else mount.source

    def publishes(self, container_port: int) -> bool:
        """True when ``container_port`` is reachable through a published port."""
        return any(p.target == container_port for p in self.ports)

    @property
    def config_mount(self) -> Mount | None:
        """The mount of the registry's config file, at whichever path it was put."""
        expected = config_path_for(self.version)
        known = {row.path for row in CONFIG_PATHS}
        exact = [m for m in self.mounts if m.target == expected]
        other = [m for m in self.mounts if m.target in known or m.target.endswith("config.yml")]
        return (exact or other or [None])[0]

    @property
    def data_mount(self) -> Mount | None:
        return self.mount_for(DEFAULT_ROOTDIRECTORY)

    def where(self, name: str) -> tuple[int | None, int | None]:
        return self.places.get(name, (None, None))


# --------------------------------------------------------------------------- reading


def split_image(image: str) -> tuple[str, str]:
    """An image reference split into repository and tag (``""`` when it has none).

    ``docker.io/library/registry:2.8.3@sha256:..`` -> (``docker.io/library/registry``, ``2.8.3``)
    """
    name = image.split("@", 1)[0]
    head, sep, tag = name.rpartition(":")
    if sep and "/" not in tag:
        return head, tag
    return name, ""


def port_of(addr: str | None) -> int | None:
    """``":5000"`` / ``"0.0.0.0:5000"`` / ``"[::]:5000"`` -> 5000; ``None`` when absent."""
    if not addr:
        return None
    tail = str(addr).rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _pairs(node: Node | None) -> dict[str, tuple[str, Node]]:
    """``labels``/``environment`` as a list of ``k=v`` or a mapping -> {k: (v, node)}."""
    found: dict[str, tuple[str, Node]] = {}
    if isinstance(node, SequenceNode):
        for item in node.value:
            text = scalar_text(item)
            if text is not None:
                key, _, value = text.partition("=")
                found[key.strip()] = (value, item)
    elif isinstance(node, MappingNode):
        for entry in entries(node):
            found[entry.key] = (scalar_text(entry.value) or "", entry.key_node)
    return found


def _port_numbers(text: str) -> list[int]:
    low, _, high = text.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        return []
    return list(range(int(low), int(high or low) + 1))


def _short_ports(text: str, node: Node) -> list[PortMapping]:
    spec, _, protocol = text.partition("/")
    host_ip = ""
    if spec.startswith("["):
        end = spec.find("]")
        host_ip, spec = spec[1:end], spec[end + 2 :]
    parts = spec.split(":")
    if len(parts) == 3:
        host_ip, published, target = parts
    elif len(parts) == 2:
        published, target = parts
    else:
        published, target = "", parts[0]
    targets = _port_numbers(target)
    publisheds = _port_numbers(published) if published else [None] * len(targets)
    if not targets or len(publisheds) != len(targets):
        return []
    line, column = position(node)
    return [
        PortMapping(t, p, protocol or "tcp", "ingress", host_ip, line, column)
        for t, p in zip(targets, publisheds, strict=True)
    ]


def _ports(node: Node | None) -> list[PortMapping]:
    ports: list[PortMapping] = []
    if not isinstance(node, SequenceNode):
        return ports
    for item in node.value:
        if isinstance(item, ScalarNode):
            ports += _short_ports(item.value, item)
        elif isinstance(item, MappingNode):
            values = {e.key: scalar_text(e.value) or "" for e in entries(item)}
            target = values.get("target", "")
            if not target.isdigit():
                continue
            published = values.get("published", "")
            line, column = position(item)
            ports.append(
                PortMapping(
                    target=int(target),
                    published=int(published) if published.isdigit() else None,
                    protocol=values.get("protocol") or "tcp",
                    mode=values.get("mode") or "ingress",
                    host_ip=values.get("host_ip", ""),
                    line=line,
                    column=column,
                )
            )
    return ports


def _is_host_path(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or "/" in source


def _volumes(node: Node | None) -> list[Mount]:
    mounts: list[Mount] = []
    if not isinstance(node, SequenceNode):
        return mounts
    for item in node.value:
        line, column = position(item)
        if isinstance(item, ScalarNode):
            parts = item.value.split(":")
            if len(parts) == 1:
                mounts.append(Mount("", parts[0], "anonymous", False, line, column))
                continue
            source, target, *mode = parts
            kind = "bind" if _is_host_path(source) else "volume"
            read_only = bool(mode) and "ro" in mode[0].split(",")
            mounts.append(Mount(source, target, kind, read_only, line, column))
        elif isinstance(item, MappingNode):
            values = {e.key: scalar_text(e.value) or "" for e in entries(item)}
            kind = values.get("type", "volume")
            source = values.get("source", "")
            if kind == "volume" and not source:
                kind = "anonymous"
            read_only = values.get("read_only", "").lower() in ("true", "yes", "on")
            mounts.append(Mount(source, values.get("target", ""), kind, read_only, line, column))
    return mounts


def _tmpfs(node: Node | None) -> list[Mount]:
    items = node.value if isinstance(node, SequenceNode) else [node] if node is not None else []
    mounts = []
    for item in items:
        text = scalar_text(item)
        if text:
            line, column = position(item)
            mounts.append(Mount("", text.split(":", 1)[0], "tmpfs", False, line, column))
    return mounts


def _configs(node: Node | None, files: Mapping[str, str]) -> list[Mount]:
    mounts: list[Mount] = []
    if not isinstance(node, SequenceNode):
        return mounts
    for item in node.value:
        line, column = position(item)
        if isinstance(item, ScalarNode):
            name, target = item.value, "/" + item.value
        else:
            values = {e.key: scalar_text(e.value) or "" for e in entries(item)}
            name = values.get("source", "")
            target = values.get("target") or "/" + name
        mounts.append(Mount(files.get(name, name), target, "config", True, line, column))
    return mounts


def _top_level(doc: YamlDocument, section: str, attribute: str) -> dict[str, str]:
    """{name: attribute} for top-level ``volumes``/``configs`` (driver, file)."""
    found = {}
    for entry in entries(doc.find((section,))):
        value = entry_for(entry.value, attribute) if isinstance(entry.value, MappingNode) else None
        found[entry.key] = scalar_text(value.value) if value else ""
    return found


def _image_name(service: Node) -> str:
    """``docker.io/library/registry:2`` -> ``registry``."""
    entry = entry_for(service, "image")
    image = scalar_text(entry.value) if entry else None
    return split_image(image or "")[0].rsplit("/", 1)[-1]


def _pick_service(doc: YamlDocument, service: str | None) -> tuple[str, Node]:
    """The named service; else the first running a registry image; else the only one."""
    named = {e.key: e.value for e in entries(doc.find(("services",)))}
    if service is None:
        registries = [n for n, node in named.items() if _image_name(node) in REGISTRY_IMAGE_NAMES]
        if registries:
            return registries[0], named[registries[0]]
        if len(named) == 1:
            return next(iter(named.items()))
    elif service in named:
        return service, named[service]
    wanted = f"service {service!r}" if service else "a registry service"
    raise YamlReadError(
        Finding(
            severity=Severity.ERROR,
            code=f"{CODE}/no-registry-service",
            message=f"found no {wanted} (services: {', '.join(named) or 'none'}); nothing to check",
            fix="name the registry's service (--service NAME) or run image registry:2/registry:3",
            path=doc.path,
        )
    )


def load_stack(
    text: str, path: str = "docker-compose.yml", service: str | None = None
) -> StackInfo:
    """Parse stack text; YamlReadError for bad YAML or when no registry service is found."""
    doc = load_yaml(text, path=path, code_prefix=CODE, consequence=CONSEQUENCE)
    name, node = _pick_service(doc, service)
    places: dict[str, tuple[int, int]] = {}
    service_entry = entry_for(doc.find(("services",)), name)
    if service_entry is not None:
        places["service"] = position(service_entry.key_node)

    def get(*keys: str) -> Node | None:
        current: Node | None = node
        for key in keys:
            entry = entry_for(current, key) if isinstance(current, MappingNode) else None
            if entry is None:
                return None
            current = entry.value
        return current

    image_node = get("image")
    if image_node is not None:
        places["image"] = position(image_node)
    labels: dict[str, str] = {}
    for source in (get("labels"), get("deploy", "labels")):
        for key, (value, where) in _pairs(source).items():
            labels[key] = value
            places[f"labels.{key}"] = position(where)
    environment = {}
    for key, (value, where) in _pairs(get("environment")).items():
        environment[key] = value
        places[f"environment.{key}"] = position(where)
    restart: dict[str, object] = {}
    restart_node = get("deploy", "restart_policy")
    for entry in entries(restart_node):
        restart[entry.key] = scalar_text(entry.value) or ""
    if restart_node is not None:
        places["restart_policy"] = position(restart_node)
    mounts = (
        _volumes(get("volumes"))
        + _tmpfs(get("tmpfs"))
        + _configs(get("configs"), _top_level(doc, "configs", "file"))
    )
    return StackInfo(
        path=path,
        service=name,
        image=scalar_text(image_node) or "",
        ports=tuple(_ports(get("ports"))),
        mounts=tuple(mounts),
        environment=environment,
        labels=labels,
        volume_drivers={k: v or "local" for k, v in _top_level(doc, "volumes", "driver").items()},
        restart_policy=restart,
        places=places,
    )


def read_stack(path: str | Path, service: str | None = None) -> StackInfo:
    """Read a stack file; YamlReadError for a missing file, bad YAML or no registry service."""
    return load_stack(read_text(path, code_prefix=CODE), path=str(path), service=service)


# --------------------------------------------------------------------------- the lint


def lint_stack(
    stack: StackInfo,
    config: RegistryConfig | None = None,
    *,
    registry_version: str | RegistryVersion | None = None,
) -> list[Finding]:
    """Findings on the registry's service; cross-checks with ``config`` when given.

    The version is ``registry_version`` if given, else the image tag's; the
    config-path check is skipped when neither names one (a custom image).
    """
    findings: list[Finding] = []

    def add(
        severity: Severity,
        code: str,
        message: str,
        fix: str,
        *,
        key: str = "",
        at: tuple[int | None, int | None] = (None, None),
    ) -> None:
        line, column = at
        if line is None:
            line, column = stack.where("service")
        findings.append(
            Finding(severity, f"{CODE}/{code}", message, fix, stack.path, line, column, key)
        )

    version = parse_version(registry_version) or stack.version
    _check_image(stack, add)
    _check_config_mount(stack, version, add)
    _check_storage(stack, config, add)
    _check_ports(stack, config, add)
    _check_labels_and_environment(stack, config, add)
    _check_restart(stack, add)
    return sorted(findings, key=lambda f: (f.line or 0, f.column or 0))


def _check_image(stack: StackInfo, add: Add) -> None:
    tag = stack.image_tag
    if stack.image and tag in ("", "latest"):
        add(
            Severity.WARNING,
            "image-unpinned",
            f"image {stack.image!r} follows the newest major release (3.x, which reads "
            "/etc/distribution/config.yml and has other keys): an update can silently swap "
            "the config path and the config format",
            "pin the major version: image: registry:2 or registry:3",
            key="image",
            at=stack.where("image"),
        )


def _check_config_mount(stack: StackInfo, version: RegistryVersion | None, add: Add) -> None:
    mount = stack.config_mount
    overridden = "REGISTRY_PROXY_REMOTEURL" in stack.environment
    if mount is None:
        if not overridden:
            add(
                Severity.ERROR,
                "config-not-mounted",
                f"service {stack.service!r} mounts no config.yml: the image's built-in config "
                "runs, a plain registry without proxy, NOT a mirror",
                f"mount the config file at {config_path_for(version)}",
                key="volumes",
            )
        return
    if version is None:
        return
    expected = config_path_for(version)
    if mount.target != expected:
        add(
            Severity.ERROR,
            "config-path",
            f"the config is mounted at {mount.target} but registry:{version.major} "
            f"(distribution {version}) reads {expected}: the image's built-in config runs "
            "instead, a plain registry without proxy, NOT a mirror",
            f"mount {mount.source or 'the config'} at {expected}",
            key="volumes",
            at=(mount.line, mount.column),
        )


def _check_storage(stack: StackInfo, config: RegistryConfig | None, add: Add) -> None:
    rootdirectory = config.rootdirectory if config is not None else DEFAULT_ROOTDIRECTORY
    if rootdirectory is None:  # not the filesystem driver: nothing to mount
        return
    mount = stack.mount_for(rootdirectory)
    if mount is None:
        add(
            Severity.ERROR,
            "storage-not-mounted",
            f"storage rootdirectory {rootdirectory} is on no volume of service "
            f"{stack.service!r}: the image's anonymous volume goes with the task, so every "
            "redeploy or move to another node starts with an empty cache",
            f"mount persistent shared storage there: - /var/data/registry/data:{rootdirectory}",
            key="volumes",
        )
        return
    at = (mount.line, mount.column)
    if not mount.persistent:
        add(
            Severity.ERROR,
            "storage-not-persistent",
            f"storage rootdirectory {rootdirectory} is on a {mount.kind} mount: the cache is "
            "lost when the task restarts or moves",
            f"mount a host path on shared storage there: - /var/data/registry/data:{rootdirectory}",
            key="volumes",
            at=at,
        )
    elif mount.kind == "volume" and stack.volume_drivers.get(mount.source, "local") == "local":
        add(
            Severity.WARNING,
            "storage-node-local",
            f"storage rootdirectory {rootdirectory} is on volume {mount.source!r} with the local "
            "driver: it lives on one node, and when swarm moves the task the cache starts empty",
            "bind-mount a directory on shared storage (e.g. /var/data/registry/data), or use a "
            "volume driver that every node shares",
            key="volumes",
            at=at,
        )
    if mount.read_only:
        add(
            Severity.ERROR,
            "storage-read-only",
            f"storage rootdirectory {rootdirectory} is mounted read-only: the mirror cannot "
            "store what it fetches, so every pull goes upstream",
            "drop ':ro' from the data volume",
            key="volumes",
            at=at,
        )


def _check_ports(stack: StackInfo, config: RegistryConfig | None, add: Add) -> None:
    registry_port = port_of(config.http_addr if config else None) or DEFAULT_PORT
    debug_port = port_of(config.debug_addr) if config else None
    for port in stack.ports:
        if port.loopback_only:
            continue
        where = (
            "every swarm node (ingress routing mesh)"
            if port.mode == "ingress"
            else ("the node running the task")
        )
        published = port.published if port.published is not None else "a random port"
        if port.target == registry_port:
            add(
                Severity.WARNING,
                "port-published",
                f"the registry's plaintext port {port.target} is published as {published} on "
                f"{where}: clients can reach the mirror around the TLS proxy",
                f"remove the ports entry '{published}:{port.target}'; the TLS proxy reaches the "
                "service over the shared network",
                key="ports",
                at=(port.line, port.column),
            )
        elif debug_port is not None and port.target == debug_port:
            add(
                Severity.WARNING,
                "debug-port-published",
                f"the debug port {port.target} (pprof, /debug/vars) is published on {where}",
                "remove that ports entry; read /debug/vars from inside the network",
                key="ports",
                at=(port.line, port.column),
            )


def _check_labels_and_environment(
    stack: StackInfo, config: RegistryConfig | None, add: Add
) -> None:
    registry_port = port_of(config.http_addr if config else None) or DEFAULT_PORT
    for key, value in stack.labels.items():
        at = stack.where(f"labels.{key}")
        placeholder = PLACEHOLDER.search(value)
        if placeholder:
            add(
                Severity.ERROR,
                "placeholder",
                f"label {key} still holds the placeholder {placeholder.group(0)!r}: "
                "the TLS proxy routes no real host name to the mirror",
                "replace it with the mirror's FQDN (the name in the nodes' registry-mirrors)",
                key=f"labels.{key}",
                at=at,
            )
        port = value.strip()
        if TRAEFIK_PORT_LABEL.match(key) and port.isdigit() and int(port) != registry_port:
            add(
                Severity.ERROR,
                "traefik-port-mismatch",
                f"label {key}={port} sends traffic to port {port}, but the registry "
                f"listens on {registry_port} (http.addr)",
                f"set {key}={registry_port}",
                key=f"labels.{key}",
                at=at,
            )
    overrides = sorted(k for k in stack.environment if k.startswith("REGISTRY_"))
    for key in overrides:
        add(
            Severity.WARNING,
            "env-override",
            f"environment {key} overrides the config file's "
            f"{key.removeprefix('REGISTRY_').lower().replace('_', '.')}; a lint of the file "
            "alone does not see this value",
            "keep mirror settings in config.yml, or lint with the environment in mind",
            key=f"environment.{key}",
            at=stack.where(f"environment.{key}"),
        )


def _check_restart(stack: StackInfo, add: Add) -> None:
    policy = stack.restart_policy
    condition = str(policy.get("condition", "any"))
    attempts = str(policy.get("max_attempts", "") or "")
    if condition == "none" or (attempts.isdigit() and int(attempts) > 0):
        said = "never restarts" if condition == "none" else f"gives up after {attempts} restarts"
        add(
            Severity.WARNING,
            "restart-gives-up",
            f"the service {said}, but a proxy registry panics at start while upstream is "
            "unreachable (limitation panic-at-start-upstream-unreachable): after an outage "
            "the mirror stays down",
            "use restart_policy condition any (or on-failure) without max_attempts",
            key="deploy.restart_policy",
            at=stack.where("restart_policy"),
        )

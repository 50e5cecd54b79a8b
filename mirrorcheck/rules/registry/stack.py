"""The registry service of a swarm stack / compose file, as a small plain object.

``read_stack`` answers what other checks ask of a deployment: which image
runs, which ports are published, and which host path or volume sits behind
each container path ("is the storage rootdirectory on a volume?", "is port
5000 published?"). The stack lint (:mod:`mirrorcheck.rules.registry.stack_lint`)
and the lab judge this object.

Usage::

    from mirrorcheck.rules.registry.stack import read_stack

    stack = read_stack("registry.yml")          # YamlReadError on bad input
    stack.image                                  # "registry:2"
    stack.version                                # RegistryVersion(2, 0, 0)
    stack.publishes(5000)                        # True
    stack.host_path_for("/var/lib/registry")     # "/var/data/registry/registry-mirror-data"
    stack.config_mount.source                    # the host file (or folder) mounted for the config
    stack.config_source                          # the host config.yml the registry reads, if any
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from yaml.nodes import MappingNode, Node, SequenceNode

from mirrorcheck.rules import placeholder
from mirrorcheck.rules.limitations import RegistryVersion, parse_version
from mirrorcheck.rules.registry.catalog import NO_REGISTRY_SERVICE
from mirrorcheck.rules.registry.compose import (
    Mount,
    PortMapping,
    config_mounts,
    pairs_of,
    ports_of,
    tmpfs_mounts,
    volume_mounts,
)
from mirrorcheck.rules.registry.schema import (
    CONFIG_FOLDERS,
    CONFIG_PATHS,
    DEFAULT_ROOTDIRECTORY,
    config_path_for,
)
from mirrorcheck.rules.traefik.labels import Label
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

CODE = "registry-stack"
CONSEQUENCE = "docker stack deploy refuses this file"
REGISTRY_IMAGE_NAMES = ("registry", "distribution")


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
    # Each label as written, ``deploy`` (the service's) or ``container``: Traefik tells them apart.
    label_entries: tuple[Label, ...] = ()
    networks: tuple[str, ...] = ()

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
        """The mount of the registry's config file or its folder, at whichever path it was put."""
        expected = config_path_for(self.version)
        known = {row.path for row in CONFIG_PATHS} | set(CONFIG_FOLDERS)
        exact = [m for m in self.mounts if config_target(m) == expected]
        other = [
            m
            for m in self.mounts
            if m.target.rstrip("/") in known or m.target.endswith("config.yml")
        ]
        return (exact or other or [None])[0]

    @property
    def config_source(self) -> str | None:
        """The host file the registry reads as its config; ``None`` when the stack names none.

        A folder mounted at the config folder (``/etc/docker/registry``,
        ``/etc/distribution``) is read as that folder's ``config.yml``; a
        relative path is taken from the stack file's folder, as
        ``docker stack deploy`` does. A named volume has no host file here.
        """
        mount = self.config_mount
        if mount is None or mount.kind not in ("bind", "config") or not mount.source:
            return None
        source = mount.source
        if mount.target.rstrip("/") in CONFIG_FOLDERS:
            source = source.rstrip("/") + "/config.yml"
        if not PurePosixPath(source).is_absolute():
            source = str(Path(self.path).parent / source)
        return source

    @property
    def data_mount(self) -> Mount | None:
        return self.mount_for(DEFAULT_ROOTDIRECTORY)

    def where(self, name: str) -> tuple[int | None, int | None]:
        return self.places.get(name, (None, None))


def config_target(mount: Mount) -> str:
    """The config file a mount puts in the container: a folder's ``config.yml``, else the target."""
    target = mount.target.rstrip("/")
    return f"{target}/config.yml" if target in CONFIG_FOLDERS else mount.target


def split_image(image: str) -> tuple[str, str]:
    """An image reference split into repository and tag (``""`` when it has none).

    ``docker.io/library/registry:2.8.3@sha256:..`` -> (``docker.io/library/registry``, ``2.8.3``)
    """
    name = image.split("@", 1)[0]
    head, sep, tag = name.rpartition(":")
    if sep and "/" not in tag:
        return head, tag
    return name, ""


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
    wanted = f"service {service!r}" if service else "registry service"
    raise YamlReadError(
        NO_REGISTRY_SERVICE.finding(
            f"found no {wanted} (services: {', '.join(named) or 'none'}); nothing to check",
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
    label_entries: list[Label] = []
    for placement, source in (("container", get("labels")), ("deploy", get("deploy", "labels"))):
        for key, (value, where) in pairs_of(source).items():
            labels[key] = value
            places[f"labels.{key}"] = position(where)
            label_entries.append(Label(key, value, placement, *position(where)))
    environment = {}
    for key, (value, where) in pairs_of(get("environment")).items():
        environment[key] = value
        places[f"environment.{key}"] = position(where)
    restart: dict[str, object] = {}
    restart_node = get("deploy", "restart_policy")
    for entry in entries(restart_node):
        restart[entry.key] = scalar_text(entry.value) or ""
    if restart_node is not None:
        places["restart_policy"] = position(restart_node)
    mounts = (
        volume_mounts(get("volumes"))
        + tmpfs_mounts(get("tmpfs"))
        + config_mounts(get("configs"), _top_level(doc, "configs", "file"))
    )
    return StackInfo(
        path=path,
        service=name,
        image=scalar_text(image_node) or "",
        ports=tuple(ports_of(get("ports"))),
        mounts=tuple(mounts),
        environment=environment,
        labels=labels,
        volume_drivers={k: v or "local" for k, v in _top_level(doc, "volumes", "driver").items()},
        restart_policy=restart,
        places=places,
        label_entries=tuple(label_entries),
        networks=tuple(_network_names(get("networks"))),
    )


def _network_names(node: Node | None) -> list[str]:
    """A service's ``networks``: a list of names or a mapping keyed by name."""
    if isinstance(node, SequenceNode):
        return [name for name in (scalar_text(item) for item in node.value) if name]
    return [entry.key for entry in entries(node)]


def read_stack(
    path: str | Path, service: str | None = None, mirror_fqdn: str | None = None
) -> StackInfo:
    """Read a stack file; YamlReadError for a missing file, bad YAML or no registry service.

    ``mirror_fqdn``: fills the guide's placeholder for the mirror's name first, as the suites do.
    """
    text = read_text(path, code_prefix=CODE)
    if mirror_fqdn:
        text = placeholder.fill(text, mirror_fqdn)
    return load_stack(text, path=str(path), service=service)

"""A compose service's ports, volumes, tmpfs and configs, read as plain records.

Both syntaxes of the compose specification are read: short (``"5000:5000"``,
``"/data:/var/lib/registry:ro"``) and long (``{target: 5000, published: 5000}``).

Usage::

    from mirrorcheck.rules.registry.compose import ports_of, volume_mounts

    ports_of(service_ports_node)      # [PortMapping(target=5000, published=5000, ...)]
    volume_mounts(volumes_node)       # [Mount(source="/data", target="/var/lib/registry", ...)]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mirrorcheck.text.yaml_source import entries, position, scalar_text

LOOPBACK = ("127.", "::1", "localhost")


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


def pairs_of(node: Node | None) -> dict[str, tuple[str, Node]]:
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


def ports_of(node: Node | None) -> list[PortMapping]:
    """A service's ``ports`` list, short and long syntax; unreadable entries are left out."""
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


def volume_mounts(node: Node | None) -> list[Mount]:
    """A service's ``volumes`` list: bind mounts, named and anonymous volumes."""
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


def tmpfs_mounts(node: Node | None) -> list[Mount]:
    """A service's ``tmpfs`` (one path or a list) as tmpfs mounts."""
    items = node.value if isinstance(node, SequenceNode) else [node] if node is not None else []
    mounts = []
    for item in items:
        text = scalar_text(item)
        if text:
            line, column = position(item)
            mounts.append(Mount("", text.split(":", 1)[0], "tmpfs", False, line, column))
    return mounts


def config_mounts(node: Node | None, files: Mapping[str, str]) -> list[Mount]:
    """A service's swarm ``configs``; ``files`` maps a config's name to its file."""
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

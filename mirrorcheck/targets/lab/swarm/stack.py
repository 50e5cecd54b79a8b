"""The user's stack file, made deployable on the lab's swarm: what the host forces, nothing more.

The stack is deployed as written (environment, volumes, configs, labels), in
a copy that differs only where this host cannot do what the stack asks, or
where the lab must reach inside:

- ports published through the ingress routing mesh are published in host
  mode (``mode: host``): the mesh needs IPVS, which this host's kernel lacks
  (FINDINGS "Swarm inside the lab"); the file format becomes 3.2 if older,
  the first to read the long port syntax;
- the registry service gets Docker Hub's names pinned to the lab's stand-in
  (``extra_hosts``): a task's resolver cannot see the lab's network names;
- the registry's debug server port (set by the lab) is published in host
  mode, so that its counters can be read from the host.

Each change is one line in ``PreparedStack.substitutions``, with its reason;
every report carries them.

Usage::

    prepared = prepare_stack(text, "examples/registry-stack.yml", fqdn="mirror.test",
                             hub_address="172.18.0.2", debug_port=5001)
    prepared.text                 # the YAML to `docker stack deploy -c`
    prepared.substitutions        # ["ports of registry-mirror: 5000:5000 ... host mode (...)"]
    prepared.external_networks    # ["traefik_public"]: created (attachable overlay) before deploy
    prepared.bind_sources         # host paths the tasks mount: on the shared storage
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from mirrorcheck.rules.registry.stack import StackInfo, load_stack
from mirrorcheck.targets.lab.certs import DOCKER_HUB_NAMES
from mirrorcheck.text.yaml_source import YamlReadError

# The guide's placeholders for the mirror's name (the example stack and daemon.json).
FQDN_PLACEHOLDERS = ("<your mirror FQDN>", "<your registry mirror FQDN>")
LONG_PORTS_VERSION = (3, 2)  # compose file format 3.2: the long port syntax
STACK_DIR = "/srv/mirrorcheck-stack"  # where the copy is written on the manager
# Log drivers a lab node runs (no journal, no syslog or log server there).
LAB_LOG_DRIVERS = ("json-file", "local", "none")
NO_IPVS = "the ingress routing mesh needs IPVS, which this host's kernel lacks"


class StackError(ValueError):
    """The stack cannot be deployed as given; the message names the file and the fix."""


@dataclass
class PreparedStack:
    """The stack to deploy, what was changed in it, and what must exist before deploy."""

    text: str
    registry_service: str
    registry: StackInfo
    substitutions: list[str] = field(default_factory=list)
    external_networks: list[str] = field(default_factory=list)
    bind_sources: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    config_files: dict[str, str] = field(default_factory=dict)  # swarm config name -> file path

    @property
    def config_source(self) -> str | None:
        """The host file the registry reads as its config (absolute); None when none is named."""
        source = self.registry.config_source
        if source is None:
            return None
        return str(PurePosixPath(STACK_DIR) / source) if not source.startswith("/") else source


def fill_placeholders(text: str, fqdn: str) -> str:
    """The guide's FQDN placeholders replaced by ``fqdn``."""
    for placeholder in FQDN_PLACEHOLDERS:
        text = text.replace(placeholder, fqdn)
    return text


def _version(value: object) -> tuple[int, int] | None:
    parts = str(value or "").split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None


def host_mode_port(entry: object) -> dict[str, Any] | None:
    """A port published through the routing mesh, as the same port in host mode; else None.

    Short syntax ``[ip:]published:target[/protocol]`` (single ports) and long
    syntax without ``mode`` or with ``mode: ingress`` are converted; a port
    published on no fixed host port gets its target as published port. Port
    ranges and already host-mode ports give None (left as written).
    """
    if isinstance(entry, dict):
        if entry.get("mode", "ingress") != "ingress" or "target" not in entry:
            return None
        return {
            **entry,
            "published": entry.get("published", entry["target"]),
            "mode": "host",
        }
    text = str(entry)
    spec, _, protocol = text.partition("/")
    parts = spec.split(":")
    target, published = parts[-1], parts[-2] if len(parts) >= 2 else parts[-1]
    if not (target.isdigit() and published.isdigit()):
        return None
    port: dict[str, Any] = {"target": int(target), "published": int(published), "mode": "host"}
    if protocol:
        port["protocol"] = protocol
    return port


def _external_name(name: str, network: object) -> str | None:
    if not isinstance(network, dict):
        return None
    external = network.get("external")
    if isinstance(external, dict):
        return str(external.get("name") or network.get("name") or name)
    if external in (True, "true", "yes"):
        return str(network.get("name") or name)
    return None


def _bind_sources(service: dict[str, Any]) -> list[str]:
    sources = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type") == "bind" and volume.get("source"):
                sources.append(str(volume["source"]))
        else:
            source, sep, _ = str(volume).partition(":")
            if sep and (source.startswith((".", "/", "~")) or "/" in source):
                sources.append(source)
    return [s if s.startswith("/") else str(PurePosixPath(STACK_DIR) / s) for s in sources]


def _format_port(entry: object) -> str:
    if isinstance(entry, dict):
        return f"{entry.get('published', '')}:{entry.get('target')}"
    return str(entry)


def prepare_stack(
    text: str,
    source: str,
    *,
    fqdn: str,
    hub_address: str,
    debug_port: int | None = None,
) -> PreparedStack:
    """The stack to deploy on the lab's swarm, each change recorded with its reason.

    ``text`` is the stack file as given (``source`` names it in messages);
    ``fqdn`` fills the guide's placeholder; ``hub_address`` is Docker Hub's
    stand-in's address, pinned for the registry service; ``debug_port`` (the
    registry's debug server, set by the lab) is published in host mode.
    What the lab's nodes force on every stack is ``host_forced``'s, at deploy.
    Raises StackError (file:line:column, the fix) for a file the lab cannot
    read or one without a registry service.
    """
    filled = fill_placeholders(text, fqdn)
    try:
        registry = load_stack(filled, path=source)
    except YamlReadError as error:
        raise StackError(error.finding.render()) from None
    document = yaml.safe_load(filled)
    services: dict[str, Any] = document.get("services") or {}
    changes: list[str] = []
    long_ports = False
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        converted, moved = [], []
        for entry in service.get("ports") or []:
            host = host_mode_port(entry)
            converted.append(host if host is not None else entry)
            if host is not None:
                moved.append(_format_port(entry))
        if moved:
            service["ports"] = converted
            long_ports = True
            changes.append(
                f"ports {', '.join(moved)} of service {name}: published in host mode on the "
                f"node that runs the task, not through the ingress routing mesh ({NO_IPVS})"
            )
    service = services[registry.service]
    hosts = service.get("extra_hosts")
    pinned = [f"{name}:{hub_address}" for name in DOCKER_HUB_NAMES]
    if isinstance(hosts, dict):
        service["extra_hosts"] = {**hosts, **{n: hub_address for n in DOCKER_HUB_NAMES}}
    else:
        service["extra_hosts"] = [*(hosts or []), *pinned]
    changes.append(
        f"extra_hosts of service {registry.service}: Docker Hub's names -> the lab's stand-in "
        f"{hub_address} (a swarm task's resolver cannot see the lab's network names)"
    )
    if debug_port is not None:
        service["ports"] = [
            *(service.get("ports") or []),
            {"target": debug_port, "published": debug_port, "mode": "host"},
        ]
        long_ports = True
        changes.append(
            f"port {debug_port} of service {registry.service}: published in host mode for the "
            f"registry's debug server (http.debug.addr, set by the lab), to read its counters"
        )
    version = _version(document.get("version"))
    if long_ports and version is not None and version < LONG_PORTS_VERSION:
        document["version"] = "3.2"
        changes.append(
            f"version {document_version(filled)} -> 3.2: the first compose format with the long "
            "port syntax that host-mode publishing needs"
        )
    networks = document.get("networks") or {}
    external = [
        found
        for name, network in networks.items()
        if (found := _external_name(name, network)) is not None
    ]
    bind_sources = [
        s for svc in services.values() if isinstance(svc, dict) for s in _bind_sources(svc)
    ]
    configs = {
        name: str(entry.get("file"))
        for name, entry in (document.get("configs") or {}).items()
        if isinstance(entry, dict) and entry.get("file")
    }
    images = sorted(
        {str(s.get("image")) for s in services.values() if isinstance(s, dict) and s.get("image")}
    )
    return PreparedStack(
        text=yaml.safe_dump(document, sort_keys=False),
        registry_service=registry.service,
        registry=registry,
        substitutions=changes,
        external_networks=external,
        bind_sources=sorted(set(bind_sources)),
        images=images,
        config_files=configs,
    )


def host_forced(text: str, stack: str, *, node_log_driver: str = "") -> tuple[str, list[str]]:
    """What the lab's nodes force on any stack deployed there: the copy, and one line per change.

    ``node_log_driver`` is the nodes' default log driver (daemon.json
    ``log-driver``): one the lab's nodes cannot run (``LAB_LOG_DRIVERS`` lists
    those they can) becomes ``json-file`` for every service that names none.
    ``stack`` names the stack in the lines.
    """
    document = yaml.safe_load(text)
    services = document.get("services") or {}
    changes: list[str] = []
    if node_log_driver and node_log_driver not in LAB_LOG_DRIVERS:
        plain = [
            n for n, svc in services.items() if isinstance(svc, dict) and not svc.get("logging")
        ]
        for name in plain:
            services[name]["logging"] = {"driver": "json-file"}
        if plain:
            changes.append(
                f"logging of {', '.join(plain)} ({stack}): json-file instead of the nodes' "
                f"default {node_log_driver} (daemon.json log-driver), which the lab's nodes "
                "cannot run (no systemd journal or log server in them)"
            )
    if not changes:
        return text, changes
    return yaml.safe_dump(document, sort_keys=False), changes


def document_version(text: str) -> str:
    """The stack's ``version`` as written (``"3"``), or ``"(none)"``."""
    value = (yaml.safe_load(text) or {}).get("version")
    return str(value) if value is not None else "(none)"


def shared_mounts(bind_sources: list[str]) -> list[str]:
    """The node paths under which the shared storage is mounted, covering every bind source.

    Each source's parent folder (a file or folder is made there), except
    where the parent is a top-level folder (``/var``, ``/data``): then the
    source itself. Folders inside another listed folder are left out.
    """
    wanted = []
    for source in bind_sources:
        path = PurePosixPath(source)
        wanted.append(path.parent if len(path.parent.parts) > 2 else path)
    wanted.sort(key=lambda p: len(p.parts))
    kept: list[PurePosixPath] = []
    for path in wanted:
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return [str(p) for p in kept]


def lay_out_shared(prepared: PreparedStack, shared_dir: Path, config_text: str) -> None:
    """The shared disk under ``shared_dir``: every bind source a folder, the config a file.

    The registry's config file (``prepared.config_source``) gets ``config_text``.
    """
    shared_dir.mkdir(parents=True, exist_ok=True)
    for source in prepared.bind_sources:
        target = shared_dir / source.lstrip("/")
        if source == prepared.config_source:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(config_text)
        else:
            target.mkdir(parents=True, exist_ok=True)

"""From settings to a LabSpec: which files the lab runs and in what shape.

Usage::

    spec = lab_spec(settings, images, RunLabels.for_this_process())
"""

from __future__ import annotations

from mirrorcheck.options import topology_problems
from mirrorcheck.rules.registry.stack import load_stack
from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.certs import Variant
from mirrorcheck.targets.lab.images.supply import (
    ImageSupply,
    ImageSupplyError,
    engine_or_explain,
    node_key,
)
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.nodes import HOSTS_TOML_PATH, hosts_toml
from mirrorcheck.targets.lab.topology import LabSpec
from mirrorcheck.text.yaml_source import YamlReadError
from mirrorcheck.versions import engine_for_node, engine_problems, split_engines


def stack_keeps_storage(stack_text: str, storage_root: str, source: str = "stack file") -> bool:
    """Whether the stack's registry service keeps its storage root on a persistent mount.

    Persistent is a bind mount or a named volume, as the stack lint judges it;
    a stack the lint cannot read (bad YAML, no registry service) keeps the
    lab's default, persistent storage, and the lint reports the file.
    """
    try:
        stack = load_stack(stack_text, path=source)
    except YamlReadError:
        return True
    mount = stack.mount_for(storage_root)
    return mount is not None and mount.persistent


def engine_images_problem(engines: list[str], node_count: int, images: dict[str, str]) -> str:
    """Which nodes' engines have no node image in ``images``, with the fix; "" when all have."""
    missing = sorted(
        {
            engine_for_node(engines, i)
            for i in range(1, node_count + 1)
            if node_key(engine_for_node(engines, i)) not in images
        }
    )
    if not missing:
        return ""
    return (
        f"no node image for Engine {', '.join(missing)}. Fix: run `mirrorcheck images build` "
        "(it builds every engine's node image offline from Debian's packages)"
    )


def with_engine_images(settings: Settings, images: dict[str, str]) -> dict[str, str]:
    """``images`` with the node image of every engine ``--engine`` names, found or built.

    Raises ValueError with the fix when one cannot be had.
    """
    try:
        supply = ImageSupply(engine_or_explain(), overrides=settings.image_overrides)
        found = {**images, **supply.resolve_all(split_engines(settings.engines))}
    except ImageSupplyError as error:
        raise ValueError(str(error)) from None
    missing = engine_images_problem(settings.engines, settings.node_count, found)
    if missing:
        raise ValueError(missing)
    return found


def lab_spec(
    settings: Settings, images: dict[str, str], labels: RunLabels, name_prefix: str = ""
) -> LabSpec:
    """The lab that runs the files under test, as the settings name them.

    Node images of engines missing from ``images`` are found or built here.
    Raises ValueError (with the fix) when ``--engine`` does not fit ``--nodes``
    or an engine's node image cannot be had.
    """
    engines = settings.engines
    problems = engine_problems(engines, settings.image_store, settings.node_count)
    if problems:
        raise ValueError("; ".join(problems))
    if engine_images_problem(engines, settings.node_count, images):
        images = with_engine_images(settings, images)
    # Nodes added later (the checks' extra nodes) run node-1's engine.
    images = {**images, "node": images[node_key(engine_for_node(engines, 1))]}
    registry_config = settings.registry_config_text()
    # Unrunnable YAML stops here with file:line:column, before anything starts.
    config = registry_configs.parse_config(registry_config, str(settings.registry_config_path))
    persistent = True
    root = config.rootdirectory
    stack = ""
    if settings.stack_file_path is not None:
        stack = settings.read(settings.stack_file_path, "stack-file").decode("utf-8", "replace")
    if stack and root:
        persistent = stack_keeps_storage(stack, root, str(settings.stack_file_path))
    if settings.topology == "swarm" and not stack:
        raise ValueError(
            "--topology swarm deploys the stack file, and none was given. Fix: give "
            "--stack-file (the reference: examples/registry-stack.yml)"
        )
    faults = settings.lab_faults
    problems = topology_problems(settings.topology, faults, settings.values["traefik-config"])
    if problems:
        raise ValueError(problems[0])
    certificate = next(
        (Variant(f.removeprefix("cert-")) for f in faults if f.startswith("cert-")),
        Variant.HEALTHY,
    )
    return LabSpec(
        images=images,
        registry_config=registry_config,
        registry_config_source=str(settings.registry_config_path),
        daemon_json=settings.daemon_json_bytes(),
        daemon_json_source=str(settings.daemon_json_path),
        fqdn=settings.mirror_fqdn,
        node_count=settings.node_count,
        persistent_mirror_storage=persistent and "mirror-storage-ephemeral" not in faults,
        certificate=certificate,
        proxy_plaintext="proxy-plaintext" in faults,
        last_node_without_ca="node-without-ca" in faults,
        run_labels=labels,
        name_prefix=name_prefix,
        probe_image=settings.probe_image,
        max_pulls=settings.max_pulls,
        engines=engines,
        image_store=settings.image_store,
        topology=settings.topology,
        stack_text=stack,
        stack_source=str(settings.stack_file_path or ""),
        traefik_config=str(settings.traefik_config_path) if settings.traefik_config_path else None,
        # containerd's hosts.toml with hosts of its own: the daemon.json mirrors are ignored.
        node_files=(
            {HOSTS_TOML_PATH: hosts_toml("https://elsewhere.test", "https://second.test")}
            if "node-hosts-toml" in faults
            else {}
        ),
    )

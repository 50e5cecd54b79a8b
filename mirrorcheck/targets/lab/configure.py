"""From settings to a LabSpec: which files the lab runs and in what shape.

Usage::

    spec = lab_spec(settings, images, RunLabels.for_this_process())
"""

from __future__ import annotations

import yaml

from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.certs import Variant
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.topology import LabSpec


def stack_keeps_storage(stack_text: str, storage_root: str) -> bool:
    """Whether the stack mounts something at the registry's storage root (survives a restart)."""
    try:
        services = (yaml.safe_load(stack_text) or {}).get("services") or {}
    except yaml.YAMLError:
        return True  # the stack lint reports a broken file; the lab keeps the default
    for service in services.values():
        for volume in (service or {}).get("volumes") or []:
            target = (
                volume.get("target") if isinstance(volume, dict) else str(volume).split(":")[1:2]
            )
            target = target[0] if isinstance(target, list) and target else target
            if str(target).rstrip("/") == storage_root.rstrip("/"):
                return True
    return False


def lab_spec(
    settings: Settings, images: dict[str, str], labels: RunLabels, name_prefix: str = ""
) -> LabSpec:
    """The lab that runs the files under test, as the settings name them."""
    registry_config = settings.registry_config_text()
    # Unrunnable YAML stops here with file:line:column, before anything starts.
    registry_configs.load_mapping(registry_config, str(settings.registry_config_path))
    persistent = True
    root = registry_configs.storage_root(registry_config)
    if settings.stack_file_path is not None and root:
        stack = settings.read(settings.stack_file_path, "stack-file").decode("utf-8", "replace")
        persistent = stack_keeps_storage(stack, root)
    faults = settings.lab_faults
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
    )

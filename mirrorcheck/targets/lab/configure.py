"""From settings to a LabSpec: which files the lab runs and in what shape.

Usage::

    spec = lab_spec(settings, images, RunLabels.for_this_process())
"""

from __future__ import annotations

from mirrorcheck.rules.registry.stack import load_stack
from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.certs import Variant
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.topology import LabSpec
from mirrorcheck.text.yaml_source import YamlReadError


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


def lab_spec(
    settings: Settings, images: dict[str, str], labels: RunLabels, name_prefix: str = ""
) -> LabSpec:
    """The lab that runs the files under test, as the settings name them."""
    registry_config = settings.registry_config_text()
    # Unrunnable YAML stops here with file:line:column, before anything starts.
    config = registry_configs.read_mirror_config(
        registry_config, str(settings.registry_config_path)
    )
    persistent = True
    root = config.rootdirectory
    if settings.stack_file_path is not None and root:
        stack = settings.read(settings.stack_file_path, "stack-file").decode("utf-8", "replace")
        persistent = stack_keeps_storage(stack, root, str(settings.stack_file_path))
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

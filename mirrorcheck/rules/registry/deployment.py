"""The registry's config and the stack that runs it, judged together.

Judged alone, the config is read against distribution 2.8 and the stack
against distribution's defaults. Together, the config is read against the
version of the stack's image with the service's ``REGISTRY_*`` environment
applied over it (as distribution does), and the stack against that config's
storage rootdirectory, ports and debug server.

Usage::

    from mirrorcheck.rules.registry.deployment import lint_deployment

    for finding in lint_deployment("config.yml", "registry.yml"):
        print(finding.render())
"""

from __future__ import annotations

from pathlib import Path

from mirrorcheck.findings import Finding
from mirrorcheck.rules.limitations import RegistryVersion, parse_version
from mirrorcheck.rules.registry.catalog import CONFIG_FOLDER_UNSEEN
from mirrorcheck.rules.registry.config import RegistryConfig, read_config
from mirrorcheck.rules.registry.config_lint import DEFAULT_VERSION, lint_config
from mirrorcheck.rules.registry.environment import effective_config, settings_of
from mirrorcheck.rules.registry.schema import DOCKER_HUB_REMOTEURL
from mirrorcheck.rules.registry.stack import StackInfo, config_target, read_stack
from mirrorcheck.rules.registry.stack_lint import lint_stack
from mirrorcheck.text.yaml_source import YamlReadError


def lint_config_and_stack(
    config: RegistryConfig,
    stack: StackInfo | None,
    *,
    registry_version: str | RegistryVersion | None = None,
    mount_target: str | None = None,
    expected_remoteurl: str = DOCKER_HUB_REMOTEURL,
) -> list[Finding]:
    """The config's findings, then the stack's (judged with the config) when there is one.

    Without ``registry_version`` the version comes from the stack's image tag,
    else 2.8. ``mount_target`` and ``expected_remoteurl`` are as for
    :func:`~mirrorcheck.rules.registry.config_lint.lint_config`.
    """
    version = parse_version(registry_version) if registry_version else None
    if version is None and stack is not None:
        version = stack.version
    if stack is not None:
        # distribution applies the service's REGISTRY_* environment over the file.
        config = effective_config(config, settings_of(stack), version or DEFAULT_VERSION)
    findings = lint_config(
        config,
        registry_version=version or DEFAULT_VERSION,
        mount_target=mount_target,
        expected_remoteurl=expected_remoteurl,
    )
    if stack is not None:
        findings += lint_stack(stack, config, registry_version=version)
    return findings


def lint_deployment(
    config_path: str | Path | None,
    stack_path: str | Path | None = None,
    *,
    registry_version: str | RegistryVersion | None = None,
    service: str | None = None,
    mount_target: str | None = None,
    expected_remoteurl: str = DOCKER_HUB_REMOTEURL,
    mirror_fqdn: str | None = None,
) -> list[Finding]:
    """Config lint, plus the stack lint and cross-checks when a stack file is given.

    ``mirror_fqdn`` fills the guide's placeholder for the mirror's name in the
    stack first, as the suites do (else a placeholder is a finding).

    Without ``config_path`` the config is the file the stack mounts (a
    config folder's ``config.yml``, see :attr:`StackInfo.config_source`);
    CONFIG_FOLDER_UNSEEN when the lint cannot read it. A file that cannot be
    read or parsed is one finding; an unreadable stack leaves the config
    judged alone. ValueError when neither file is given.
    """
    if config_path is None and stack_path is None:
        raise ValueError("lint_deployment needs a config file, a stack file, or both")
    stack = None
    unreadable: list[Finding] = []
    if stack_path is not None:
        try:
            stack = read_stack(stack_path, service=service, mirror_fqdn=mirror_fqdn)
        except YamlReadError as err:
            unreadable.append(err.finding)
    if config_path is None:
        config_path = stack.config_source if stack is not None else None
        if config_path is None or not Path(config_path).is_file():
            return unreadable + (_unseen(stack, config_path) if stack is not None else [])
    try:
        config = read_config(config_path)
    except YamlReadError as err:
        return [err.finding, *unreadable]
    findings = lint_config_and_stack(
        config,
        stack,
        registry_version=registry_version,
        mount_target=mount_target,
        expected_remoteurl=expected_remoteurl,
    )
    return findings + unreadable


def _unseen(stack: StackInfo, source: str | Path | None) -> list[Finding]:
    """The stack judged with the image's config, and a warning that its own was not seen."""
    mount = stack.config_mount
    where = (mount.line, mount.column) if mount is not None else stack.where("service")
    findings = lint_stack(stack)
    if mount is None:
        return findings
    said = f"{source} does not exist here" if source else f"{mount.kind} {mount.source!r}"
    unseen = CONFIG_FOLDER_UNSEEN.finding(
        f"the registry reads its config from {config_target(mount)}, but the lint cannot read "
        f"it ({said}): the config itself is not judged",
        path=stack.path,
        line=where[0],
        column=where[1],
        key="volumes",
    )
    return [unseen, *findings]

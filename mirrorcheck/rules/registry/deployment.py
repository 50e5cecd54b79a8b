"""The registry's config and the stack that runs it, judged together.

Judged alone, the config is read against distribution 2.8 and the stack
against distribution's defaults. Together, the config is read against the
version of the stack's image, and the stack against the config's storage
rootdirectory, ports and debug server.

Usage::

    from mirrorcheck.rules.registry.deployment import lint_deployment

    for finding in lint_deployment("config.yml", "registry.yml"):
        print(finding.render())
"""

from __future__ import annotations

from pathlib import Path

from mirrorcheck.findings import Finding
from mirrorcheck.rules.limitations import RegistryVersion, parse_version
from mirrorcheck.rules.registry.config import RegistryConfig, read_config
from mirrorcheck.rules.registry.config_lint import DEFAULT_VERSION, lint_config
from mirrorcheck.rules.registry.schema import DOCKER_HUB_REMOTEURL
from mirrorcheck.rules.registry.stack import StackInfo, read_stack
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
    config_path: str | Path,
    stack_path: str | Path | None = None,
    *,
    registry_version: str | RegistryVersion | None = None,
    service: str | None = None,
    mount_target: str | None = None,
    expected_remoteurl: str = DOCKER_HUB_REMOTEURL,
) -> list[Finding]:
    """Config lint, plus the stack lint and cross-checks when a stack file is given.

    A file that cannot be read or parsed is one finding; an unreadable stack
    leaves the config judged alone.
    """
    stack = None
    unreadable: list[Finding] = []
    if stack_path is not None:
        try:
            stack = read_stack(stack_path, service=service)
        except YamlReadError as err:
            unreadable.append(err.finding)
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

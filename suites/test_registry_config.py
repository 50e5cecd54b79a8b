"""The mirror's registry config and stack file, read strictly.

The lab rewrites ``proxy.remoteurl`` to its upstream, so only this lint can
catch a mistyped Docker Hub URL; it also calls out what distribution silently
ignores (unknown keys, ``remoteUrl``, ``proxy.ttl`` on 2.8) and storage that
would not survive a restart. With a stack file the two are judged together:
the config against the version of the stack's image with the service's
``REGISTRY_*`` environment applied over it (as distribution does; a name it
would drop is a finding at its line), the stack against that config's
storage and ports.
"""

from __future__ import annotations

import pytest

from mirrorcheck.findings import Severity, errors, render_all
from mirrorcheck.rules import placeholder
from mirrorcheck.rules.registry.config import RegistryConfig, read_runnable_config
from mirrorcheck.rules.registry.config_lint import lint_config_file
from mirrorcheck.rules.registry.deployment import lint_config_and_stack
from mirrorcheck.rules.registry.stack import StackInfo, load_stack
from mirrorcheck.rules.registry.stack_lint import lint_stack
from mirrorcheck.text.yaml_source import YamlReadError


def skip_unless_named(settings, name: str) -> None:
    if not settings.file_to_check(name):
        pytest.skip(
            f"live mode cannot read the mirror's files; give --{name} FILE to lint the one "
            "you deployed"
        )


def stack_under_test(settings) -> StackInfo | None:
    """The stack file's registry service; None when no stack file is checked."""
    if settings.stack_file_path is None or not settings.file_to_check("stack-file"):
        return None
    text = settings.read(settings.stack_file_path, "stack-file").decode("utf-8", "replace")
    # The reference stack is a template, like the reference daemon.json: fill its FQDN.
    text = placeholder.fill(text, settings.mirror_fqdn)
    return load_stack(text, path=str(settings.stack_file_path))


def config_under_test(settings) -> RegistryConfig | None:
    """The registry config, parsed; None when not checked here, or not a config at all
    (unreadable, not YAML, not a mapping: its own check says what is wrong)."""
    if not settings.file_to_check("registry-config"):
        return None
    try:
        return read_runnable_config(settings.registry_config_path)
    except YamlReadError:
        return None


def fail_on_errors(findings) -> None:
    """Fail with every error finding, file:line:column first, and no traceback."""
    if errors(findings):
        pytest.fail(render_all(errors(findings)), pytrace=False)


def test_registry_config_passes_the_lint(settings, record_property):
    skip_unless_named(settings, "registry-config")
    try:
        stack = stack_under_test(settings)
    except YamlReadError:
        stack = None  # the stack check names the broken stack file
    config = config_under_test(settings) if stack is not None else None
    if config is None or stack is None:
        findings = lint_config_file(settings.registry_config_path)
    else:
        findings = [
            f for f in lint_config_and_stack(config, stack) if f.code.startswith("registry-config/")
        ]
    record_property("registry_config_findings", [f.code for f in findings])
    fail_on_errors(findings)


def test_stack_file_passes_the_lint(settings, record_property):
    if settings.stack_file_path is None:
        pytest.skip("no stack file given (--stack-file)")
    skip_unless_named(settings, "stack-file")
    try:
        stack = stack_under_test(settings)
    except YamlReadError as error:
        pytest.fail(error.finding.render(), pytrace=False)
    assert stack is not None
    config = config_under_test(settings)
    if config is None:  # distribution's defaults stand in for the config
        findings = lint_stack(stack)
    else:
        findings = [
            f for f in lint_config_and_stack(config, stack) if f.code.startswith("registry-stack/")
        ]
    record_property(
        "stack_findings", [f.render() for f in findings if f.severity is not Severity.INFO]
    )
    fail_on_errors(findings)

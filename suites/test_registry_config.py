"""The mirror's registry config and stack file, read strictly.

The lab rewrites ``proxy.remoteurl`` to its upstream, so only this lint can
catch a mistyped Docker Hub URL; it also calls out what distribution silently
ignores (unknown keys, ``remoteUrl``, ``proxy.ttl`` on 2.8) and storage that
would not survive a restart.
"""

from __future__ import annotations

import re

import pytest

from mirrorcheck.findings import Severity, errors, render_all
from mirrorcheck.rules.registry.config import lint_config_file
from mirrorcheck.rules.registry.stack import lint_stack, load_stack
from mirrorcheck.text.yaml_source import YamlReadError

PLACEHOLDER = re.compile(r"<your [^<>]*FQDN>")


def skip_unless_named(settings, name: str) -> None:
    if not settings.file_to_check(name):
        pytest.skip(
            f"live mode cannot read the mirror's files; give --{name} FILE to lint the one "
            "you deployed"
        )


def test_registry_config_passes_the_lint(settings, record_property):
    skip_unless_named(settings, "registry-config")
    findings = lint_config_file(settings.registry_config_path)
    record_property("registry_config_findings", [f.code for f in findings])
    assert not errors(findings), render_all(errors(findings))


def test_stack_file_passes_the_lint(settings, record_property):
    if settings.stack_file_path is None:
        pytest.skip("no stack file given (--stack-file)")
    skip_unless_named(settings, "stack-file")
    text = settings.read(settings.stack_file_path, "stack-file").decode("utf-8", "replace")
    # The reference stack is a template, like the reference daemon.json: fill its FQDN.
    text = PLACEHOLDER.sub(settings.mirror_fqdn, text)
    try:
        stack = load_stack(text, path=str(settings.stack_file_path))
    except YamlReadError as error:
        pytest.fail(error.finding.render(), pytrace=False)
    findings = lint_stack(stack)
    record_property(
        "stack_findings", [f.render() for f in findings if f.severity is not Severity.INFO]
    )
    assert not errors(findings), render_all(errors(findings))

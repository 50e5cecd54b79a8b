"""Traefik routes the mirror's name to the registry, by the stack file's labels.

In the reference setup Traefik publishes the mirror over HTTPS, reading the
routing from the registry service's labels. Labels Traefik does not read
(on the container in swarm mode, or in Traefik 1.x syntax on Traefik 2 and 3)
leave no route, and every node then falls back to Docker Hub without a word.
"""

from __future__ import annotations

import pytest

from mirrorcheck.findings import errors, render_all
from mirrorcheck.rules.registry.config import DEFAULT_PORT, load_runnable_config
from mirrorcheck.rules.registry.stack import read_stack
from mirrorcheck.rules.traefik.lint import lint_traefik_routing
from mirrorcheck.text.yaml_source import YamlReadError


def _registry_port(settings) -> int:
    """The registry's ``http.addr`` port; its default when the config is unusable or unnamed."""
    if not settings.file_to_check("registry-config"):
        return DEFAULT_PORT
    try:
        text = settings.registry_config_text()
        return load_runnable_config(text, str(settings.registry_config_path)).listen_port
    except YamlReadError:
        return DEFAULT_PORT  # the registry config check says what is wrong with it


def test_stack_routes_the_mirror_through_traefik(settings, record_property):
    if settings.stack_file_path is None or not settings.file_to_check("stack-file"):
        pytest.skip("no stack file given: give --stack-file FILE to check its Traefik labels")
    try:
        stack = read_stack(settings.stack_file_path)
    except YamlReadError as error:
        pytest.fail(error.finding.render(), pytrace=False)
    findings = lint_traefik_routing(
        stack.label_entries,
        path=stack.path,
        service=stack.service,
        fqdn=settings.mirror_fqdn,
        registry_port=_registry_port(settings),
        networks=stack.networks,
    )
    record_property("traefik_findings", [f.render() for f in findings])
    if errors(findings):
        pytest.fail(render_all(errors(findings)), pytrace=False)

"""The Traefik routing check on stack files a user might deploy (a child pytest, no Docker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorcheck.options import EXAMPLES
from tests.suite_runner import run_suites

SUITE = "suites/test_traefik_labels.py"
CHECK = "test_stack_routes_the_mirror_through_traefik"
REFERENCE = (EXAMPLES / "registry-stack.yml").read_text()


def check_stack(tmp_path: Path, text: str):
    stack = tmp_path / "registry-stack.yml"
    stack.write_text(text)
    return run_suites(SUITE, "--stack-file", str(stack), tmp_path=tmp_path, timeout=120)


def test_the_reference_stack_with_v3_labels_under_deploy_passes(tmp_path):
    check_stack(tmp_path, REFERENCE).expect(CHECK, "passed")


def test_the_guides_verbatim_stack_fails_naming_its_1x_labels_and_the_missing_route(tmp_path):
    run = check_stack(tmp_path, (EXAMPLES / "guide" / "registry-stack.yml").read_text())
    run.expect(CHECK, "failed")
    message = run.message(CHECK)
    assert "traefik/v1-labels" in message and "traefik/no-route" in message, message


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda s: s.replace("    deploy:\n      labels:", "    labels:"),
            "traefik/container-labels",
        ),
        (
            lambda s: s.replace("<your mirror FQDN>", "registry.example.org"),
            "traefik/host-mismatch",
        ),
        (
            lambda s: s.replace("entrypoints=websecure", "entrypoints=web").replace(
                "        - traefik.http.routers.registry-mirror.tls.certresolver=main\n", ""
            ),
            "traefik/plain-entrypoint",
        ),
        (
            lambda s: s.replace("swarm.network=traefik_public", "swarm.network=backend"),
            "traefik/network-not-joined",
        ),
    ],
    ids=["labels-outside-deploy", "host-for-another-name", "web-entrypoint-only", "network"],
)
def test_a_stack_that_leaves_no_route_fails_with_its_cause(tmp_path, change, code):
    broken = change(REFERENCE)
    assert broken != REFERENCE
    run = check_stack(tmp_path, broken)
    run.expect(CHECK, "failed")
    assert code in run.message(CHECK), run.message(CHECK)

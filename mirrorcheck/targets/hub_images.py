"""Does the mirror serve an image Docker Hub holds? A registry that is not a pull-through cache
answers 404 for it, and every node falls back to Docker Hub without a word.

distribution runs as a pull-through cache only when ``proxy.remoteurl`` is set
(configuration.Proxy; the key is read in lower case only). Without it the
registry serves only what was pushed to it, and a ``GET
/v2/<name>/manifests/<tag>`` for anything else gets ``404`` with the registry
error ``MANIFEST_UNKNOWN`` (or ``NAME_UNKNOWN``; distribution API spec,
"Errors"). dockerd treats that answer from a ``registry-mirrors`` entry as a
miss and pulls from Docker Hub itself (moby registry, lookupV2Endpoints: the
mirrors are tried before Docker Hub's own endpoint), so the pull succeeds and
nothing says the mirror was useless.

One GET of a manifest, through the mirror as nodes reach it, is positive
evidence: ``ask_mirror`` judges it (``not_served``), and ``remoteurl_errors``
names the lines of the registry config under test that explain it (the lint's
own findings, so the verdict groups them with the lint check's failure). A
pull-through cache answers it by fetching the manifest upstream once, as a
node's pull would (one billable GET on each side of the lab's whole-run
account); the GET asks for an image of its own, so no check's counts move.

Usage (a plain function: works from a script or a REPL as well as under pytest)::

    from mirrorcheck.targets.hub_images import ask_mirror, remoteurl_errors, with_reasons

    problem = ask_mirror(lab.mirror_client(), "mirrorcheck/hub-image", "v1",
                         held="the lab pushed it to Docker Hub's stand-in")
    if problem:
        print(with_reasons(problem, remoteurl_errors("config.yml", "registry-stack.yml")))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mirrorcheck.findings import Finding, Severity
from mirrorcheck.probes.registry_api import (
    API_VERSION,
    API_VERSION_HEADER,
    Answer,
    RegistryClient,
    error_codes,
)
from mirrorcheck.rules.registry.catalog import (
    PROXY_MISSING,
    PROXY_REMOTEURL_CASE,
    REMOTEURL_NOT_DOCKER_HUB,
    REMOTEURL_NOT_HTTPS,
    REMOTEURL_PATH,
    REMOTEURL_UNEXPECTED,
)
from mirrorcheck.rules.registry.deployment import lint_deployment

# The registry's answers for a manifest it does not hold (distribution API spec, "Errors").
UNKNOWN_CODES = frozenset({"MANIFEST_UNKNOWN", "NAME_UNKNOWN"})
# The lint's findings that leave the registry without (the right) upstream.
REMOTEURL_CODES = frozenset(
    rule.code
    for rule in (
        PROXY_MISSING,
        PROXY_REMOTEURL_CASE,
        REMOTEURL_NOT_DOCKER_HUB,
        REMOTEURL_NOT_HTTPS,
        REMOTEURL_PATH,
        REMOTEURL_UNEXPECTED,
    )
)


def not_served(answer: Answer, held: str) -> str | None:
    """Why ``answer`` (to a GET of a manifest Docker Hub holds) shows the mirror does not serve it.

    Only the registry's own 404 counts: status 404 with ``MANIFEST_UNKNOWN``
    or ``NAME_UNKNOWN`` in its error body, or with its API version header.
    Anything else (200, 401, a proxy's own 404 page, no answer) proves
    nothing here and gives None: the checks judge it on their own evidence.
    ``held`` says how Docker Hub comes to hold the image, for the message.
    """
    if answer.status != 404:
        return None
    codes = [c for c in error_codes(answer.body) if c in UNKNOWN_CODES]
    api = answer.header(API_VERSION_HEADER)
    if not codes and api != API_VERSION:
        return None
    said = f"HTTP 404 {', '.join(codes)}" if codes else f"HTTP 404 with {API_VERSION_HEADER}: {api}"
    return (
        f"it did not serve an image Docker Hub holds ({held}): GET {answer.url} answered {said}; "
        "it is not a pull-through cache of Docker Hub, so every node's pull falls back to "
        "Docker Hub"
    )


def ask_mirror(client: RegistryClient, repository: str, tag: str, held: str) -> str | None:
    """``not_served`` on one ``GET /v2/<repository>/manifests/<tag>`` through ``client``.

    ``client`` reaches the mirror as nodes do (``Deployment.mirror_client()``);
    ``repository`` is the path a node's pull asks for (``library/busybox``).
    Raises nothing: no answer is None (nothing known).
    """
    return not_served(client.answer(f"/v2/{repository}/manifests/{tag}"), held)


def remoteurl_errors(
    config_path: str | Path, stack_path: str | Path | None = None, mirror_fqdn: str | None = None
) -> list[Finding]:
    """The lint's errors on ``proxy.remoteurl`` in the registry config (with its stack, if any).

    The config is judged as the registry-config lint check judges it
    (``lint_deployment``: the stack's ``REGISTRY_*`` environment applied over
    the file, ``mirror_fqdn`` filling the stack's placeholder), so each finding
    has the check's code, line and column. [] when the files cannot be read.
    """
    try:
        findings = lint_deployment(config_path, stack_path, mirror_fqdn=mirror_fqdn)
    except (OSError, ValueError):
        return []
    return [f for f in findings if f.severity is Severity.ERROR and f.code in REMOTEURL_CODES]


def with_reasons(problem: str, findings: Sequence[Finding]) -> str:
    """``problem``, then the findings that explain it, one rendered finding after another."""
    if not findings:
        return problem
    return problem + "; the registry config says why:\n" + "\n".join(f.render() for f in findings)

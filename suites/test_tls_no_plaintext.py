"""No plaintext path to the mirror: ``http://<fqdn>`` never serves registry content,
and no registry answers in plain HTTP where the mirror's name points.

Plain HTTP is asked on port 80 and on the mirror URL's own port. A mirror URL
whose scheme is ``http`` is itself the failure: every node pulls through it in
plain text, whatever else answers.

The reference setup publishes the mirror through a reverse proxy (Traefik with
Let's Encrypt) while the registry itself speaks plain HTTP on port 5000: that
port must not be reachable around the proxy. A stack file publishing it that
this run cannot observe is reported as a ``PlainPortPublished`` warning.
"""

from __future__ import annotations

import warnings
from urllib.parse import urlsplit

import pytest

from mirrorcheck.findings import Finding, render_all
from mirrorcheck.probes.plain_http import PlainKind, probe_plain_http
from mirrorcheck.rules.registry.catalog import PORT_PUBLISHED
from mirrorcheck.rules.registry.config import DEFAULT_PORT, RegistryConfig, load_runnable_config
from mirrorcheck.rules.registry.stack import read_stack
from mirrorcheck.rules.registry.stack_lint import lint_stack
from mirrorcheck.rules.tls.warning_types import PlainPortPublished
from mirrorcheck.targets.endpoint import MirrorEndpoint
from mirrorcheck.text.yaml_source import YamlReadError

HTTP_PORT = 80


@pytest.fixture(scope="module")
def endpoint(deployment) -> MirrorEndpoint:
    """The mirror's name, the address and port its clients reach, and the CA they trust."""
    return deployment.endpoint


def _plain_paths(deployment, settings, unique_name: str) -> tuple[str, ...]:
    """Registry paths to ask in plain HTTP: a fresh image's in the lab, the probe image's live."""
    if deployment.mode == "live":
        image = deployment.probe_pulls().image
        return ("/v2/", f"/v2/{image.repository}/manifests/{image.reference}")
    image = deployment.push_image(unique_name, layer_sizes=[2_000])
    return (
        "/v2/",
        f"/v2/{image.name}/manifests/{image.tag}",
        f"/v2/{image.name}/blobs/{image.layer_digests[0]}",
    )


def _plain_targets(endpoint: MirrorEndpoint) -> list[tuple[int, int]]:
    """(port in the URL, port connected to): port 80, and the mirror URL's own port."""
    own = (endpoint.url_port, endpoint.port)
    return [(HTTP_PORT, HTTP_PORT)] + ([own] if own != (HTTP_PORT, HTTP_PORT) else [])


def test_plain_http_never_serves_registry_content(
    deployment, endpoint, settings, unique_name, record_property
):
    paths = _plain_paths(deployment, settings, unique_name)
    fqdn = endpoint.fqdn
    answers = [
        probe_plain_http(fqdn, path, address=endpoint.address, port=port, connect_port=connect)
        for port, connect in _plain_targets(endpoint)
        for path in paths
    ]
    record_property("plain_http_answers", [a.describe() for a in answers])
    if urlsplit(endpoint.url).scheme == "http":
        own = [a.describe() for a in answers if a.port == endpoint.url_port]
        pytest.fail(
            f"the mirror URL {endpoint.url} is plain HTTP: every node pulls manifests and layers "
            "through it unencrypted and unverified (answers there: "
            f"{'; '.join(own) or 'none'}). Fix: publish the mirror over TLS and write "
            f"https://{fqdn} in the nodes' registry-mirrors and in --mirror-url",
            pytrace=False,
        )
    served = [a.describe() for a in answers if a.serves_registry]
    assert not served, (
        f"plain HTTP serves registry content: {'; '.join(served)}. Manifests and layers (and "
        "any credentials) travel unencrypted and unverified. Fix: redirect port 80 to https "
        "(Traefik: entryPoints.web.http.redirections.entryPoint.to=websecure; nginx: "
        "return 301 https://$host$request_uri;) or do not route the mirror on port 80"
    )
    stays_plain = [
        a.describe() for a in answers if a.kind is PlainKind.REDIRECT and not a.redirects_to_https
    ]
    assert not stays_plain, (
        f"plain HTTP redirects elsewhere than https: {'; '.join(stays_plain)}. "
        "Fix: redirect to https://<same host><same path>"
    )


def _registry_config(settings) -> RegistryConfig | None:
    """The registry config the mirror runs; None when unusable (its own check says why)."""
    try:
        return load_runnable_config(
            settings.registry_config_text(), str(settings.registry_config_path)
        )
    except YamlReadError:
        return None


def _published_plain_ports(settings) -> tuple[list[Finding], list[int]]:
    """The stack file's findings on a published registry port, and the ports it publishes."""
    path = settings.stack_file_path
    if path is None:
        return [], []
    try:
        stack = read_stack(path)
    except YamlReadError:
        return [], []  # the stack lint reports an unreadable stack file
    config = _registry_config(settings)
    findings = [f for f in lint_stack(stack, config) if f.code == PORT_PUBLISHED.code]
    registry_port = config.listen_port if config is not None else DEFAULT_PORT
    ports = [
        p.published
        for p in stack.ports
        if p.target == registry_port and p.published is not None and not p.loopback_only
    ]
    return findings, ports


def _addresses_to_probe(endpoint, settings, request) -> list[str]:
    """Where the mirror's name leads; on a lab swarm, every node too (a task publishes there)."""
    addresses = [endpoint.address]
    if not settings.live and settings.topology == "swarm":
        lab = request.getfixturevalue("lab")
        addresses += [lab.node_address(n) for n in lab.nodes]
    return list(dict.fromkeys(addresses))


def test_registry_plain_port_is_not_reachable_around_the_proxy(
    endpoint, settings, request, record_property
):
    """No registry answers in plain HTTP at the address the mirror's name points to.

    Provable here: what answers at the proxy's address (where the FQDN leads
    clients) on the registry's own port and on every port the stack file
    publishes for it; on the lab's swarm, at every node's address too (a
    task's published port opens on its node). On a swarm deployed from the
    guide's stack this FAILS: the routing mesh publishes 5000 on every node,
    the one behind the FQDN's (keepalived) address included. The plain
    topology runs no swarm, so the stack's ``ports:`` entry cannot be observed
    there: it is reported as a ``PlainPortPublished`` warning naming the file,
    line and the addresses it opens, and recorded as a figure; failing on it
    would claim an observation this run did not make.
    """
    fqdn = endpoint.fqdn
    config = _registry_config(settings)
    registry_port = config.listen_port if config is not None else DEFAULT_PORT
    findings, published = _published_plain_ports(settings)
    ports = sorted({registry_port, *published})
    answers = [
        probe_plain_http(fqdn, "/v2/", address=address, port=port)
        for address in _addresses_to_probe(endpoint, settings, request)
        for port in ports
    ]
    record_property("plain_port_answers", [a.describe() for a in answers])
    reachable = [a for a in answers if a.serves_registry]
    where_published = f" The stack publishes it: {render_all(findings)}" if findings else ""
    assert not reachable, (
        "the registry answers in plain HTTP at the mirror's address, around the TLS proxy: "
        f"{'; '.join(a.describe() for a in reachable)}.{where_published} Fix: remove the "
        "registry's `ports:` entry (the proxy reaches it over the shared network) and close "
        "the port on the host behind the mirror's name"
    )
    if findings:
        unobserved = (
            "from here, " if settings.live else "the hermetic lab runs no swarm routing mesh; "
        )
        addresses = ", ".join(
            f"http://{fqdn}:{port}/v2/ and http://<every swarm node>:{port}/v2/"
            for port in published
        )
        record_property("plain_port_published", addresses)
        warnings.warn(
            PlainPortPublished(
                f"{render_all(findings)}\n  exposes: {addresses} (plain HTTP, no TLS). Not "
                f"observed in this run: {unobserved}"
                f"{', '.join(f'{endpoint.address}:{p}' for p in ports)} did not answer."
            ),
            stacklevel=1,
        )

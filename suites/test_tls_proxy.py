"""TLS proxy: the mirror is reached over verified HTTPS only, and it is read-only.

The reference setup publishes the mirror through a reverse proxy (Traefik with
Let's Encrypt) while the registry itself speaks plain HTTP on port 5000. These
checks look at what clients meet:

- certificate: issued for the mirror FQDN (subjectAltName), chaining to the CA
  the nodes trust, at least ``--min-cert-days`` left, key and signature not weak;
- protocols: TLS 1.2 and 1.3 accepted, TLS 1.0 and 1.1 refused by the server
  (a client unable to offer them proves nothing: skipped, and failed in CI);
- registry through the proxy: ``/v2/`` answers as a registry, a layer of more
  than 50 MB streams through intact;
- no plaintext path: ``http://<fqdn>`` never serves registry content, and no
  registry answers in plain HTTP where the mirror's name points;
- nodes verify TLS: no node treats the mirror as an insecure registry, a node
  with the CA pulls through the mirror, a node without it does not use it;
- read-only: pushes and deletes through the proxy are refused.

Live (``--mirror-url``), the certificate, protocol, registry-through-the-proxy,
plain-HTTP and node checks run against the deployment as it is: the mirror's
name at ``--mirror-address`` (or wherever the name resolves), trusting
``--ca-file`` (or the system store). What needs a test image pushed upstream
(the large layer, a node pulling a fresh image, a node without the CA) is
hermetic only, and so are the push and delete refusals: live mode never writes.

The HTTP-level checks talk to the proxy without verifying its certificate, on
purpose: a broken certificate then fails the certificate checks (and the node
checks, which verify as dockerd does), while the rest still says whether the
proxy forwards the registry correctly.
"""

from __future__ import annotations

import time
import warnings

import pytest
import requests

from mirrorcheck.findings import Finding, render_all
from mirrorcheck.probes.access_log import BLOB
from mirrorcheck.probes.plain_http import API_VERSION_HEADER, PlainKind, probe_plain_http
from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.probes.tls import Acceptance, TlsInspection, inspect_tls, tls_version
from mirrorcheck.pytest_plugin.options import fail_or_skip
from mirrorcheck.rules.daemon_json.assess import DEFAULT_ENGINE, assess, parse_daemon_json
from mirrorcheck.rules.daemon_json.insecure_registries import (
    InsecureRegistries,
    insecure_mirror_findings,
    why_insecure,
)
from mirrorcheck.rules.daemon_json.keys import EngineVersion
from mirrorcheck.rules.registry.config import load_config
from mirrorcheck.rules.registry.stack import lint_stack, read_stack
from mirrorcheck.rules.tls.policy import (
    CODE_CHAIN_INVALID,
    CODE_EXPIRED,
    CODE_EXPIRES_SOON,
    CODE_HOSTNAME_MISMATCH,
    CODE_HOSTNAME_UNCHECKED,
    CODE_LEGACY_VERSION_ACCEPTED,
    CODE_NOT_YET_VALID,
    CODE_UNREACHABLE,
    CODE_UNTRUSTED_ISSUER,
    CODE_WEAK_KEY,
    CODE_WEAK_SIGNATURE,
    PROXY_PROTOCOLS_FIX,
    TlsPolicy,
    docker_ca_path,
    judge_tls,
)
from mirrorcheck.targets.endpoint import MirrorEndpoint
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.topology import NodeSpec
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH, Node, NodeError
from mirrorcheck.text.yaml_source import YamlReadError

pytestmark = [
    # The HTTP-level checks skip verification on purpose (see the module docstring).
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

HTTPS_PORT = 443
HTTP_PORT = 80
MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")
LEGACY_VERSIONS = ("TLSv1", "TLSv1.1")
# Over 50 MB by either reading of "MB": a proxy's default body or buffer limits
# (nginx proxy_max_temp_file_size, Traefik buffering middlewares) bite well below.
LARGE_LAYER_BYTES = 52 * 2**20
HTTP_TIMEOUT = 120.0
PORT_PUBLISHED = "registry-stack/port-published"
MIRROR_INSECURE = "daemon-json/mirror-insecure"

# What dockerd logs (Go's crypto/x509) for each certificate problem, and its fix.
X509_CAUSES: tuple[tuple[str, str, str], ...] = (
    (
        "certificate signed by unknown authority",
        "the node does not trust the issuer of the proxy's certificate",
        "install the CA the proxy's certificate chains to as {ca_path} on every node, "
        "or serve a certificate from a CA the nodes already trust",
    ),
    (
        "certificate is valid for",
        "the proxy's certificate names another host",
        "issue the proxy's certificate with DNS:{fqdn} in subjectAltName",
    ),
    (
        "certificate has expired or is not yet valid",
        "the proxy's certificate is expired (or not yet valid)",
        "renew the proxy's certificate (Traefik: see why the ACME renewal failed) and check "
        "the clocks of proxy and nodes",
    ),
)


class PlainPortPublished(UserWarning):
    """The stack publishes the registry's plain port; this run could not reach it."""


# -- mirrorcheck -------------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint(deployment) -> MirrorEndpoint:
    """The mirror's name, the address and port its clients reach, and the CA they trust."""
    return deployment.endpoint


@pytest.fixture(scope="session")
def writes_allowed(settings) -> None:
    """Pushes and deletes happen in the hermetic lab only: live mode is read-only."""
    if settings.live:
        pytest.skip(
            "live mode is read-only: it never pushes to or deletes from the mirror, so the "
            "refusal of writes is checked in the hermetic lab only (run without --mirror-url)"
        )


@pytest.fixture(scope="module")
def tls_inspection(endpoint: MirrorEndpoint) -> TlsInspection:
    """What the proxy presents to a client of the mirror's name, trusting the nodes' CA."""
    return inspect_tls(
        endpoint.address, endpoint.port, server_name=endpoint.fqdn, ca_file=endpoint.ca_file
    )


@pytest.fixture(scope="module")
def tls_findings(tls_inspection: TlsInspection, settings) -> list[Finding]:
    policy = TlsPolicy(min_days_left=settings.min_cert_days)
    return judge_tls(tls_inspection, policy)


@pytest.fixture(scope="module")
def proxy_client(deployment) -> RegistryClient:
    """The mirror through the proxy, by name, certificate not verified (module docstring)."""
    session = deployment.mirror_session()
    session.verify = False
    return RegistryClient(deployment.mirror_url, session=session, timeout=HTTP_TIMEOUT)


def _fail_on(findings: list[Finding], codes: set[str]) -> None:
    wrong = [f for f in findings if f.code in codes]
    if wrong:
        pytest.fail(render_all(wrong), pytrace=False)


# -- 1. certificate -------------------------------------------------------------


def test_proxy_certificate_is_issued_for_the_mirror_name(
    tls_inspection, tls_findings, record_property
):
    record_property("certificate_subject_alt_names", list(tls_inspection.sans))
    _fail_on(tls_findings, {CODE_UNREACHABLE, CODE_HOSTNAME_MISMATCH, CODE_HOSTNAME_UNCHECKED})


def test_proxy_certificate_chains_to_the_ca_the_nodes_trust(
    tls_inspection, tls_findings, record_property
):
    record_property("certificate_issuer", tls_inspection.issuer)
    _fail_on(tls_findings, {CODE_UNREACHABLE, CODE_UNTRUSTED_ISSUER, CODE_CHAIN_INVALID})


def test_proxy_certificate_has_at_least_min_cert_days_left(
    tls_inspection, tls_findings, settings, record_property
):
    record_property("certificate_days_left", tls_inspection.days_left)
    if tls_inspection.not_after is not None:
        record_property("certificate_not_after", f"{tls_inspection.not_after:%Y-%m-%d %H:%M} UTC")
    record_property("min_cert_days", settings.min_cert_days)
    # judge_tls rates "expires soon" a warning; the policy here demands the days.
    _fail_on(tls_findings, {CODE_UNREACHABLE, CODE_EXPIRED, CODE_NOT_YET_VALID, CODE_EXPIRES_SOON})


def test_proxy_certificate_key_and_signature_are_not_weak(
    tls_inspection, tls_findings, record_property
):
    record_property("certificate_key", f"{tls_inspection.key_type} {tls_inspection.key_size}")
    record_property("certificate_signature_hash", tls_inspection.signature_hash)
    _fail_on(tls_findings, {CODE_UNREACHABLE, CODE_WEAK_KEY, CODE_WEAK_SIGNATURE})


# -- 2. protocol versions ---------------------------------------------------------


def _probe_figures(inspection: TlsInspection, versions: tuple[str, ...], record_property) -> None:
    for name in versions:
        probe = inspection.version(name)
        if probe is not None:
            record_property(f"{name}_probe", f"{probe.acceptance.value}: {probe.detail}")


def test_tls_1_2_and_1_3_are_accepted(tls_inspection, record_property):
    record_property("negotiated_protocol", tls_inspection.protocol)
    record_property("negotiated_cipher", tls_inspection.cipher)
    _probe_figures(tls_inspection, MODERN_VERSIONS, record_property)
    probes = {name: tls_inspection.version(name) for name in MODERN_VERSIONS}
    refused = [
        f"{tls_version(n).label}: "
        + (f"{p.acceptance.value} ({p.detail})" if p is not None else "not probed")
        for n, p in probes.items()
        if p is None or p.acceptance is not Acceptance.ACCEPTED
    ]
    assert not refused, (
        f"{tls_inspection.endpoint} does not accept every current TLS version: "
        f"{'; '.join(refused)}. Docker nodes need TLS 1.2 at least. "
        f"Fix: enable TLS 1.2 and 1.3 on the proxy: {PROXY_PROTOCOLS_FIX}"
    )


def test_tls_1_0_and_1_1_are_refused_by_the_server(tls_inspection, tls_findings, record_property):
    _probe_figures(tls_inspection, LEGACY_VERSIONS, record_property)
    _fail_on(tls_findings, {CODE_LEGACY_VERSION_ACCEPTED})
    probes = {name: tls_inspection.version(name) for name in LEGACY_VERSIONS}
    unreachable = [
        f"{tls_version(n).label}: {p.detail}"
        for n, p in probes.items()
        if p is not None and p.acceptance is Acceptance.UNREACHABLE
    ]
    assert not unreachable, (
        f"{tls_inspection.endpoint} could not be asked about legacy TLS versions: "
        f"{'; '.join(unreachable)}. Fix: make the proxy answer TLS on port {HTTPS_PORT}"
    )
    untested = [
        f"{tls_version(n).label}: {p.detail if p else 'not probed'}"
        for n, p in probes.items()
        if p is None or p.acceptance is Acceptance.CLIENT_CANNOT_OFFER
    ]
    if untested:
        # Passing here would claim a refusal nobody observed.
        fail_or_skip(
            "the local client could not offer every legacy version, so whether the server "
            f"refuses them is unknown: {'; '.join(untested)}. Fix: run from a client whose "
            "OpenSSL can offer TLS 1.0/1.1 (e.g. openssl s_client -tls1 -cipher "
            f"'ALL:@SECLEVEL=0' -connect {tls_inspection.address}:{tls_inspection.port})"
        )


# -- 3. the registry through the proxy ---------------------------------------------


def test_registry_api_answers_through_the_proxy(endpoint, proxy_client, record_property):
    url = proxy_client.url("/v2/")
    try:
        response = proxy_client.ping()
    except requests.RequestException as error:
        pytest.fail(
            f"GET {url} (at {endpoint.address}:{endpoint.port}) got no answer: {error}. "
            f"Fix: make the proxy serve HTTPS for {endpoint.fqdn} on port {endpoint.port}",
            pytrace=False,
        )
    api_version = response.headers.get(API_VERSION_HEADER, "")
    challenge = response.headers.get("WWW-Authenticate", "")
    record_property("v2_status", response.status_code)
    record_property("v2_api_version", api_version)
    backend_fix = (
        "point the proxy at the registry's plain port (Traefik: labels traefik.port=5000 and "
        "traefik.docker.network on the registry service; the port is the registry's http.addr)"
    )
    if response.status_code == 401:
        scheme = challenge.split(" ", 1)[0].lower()
        assert scheme in ("bearer", "basic"), (
            f"GET {url} answered 401 without a Bearer or Basic challenge "
            f"(WWW-Authenticate: {challenge!r}); clients cannot authenticate. "
            "Fix: let the proxy pass the registry's WWW-Authenticate header through"
        )
    else:
        assert response.status_code == 200, (
            f"GET {url} answered HTTP {response.status_code} ({response.text[:200]!r}), "
            f"not a registry's 200 or 401: the proxy does not reach the registry. Fix: "
            f"{backend_fix}"
        )
    assert api_version == "registry/2.0", (
        f"GET {url} carries {API_VERSION_HEADER}: {api_version!r}, not 'registry/2.0': "
        "what answers is not the registry, or the proxy drops its headers. Fix: "
        f"{backend_fix}, and do not strip response headers"
    )


def test_large_layer_streams_through_the_proxy_intact(
    lab, proxy_client, unique_name, record_property
):
    image = lab.push_image(unique_name, layer_sizes=[LARGE_LAYER_BYTES])
    digest = max(image.layer_digests, key=lambda d: len(image.blobs[d]))
    expected = len(image.blobs[digest])
    record_property("large_layer_bytes", expected)
    # Cold: streamed from upstream through the mirror; warm: from the mirror's storage.
    for temperature in ("cold", "warm"):
        started = time.monotonic()
        fetched = proxy_client.fetch_blob(image.name, digest)
        seconds = time.monotonic() - started
        record_property(f"large_layer_{temperature}_seconds", round(seconds, 3))
        record_property(
            f"large_layer_{temperature}_mb_per_s", round(expected / 1e6 / max(seconds, 1e-6), 1)
        )
        where = f"GET {fetched.url} ({temperature})"
        assert fetched.status == 200, (
            f"{where} answered HTTP {fetched.status}. Fix: the proxy must not cap response "
            "sizes (Traefik: no buffering middleware with maxResponseBodyBytes; nginx: "
            "proxy_buffering off or proxy_max_temp_file_size 0)"
        )
        assert fetched.size == expected, (
            f"{where} delivered {fetched.size} of {expected} bytes: the proxy truncated the "
            "layer (a size limit, a buffer or a timeout). Fix: remove response size limits and "
            "buffering for the mirror (Traefik: no buffering middleware; nginx: proxy_buffering "
            "off, proxy_max_temp_file_size 0, proxy_read_timeout long enough)"
        )
        assert fetched.sha256 == digest, (
            f"{where} delivered {expected} bytes hashing to {fetched.sha256}, not {digest}: "
            "the proxy altered the layer. Fix: disable any compression or rewriting "
            "middleware on the mirror's route"
        )
        if temperature == "cold":
            lab.settle(image)


# -- 4. no plaintext path ---------------------------------------------------------


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


def test_plain_http_never_serves_registry_content(
    deployment, endpoint, settings, unique_name, record_property
):
    paths = _plain_paths(deployment, settings, unique_name)
    fqdn = endpoint.fqdn
    answers = [
        probe_plain_http(fqdn, path, address=endpoint.address, port=HTTP_PORT) for path in paths
    ]
    record_property("plain_http_answers", [a.describe() for a in answers])
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


def _published_plain_ports(settings) -> tuple[list[Finding], list[int]]:
    """The stack file's findings on a published registry port, and the ports it publishes."""
    path = settings.stack_file_path
    if path is None:
        return [], []
    try:
        stack = read_stack(path)
    except YamlReadError:
        return [], []  # the stack lint reports an unreadable stack file
    text = settings.registry_config_text()
    try:
        config = load_config(text, str(settings.registry_config_path))
    except YamlReadError:
        config = None
    findings = [f for f in lint_stack(stack, config) if f.code == PORT_PUBLISHED]
    registry_port = registry_configs.listen_port(text)
    ports = [
        p.published
        for p in stack.ports
        if p.target == registry_port and p.published is not None and not p.loopback_only
    ]
    return findings, ports


def test_registry_plain_port_is_not_reachable_around_the_proxy(endpoint, settings, record_property):
    """No registry answers in plain HTTP at the address the mirror's name points to.

    Provable here: what answers at the proxy's address (where the FQDN leads
    clients) on the registry's own port and on every port the stack file
    publishes for it. On a swarm deployed from the reference stack this FAILS:
    the routing mesh publishes 5000 on every node, the one behind the FQDN's
    (keepalived) address included. The hermetic lab runs no swarm, so the
    stack's ``ports:`` entry cannot be observed there: it is reported as a
    ``PlainPortPublished`` warning naming the file, line and the addresses it
    opens, and recorded as a figure; failing on it would claim an observation
    this run did not make.
    """
    fqdn = endpoint.fqdn
    registry_port = registry_configs.listen_port(settings.registry_config_text())
    findings, published = _published_plain_ports(settings)
    ports = sorted({registry_port, *published})
    answers = [
        probe_plain_http(fqdn, "/v2/", address=endpoint.address, port=port) for port in ports
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


# -- 5. nodes verify TLS ------------------------------------------------------------


def _resolved_on(node: Node, host: str) -> list[str]:
    """The addresses ``host`` resolves to on ``node`` (as dockerd's lookup would see them)."""
    result = node.run("getent", "ahosts", host, timeout=15)
    if not result.ok:
        return []
    return sorted({line.split()[0] for line in result.output.splitlines() if line.strip()})


def test_node_daemon_json_does_not_list_the_mirror_as_insecure(node, deployment, endpoint):
    """The file on the node, read as its dockerd reads it, with line and column."""
    place = f"{node.name}:{DAEMON_JSON_PATH}"
    try:
        data = node.read_file(DAEMON_JSON_PATH)
    except NodeError as error:
        pytest.fail(f"{error}. Fix: create {DAEMON_JSON_PATH} with registry-mirrors", pytrace=False)
    try:
        engine = EngineVersion.parse(str(node.docker_info().get("ServerVersion")))
    except ValueError:
        engine = DEFAULT_ENGINE
    document = parse_daemon_json(data, place, engine=engine)
    assessment = assess(
        document, mirror_url=deployment.mirror_url, mirror_ips=_resolved_on(node, endpoint.fqdn)
    )
    _fail_on(assessment.findings, {MIRROR_INSECURE})


def test_node_daemon_treats_the_mirror_as_a_secure_registry(
    node, deployment, endpoint, record_property
):
    """The running daemon's view, which also holds --insecure-registry flags and 127.0.0.0/8."""
    config = node.docker_info().get("RegistryConfig") or {}
    record_property("insecure_registry_cidrs", config.get("InsecureRegistryCIDRs") or [])
    source = f"{node.name}'s running dockerd (docker info RegistryConfig)"
    registries = InsecureRegistries.from_docker_info(config, source=source)
    addresses = _resolved_on(node, endpoint.fqdn)
    record_property("mirror_resolves_to", addresses)
    findings = insecure_mirror_findings(deployment.mirror_url, registries, addresses=addresses)
    if findings:
        pytest.fail(render_all(findings), pytrace=False)


def _certificate_log(node: Node, since: float, fqdn: str) -> list[str]:
    """The daemon's log lines about the mirror's certificate since ``since``."""
    return [
        line
        for line in node.daemon_log(since=since).splitlines()
        if fqdn in line and ("x509:" in line or "tls:" in line)
    ]


def _explain_certificate_log(lines: list[str], fqdn: str) -> str:
    text = "\n".join(lines)
    for pattern, cause, fix in X509_CAUSES:
        if pattern in text:
            fix_text = fix.format(fqdn=fqdn, ca_path=docker_ca_path(fqdn))
            return f"{cause} (daemon log: {pattern!r}). Fix: {fix_text}"
    if lines:
        return f"a TLS error (daemon log: {lines[-1][-300:]})"
    return "no certificate error in the daemon log"


def _ca_on_node(node: Node, fqdn: str) -> str:
    path = str(docker_ca_path(fqdn))
    try:
        node.read_file(path)
    except NodeError:
        return f"no CA at {path}"
    return f"CA present at {path}"


def test_node_with_the_ca_pulls_through_the_mirror(node, lab, unique_name, record_property):
    image = lab.push_image(unique_name, layer_sizes=[200_000])
    mark, started = lab.mirror_mark(), time.time() - 1
    result = node.pull(image.reference)
    served = lab.mirror_traffic(mark).for_repository(image.name)
    record_property("pull_seconds", round(result.seconds, 3))
    record_property("served_by_mirror", served.by_method_and_kind())
    if result.ok and served.count("GET", BLOB) >= 1:
        return
    fqdn = lab.spec.fqdn
    cause = _explain_certificate_log(_certificate_log(node, started, fqdn), fqdn)
    # Whatever else the daemon said about the mirror (e.g. a failed lookup of its name).
    about_mirror = [
        line[-300:] for line in node.daemon_log(since=started).splitlines() if fqdn in line
    ]
    outcome = "succeeded from elsewhere" if result.ok else "failed"
    pytest.fail(
        f"{node.name} did not pull {image.reference} through {lab.mirror_url}: the pull "
        f"{outcome} and the mirror served {served.by_method_and_kind() or 'nothing'} for it "
        f"({_ca_on_node(node, fqdn)}). Cause: {cause}. dockerd falls back to Docker Hub "
        f"silently after such an error.\npull output: {result.output.strip()[-400:]}"
        f"\ndaemon log about {fqdn}: {about_mirror[-3:] or 'nothing'}",
        pytrace=False,
    )


@pytest.mark.hermetic_only
def test_node_without_the_ca_does_not_use_the_mirror(lab, unique_name, record_property):
    """A node lacking the CA must fail TLS and skip the mirror: proof that nodes verify.

    dockerd falls back to the next endpoint silently, so the pull's outcome
    proves nothing; the mirror's own log must show no request for the image,
    and the node's log must show the certificate error that stopped it.
    """
    fqdn = lab.spec.fqdn
    daemon_json = lab.spec.node_specs()[0].daemon_json  # the file under test, FQDN filled in
    (extra,) = lab.add_nodes([NodeSpec("node-without-ca", daemon_json, trust_ca=False)])
    try:
        if extra.startup_error:
            pytest.fail(extra.startup_error, pytrace=False)
        image = lab.push_image(unique_name, layer_sizes=[200_000])
        mark, started = lab.mirror_mark(), time.time() - 1
        result = extra.pull(image.reference)
        served = lab.mirror_traffic(mark).for_repository(image.name)
        certificate_log = _certificate_log(extra, started, fqdn)
        config = extra.docker_info().get("RegistryConfig") or {}
        addresses = _resolved_on(extra, fqdn)
    finally:
        lab.remove_node(extra)
    record_property("served_to_node_without_ca", served.by_method_and_kind())
    record_property("node_without_ca_log", certificate_log[-1:])
    if served.count():
        registries = InsecureRegistries.from_docker_info(config, source="its running dockerd")
        reason = why_insecure(lab.mirror_url, registries, addresses)
        pytest.fail(
            f"{extra.name} (no {docker_ca_path(fqdn)}) pulled {image.reference} through the "
            f"mirror (pull {'ok' if result.ok else 'failed'}, mirror served "
            f"{served.by_method_and_kind()}): dockerd did not verify the mirror's certificate. "
            f"Cause: {reason or 'the CA is trusted some other way (system store?)'}. Fix: "
            "remove the mirror from insecure-registries on every node; a wrong or expired "
            "certificate goes unnoticed otherwise",
            pytrace=False,
        )
    assert certificate_log, (
        f"{extra.name} did not use the mirror, but its daemon log shows no certificate error "
        f"for {fqdn}: something other than TLS verification stopped it, so this run does not "
        f"show that nodes verify the certificate.\npull output: {result.output.strip()[-400:]}"
    )


# -- 6. read-only -------------------------------------------------------------------


def _cache_through_proxy(proxy_client: RegistryClient, image) -> None:
    """Pull ``image`` through the proxy so that the mirror holds its blobs."""
    manifest = proxy_client.fetch_manifest(image.name, image.manifest_digest)
    assert manifest.status == 200, (
        f"GET {manifest.url} answered {manifest.status}: the mirror cannot serve a fresh image, "
        "so the read-only check cannot run; see test_registry_api_answers_through_the_proxy"
    )
    for digest in image.blobs:
        proxy_client.fetch_blob(image.name, digest)


WRITE_FIX = (
    "run the registry in proxy mode (proxy.remoteurl set: distribution then answers 405 "
    "UNSUPPORTED to writes) and/or allow only GET and HEAD on the mirror's route at the "
    "proxy (nginx: limit_except GET HEAD { deny all; }; Traefik: a route rule on Method)"
)


def test_pushes_through_the_proxy_are_refused(
    writes_allowed, lab, proxy_client, unique_name, record_property
):
    image = lab.push_image(unique_name, layer_sizes=[2_000])
    _cache_through_proxy(proxy_client, image)
    lab.settle(image)
    # With every blob present, a writable registry would accept this manifest (201).
    upload = proxy_client.start_upload(image.name)
    manifest = proxy_client.session.put(
        proxy_client.url(f"/v2/{image.name}/manifests/pushed"),
        data=image.top_body,
        headers={"Content-Type": image.top_media_type},
        timeout=HTTP_TIMEOUT,
    )
    statuses = {
        f"POST /v2/{image.name}/blobs/uploads/": upload.status_code,
        f"PUT /v2/{image.name}/manifests/pushed": manifest.status_code,
    }
    record_property("push_statuses", statuses)
    accepted = {request: status for request, status in statuses.items() if status < 300}
    assert not accepted, (
        f"the mirror accepts writes through {lab.mirror_url}: {accepted}. Anyone reaching the "
        f"proxy can plant images that nodes then pull as Docker Hub's. Fix: {WRITE_FIX}"
    )


def test_deletes_through_the_proxy_are_refused(
    writes_allowed, lab, proxy_client, unique_name, record_property
):
    image = lab.push_image(unique_name, layer_sizes=[2_000])
    _cache_through_proxy(proxy_client, image)
    lab.settle(image)
    blob = image.layer_digests[0]
    deleted_manifest = proxy_client.delete_manifest(image.name, image.manifest_digest)
    deleted_blob = proxy_client.session.delete(
        proxy_client.url(f"/v2/{image.name}/blobs/{blob}"), timeout=HTTP_TIMEOUT
    )
    statuses = {
        f"DELETE /v2/{image.name}/manifests/{image.manifest_digest}": deleted_manifest.status_code,
        f"DELETE /v2/{image.name}/blobs/{blob}": deleted_blob.status_code,
    }
    record_property("delete_statuses", statuses)
    accepted = {request: status for request, status in statuses.items() if status < 300}
    assert not accepted, (
        f"the mirror accepts deletes through {lab.mirror_url}: {accepted}. Anyone reaching "
        f"the proxy can empty the cache. Fix: {WRITE_FIX}"
    )
    still = proxy_client.fetch_manifest(image.name, image.manifest_digest)
    assert still.status == 200, (
        f"after the refused deletes, GET {still.url} answered {still.status}: the mirror lost "
        f"the manifest anyway, so something deletes through the proxy. Fix: {WRITE_FIX}"
    )

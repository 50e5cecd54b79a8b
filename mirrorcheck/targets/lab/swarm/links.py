"""What joins the user's stack to the lab: the nodes' log driver, Traefik, the registry image.

Usage::

    log_driver(b'{"log-driver": "journald"}')          # "journald"
    edge_network(stack_text)                           # "traefik_public"
    route_causes(prepared, spec)                       # the Traefik lint's words, one paragraph
    wait_for_route(edge, prepared, spec)               # LabError: Traefik does not serve it
    image_id, tag = registry_image_trusting(client, "mirrorcheck/registry:abc", hub_ca,
                                            labels, "run-1")
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import docker
import requests
import urllib3

from mirrorcheck.findings import Finding, errors, render_all
from mirrorcheck.rules.registry.stack import load_stack
from mirrorcheck.rules.traefik.lint import lint_traefik_routing
from mirrorcheck.targets.lab import registry_configs
from mirrorcheck.targets.lab.certs import SYSTEM_CA_BUNDLE
from mirrorcheck.targets.lab.edge.traefik import TraefikEdge
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.nodes import NodeSpec, sets_key
from mirrorcheck.targets.lab.spec import LabError, LabSpec
from mirrorcheck.targets.lab.swarm.cluster import OFFLINE_TASKS
from mirrorcheck.targets.lab.swarm.stack import (
    PreparedStack,
    StackError,
    prepare_stack,
    shared_mounts,
)
from mirrorcheck.text.yaml_source import YamlReadError
from mirrorcheck.waiting import WaitTimeout, wait_until

DEFAULT_EDGE_NETWORK = "traefik_public"  # the guide's Traefik network
TRAEFIK_NETWORK_LABEL = "traefik.swarm.network"
REGISTRY_REPOSITORY = "mirrorcheck/swarm-registry"
ROUTE_TIMEOUT = 20.0
# When the lint already finds why there is no route, Traefik gets this long past one poll of
# the swarm to prove it wrong (seconds), instead of ROUTE_TIMEOUT.
ROUTE_GRACE = 4.0


def log_driver(daemon_json: bytes) -> str:
    """The daemon.json's ``log-driver`` ("" when unset or unreadable)."""
    try:
        document = json.loads(daemon_json.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    return str(document.get("log-driver") or "") if isinstance(document, dict) else ""


def edge_network(stack_text: str) -> str:
    """The network Traefik shares with the registry: the stack's ``traefik.swarm.network`` label.

    Without that label, the guide's ``traefik_public``.
    """
    match = re.search(rf"{re.escape(TRAEFIK_NETWORK_LABEL)}\s*[=:]\s*['\"]?([\w.-]+)", stack_text)
    return match.group(1) if match else DEFAULT_EDGE_NETWORK


def routing_errors(prepared: PreparedStack | None, spec: LabSpec) -> list[Finding]:
    """The Traefik lint's errors in the stack's routing labels: each one leaves no route.

    The stack file as written is linted, as the suites' Traefik check lints it,
    so that both say each finding in the same words (the reports count it once).
    """
    if prepared is None:
        return []
    try:
        stack = load_stack(
            spec.stack_text, path=spec.stack_source, service=prepared.registry_service
        )
        entries, service, networks = stack.label_entries, stack.service, stack.networks
    except YamlReadError:  # read as the lab deployed it
        registry = prepared.registry
        entries, service, networks = registry.label_entries, registry.service, registry.networks
    return errors(
        lint_traefik_routing(
            entries,
            path=spec.stack_source,
            service=service,
            fqdn=spec.fqdn,
            registry_port=registry_configs.listen_port(spec.registry_config),
            networks=networks,
        )
    )


def route_causes(prepared: PreparedStack | None, spec: LabSpec) -> str:
    """What the Traefik lint finds in the stack's routing labels, as one paragraph."""
    if prepared is None:
        return ""
    found = routing_errors(prepared, spec)
    if not found:
        return "The stack's labels route it as far as the Traefik lint can tell."
    return "The stack's labels, as the Traefik lint reads them:\n" + render_all(found)


def image_labels(client: docker.DockerClient, image: str) -> dict[str, str]:
    """The labels ``image`` carries (its recipe's), kept on an image committed from it."""
    return dict(client.images.get(image).labels or {})


def registry_image_trusting(
    client: docker.DockerClient, image: str, ca_cert: bytes, labels: RunLabels, tag: str
) -> tuple[str, str]:
    """``image`` with ``ca_cert`` as its system CA bundle, committed as ``REGISTRY_REPOSITORY:tag``.

    The lab's registry then trusts Docker Hub's stand-in as the real
    ``registry:2`` trusts Docker Hub's public CA. Returns the image's id and
    tag; the caller removes the image.
    """
    container = client.containers.create(image, labels=labels.as_dict("image-build"))
    try:
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as archive:
            info = tarfile.TarInfo(SYSTEM_CA_BUNDLE.lstrip("/"))
            info.size = len(ca_cert)
            archive.addfile(info, io.BytesIO(ca_cert))
        container.put_archive("/", data.getvalue())
        # The run's labels on the image too, so that a sweep by label can find it.
        committed = container.commit(
            repository=REGISTRY_REPOSITORY,
            tag=tag,
            conf={"Labels": {**(image_labels(client, image)), **labels.as_dict("image-build")}},
        )
        return str(committed.id), f"{REGISTRY_REPOSITORY}:{tag}"
    finally:
        container.remove(force=True)


def when_done(pool: ThreadPoolExecutor, needs: list[Future], step: Callable[[], object]) -> Future:
    """``step`` submitted to ``pool``, to run once every one of ``needs`` has succeeded.

    When one of ``needs`` failed, the step does not run and its future holds that error.
    ``pool``: ``at_once.thread_pool``'s, so that Ctrl-C while waiting on the steps
    does not wait for them to end.
    """

    def run() -> object:
        for need in needs:
            need.result()
        return step()

    return pool.submit(run)


def wait_routed(edge: TraefikEdge, timeout: float = ROUTE_TIMEOUT) -> None:
    """Wait until ``https://<fqdn>/v2/`` through Traefik reaches a registry (200 or 401).

    The certificate is not judged here. Raises WaitTimeout naming Traefik's
    last answer (404: no router matched the name; 502/504: no registry behind it).
    """
    session = edge.session()
    session.verify = False
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    url = f"{edge.url}/v2/"
    seen: dict[str, object] = {}

    def routed() -> bool:
        try:
            seen["answer"] = session.get(url, timeout=5).status_code
        except requests.RequestException as error:
            seen["answer"] = type(error).__name__
        return seen["answer"] in (200, 401)

    try:
        wait_until(routed, timeout=timeout, interval=0.25, what=f"Traefik to route {url}")
    except WaitTimeout as error:
        answer = seen.get("answer")
        what = "no router matched the name (404)" if answer == 404 else f"answered {answer}"
        raise WaitTimeout(f"{what} ({error})") from None


def wait_for_route(edge: TraefikEdge, prepared: PreparedStack, spec: LabSpec) -> None:
    """Traefik routes the mirror's name to the registry, with a certificate Pebble issued.

    Raises LabError when it does not: what Traefik answered (404: no
    router matched the name) and what the Traefik lint finds in the
    stack's labels, as the plain lab does for a mirror that does not start.
    When the lint already finds why there is no route, Traefik has one poll
    of the swarm and ``ROUTE_GRACE`` seconds to route it anyway, not
    ``ROUTE_TIMEOUT``: the cause is known.
    """
    least = edge.refresh_seconds + ROUTE_GRACE  # one poll of the swarm, and a little
    timeout = least if routing_errors(prepared, spec) else max(ROUTE_TIMEOUT, least)
    try:
        wait_routed(edge, timeout=timeout)
        edge.wait_certificate()
    except WaitTimeout as error:
        raise LabError(
            f"Traefik does not serve the mirror at {edge.url} (at the manager "
            f"{edge.manager_address}): {error}; every node would fall back to Docker "
            f"Hub. {route_causes(prepared, spec)}\nFix: correct the "
            f"routing labels of {spec.stack_source} (`mirrorcheck lint traefik "
            f"{spec.stack_source} --mirror-fqdn {spec.fqdn}`)"
        ) from None


def swarm_node_specs(
    spec: LabSpec, shared_dir: Path, binds: dict[str, str], gateway: str
) -> list[NodeSpec]:
    """The lab's nodes as a swarm needs them: ``spec``'s, each with the stack's shared disk.

    Every host path the stack binds is a folder under ``shared_dir`` mounted
    on every node (``binds`` are mounted too); dockerd gets ``--dns
    <gateway>`` unless the daemon.json sets ``dns`` (a task's failed lookup
    then fails at once, not after 20-40 s) and the environment that lets
    tasks start from the images loaded by name (``OFFLINE_TASKS``).
    """
    try:  # the host paths the stack binds (Docker Hub's address is not needed for those)
        sources = prepare_stack(spec.stack_text, spec.stack_source, fqdn=spec.fqdn, hub_address="")
    except StackError:
        sources = None  # the lab's start reports the file
    binds = dict(binds)
    for path in shared_mounts(sources.bind_sources if sources else []):
        folder = shared_dir / path.lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        binds[str(folder)] = path
    specs = []
    for node in spec.node_specs():
        node.binds = binds
        if gateway and not sets_key(node.daemon_json, "dns"):
            node.dockerd_args = [*node.dockerd_args, "--dns", gateway]
        node.environment = {**node.environment, **OFFLINE_TASKS}
        specs.append(node)
    return specs

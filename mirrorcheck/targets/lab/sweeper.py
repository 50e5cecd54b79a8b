"""Removing what a lab made (containers, networks, volumes, run images), also of dead runs.

Usage::

    from mirrorcheck.targets.lab.sweeper import sweep_run, sweep_stale

    sweep_stale(client).removed    # at start: resources whose owner process is gone
    sweep_run(client, "2026...")   # at the end, also after failures and Ctrl-C

A network the engine will not let go (``has active endpoints`` with no
container attached: an endpoint of a removed container that dockerd still
counts, seen here on Engine 20.10 once in a day of runs) is tried again for
``NETWORK_RELEASE_TIMEOUT`` seconds, then reported with its fix: a stale one
as ``Sweep.kept`` (the run goes on), one of this run as ``SweepError``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from mirrorcheck.at_once import at_once
from mirrorcheck.targets.lab.labels import (
    OWNER_LABEL,
    PROJECT,
    PROJECT_LABEL,
    RUN_LABEL,
    pid_namespace,
    process_start,
)
from mirrorcheck.waiting import WaitTimeout, wait_until

REMOVE_AT_ONCE = 8
NETWORK_RELEASE_TIMEOUT = 10.0
NETWORK_FIX = (
    "Fix: restart dockerd, which forgets endpoints of removed containers, then run "
    "`mirrorcheck sweep`"
)


class SweepError(RuntimeError):
    """Resources of this run the engine would not remove; the message says which and the fix."""


@dataclass
class Sweep:
    """What a sweep removed (``"network <name>"``...) and what it could not, each with why."""

    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def remove_containers(containers: Iterable[Container]) -> list[str]:
    """Remove ``containers`` (killed if running, with their anonymous volumes) at once.

    A node's container holds a whole dockerd and its image store: each removal
    waits on its own kill and disk, so they run side by side (at most
    ``REMOVE_AT_ONCE``, below the Docker SDK's connection pool of 10). Returns
    ``["container <name>", ...]`` for those removed; one already gone is skipped.
    """

    def remove(container: Container) -> str | None:
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            return None
        return f"container {container.name}"

    return [name for name in at_once(remove, containers, limit=REMOVE_AT_ONCE) if name]


def remove_network(
    client: docker.DockerClient,
    network: Network,
    filters: dict[str, list[str]],
    timeout: float | None = None,
) -> str | None:
    """Remove ``network``; None once removed (or gone), else why not, with the fix.

    Containers matching ``filters`` still attached (one started while the lab
    was swept) are removed first, at each try; tries go on for ``timeout`` s
    (default ``NETWORK_RELEASE_TIMEOUT``).
    """
    attached = {**filters, "network": [network.id]}
    refused: dict[str, str] = {}

    def removed() -> bool:
        remove_containers(client.containers.list(all=True, filters=attached, ignore_removed=True))
        try:
            network.remove()
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError as error:
            refused["why"] = str(error.explanation or error)
            return False
        return True

    try:
        wait_until(
            removed,
            timeout=NETWORK_RELEASE_TIMEOUT if timeout is None else timeout,
            interval=0.5,
            what=f"the engine to remove {network.name}",
        )
    except WaitTimeout:
        return f"network {network.name} was not removed: {refused.get('why', '')}. {NETWORK_FIX}"
    return None


def _remove_networks_and_volumes(
    client: docker.DockerClient,
    networks: Iterable[Network],
    volumes: Iterable,
    containers_of: Callable[[Network], dict[str, list[str]]],
    sweep: Sweep,
) -> Sweep:
    """Remove ``networks`` (``remove_network``, its late containers those ``containers_of``
    it matches), then ``volumes``; each into ``sweep.removed``, or with why into ``kept``."""
    for network in networks:
        problem = remove_network(client, network, containers_of(network))
        if problem:
            sweep.kept.append(problem)
        else:
            sweep.removed.append(f"network {network.name}")
    for volume in volumes:
        try:
            volume.remove(force=True)
            sweep.removed.append(f"volume {volume.name}")
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            sweep.kept.append(f"volume {volume.name} was not removed: {error.explanation}")
    return sweep


def _remove_all(client: docker.DockerClient, filters: dict[str, list[str]]) -> list[str]:
    """Remove matching containers, then networks, then volumes; return what was removed.

    Raises SweepError, once the rest is removed, naming each network or volume the
    engine kept.
    """
    removed = remove_containers(
        client.containers.list(all=True, filters=filters, ignore_removed=True)
    )
    sweep = _remove_networks_and_volumes(
        client,
        client.networks.list(filters=filters),
        client.volumes.list(filters=filters),
        lambda _: filters,
        Sweep(removed=removed),
    )
    if sweep.kept:
        raise SweepError("\n".join(sweep.kept))
    return sweep.removed


def _remove_run_images(client: docker.DockerClient, run_label: str) -> list[str]:
    """Remove images a run made for itself (``run_label``: ``key=value``, or the key for any run).

    Only images carrying a run's label: the lab's built images carry the
    project's label alone and are kept for the next run.
    """
    removed: list[str] = []
    for image in client.images.list(filters={"label": [run_label]}):
        try:
            client.images.remove(image.id, force=True)
            removed.append(f"image {', '.join(image.tags) or image.short_id}")
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError:
            pass  # still used by a container another run owns: its own sweep removes it
    return removed


def sweep_run(client: docker.DockerClient, run_id: str) -> list[str]:
    """Remove every resource of one run: containers, networks, volumes and its own images."""
    label = f"{RUN_LABEL}={run_id}"
    return _remove_all(client, {"label": [label]}) + _remove_run_images(client, label)


def sweep_all(client: docker.DockerClient) -> list[str]:
    """Every lab resource on this engine, live runs' too (``mirrorcheck sweep --all``)."""
    removed = _remove_all(client, {"label": [f"{PROJECT_LABEL}={PROJECT}"]})
    return removed + _remove_run_images(client, RUN_LABEL)


def _owner_alive(owner: str) -> bool:
    """Whether the process that made a resource may still be running.

    Only an owner on this host, in this PID namespace, can be judged: another
    machine's or another container's processes are invisible from here, so
    their resources are never taken for leftovers.
    """
    parts = owner.split("/")
    if len(parts) != 4:
        return True  # an owner label this version does not write: not ours to judge
    host, namespace, pid, started = parts
    if host != socket.gethostname() or namespace != pid_namespace() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return process_start(int(pid)) == started


def _labels_of(resource) -> dict[str, str]:
    attrs = resource.attrs
    return attrs.get("Labels") or attrs.get("Config", {}).get("Labels") or {}


def sweep_stale(client: docker.DockerClient) -> Sweep:
    """Remove resources whose owner process has died (kill -9, a lost CI job).

    Judged per resource, not per run: xdist workers of one run have different
    owners. What the engine refuses to remove is in ``kept``, with its fix:
    another run's leftover must not stop this one.
    """
    filters = {"label": [f"{PROJECT_LABEL}={PROJECT}"]}

    def stale(resource) -> bool:
        labels = _labels_of(resource)
        return RUN_LABEL in labels and not _owner_alive(labels.get(OWNER_LABEL, ""))

    containers = client.containers.list(all=True, filters=filters, ignore_removed=True)
    removed = remove_containers(c for c in containers if stale(c))
    return _remove_networks_and_volumes(
        client,
        [n for n in client.networks.list(filters=filters) if stale(n)],
        [v for v in client.volumes.list(filters=filters) if stale(v)],
        lambda network: {"label": [_run_label(network)]},
        Sweep(removed=removed),
    )


def _run_label(resource) -> str:
    return f"{RUN_LABEL}={_labels_of(resource)[RUN_LABEL]}"


def leftovers(client: docker.DockerClient, run_id: str | None = None) -> list[str]:
    """What is still there: of one run, or of the project as a whole."""
    label = f"{RUN_LABEL}={run_id}" if run_id else f"{PROJECT_LABEL}={PROJECT}"
    filters = {"label": [label]}
    return [
        *(
            f"container {c.name}"
            for c in client.containers.list(all=True, filters=filters, ignore_removed=True)
        ),
        *(f"network {n.name}" for n in client.networks.list(filters=filters)),
        *(f"volume {v.name}" for v in client.volumes.list(filters=filters)),
    ]

"""The lab's images into the swarm's nodes: saved on the host, loaded by every node at once.

An archive is saved (``docker save``) into a host folder that every node
mounts, while the nodes are still starting; each node then loads it from
that file and tags the images with the names the stacks use
(``registry:2``), in one ``docker exec``: no node pulls anything, and no
node waits for another. An image that is the same from run to run (Traefik's)
is saved once per image ID into a cache folder (``archive_cache``), which the
nodes mount too: later runs only load it.

Usage::

    archives = Archives(workdir, "/srv/mirrorcheck-images", timeline, archive_cache())
    nodes_binds = archives.binds()                     # the folders every node mounts
    registry = archives.save("registry.tar", ["mirrorcheck/registry:abc"])
    traefik = archives.keep(client, "mirrorcheck/traefik:abc")
    archives.load(nodes, [traefik, registry], {"registry:2": "mirrorcheck/registry:abc",
                                               "traefik:v3.7": "mirrorcheck/traefik:abc"})
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
import time
from pathlib import Path

import docker
import docker.errors

from mirrorcheck.at_once import at_once
from mirrorcheck.targets.lab.spec import LabError
from mirrorcheck.targets.lab.timeline import Timeline
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode

CACHE_MOUNT = "/srv/mirrorcheck-image-cache"  # where every node sees the cached archives
SAVE_TIMEOUT = 120.0
LOAD_TIMEOUT = 120.0


class ArchiveError(RuntimeError):
    """An image archive could not be saved or loaded; the message names the step and node."""


def save_archive(sources: list[str], path: Path, timeout: float = SAVE_TIMEOUT) -> Path:
    """``docker save`` the host's images ``sources`` into ``path`` (one archive); ``path``.

    Raises ArchiveError with docker's words when the save fails or runs past
    ``timeout`` seconds.
    """
    try:
        saved = subprocess.run(
            ["docker", "save", "-o", str(path), *sources],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ArchiveError(f"docker save {' '.join(sources)} ran past {timeout:g} s") from None
    if saved.returncode != 0:
        raise ArchiveError(f"docker save {' '.join(sources)} failed: {saved.stderr.strip()}")
    return path


def load_command(archives: list[str], names: dict[str, str]) -> list[str]:
    """The shell command a node runs: load each archive (node paths), then tag as ``names`` say.

    ``names`` maps the name a stack uses (``registry:2``) to the image's tag
    or ID in the archives. The command stops at the first step that fails.
    """
    steps = [f"docker load -q -i {shlex.quote(archive)}" for archive in archives]
    steps += [f"docker tag {shlex.quote(src)} {shlex.quote(name)}" for name, src in names.items()]
    return ["sh", "-c", " && ".join(steps)]


def archive_cache() -> Path | None:
    """The folder that keeps archives of unchanging images between runs; None when unwritable.

    ``$XDG_CACHE_HOME/mirrorcheck/image-archives`` (default ``~/.cache``).
    """
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "mirrorcheck" / "image-archives"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def prune_cache(client: docker.DockerClient, folder: Path) -> None:
    """Remove the cached archives of images this engine no longer has (``<id>-<tag>.tar``)."""
    for archive in folder.glob("*.tar"):
        try:
            client.images.get(f"sha256:{archive.stem.split('-', 1)[0]}")
        except docker.errors.ImageNotFound:
            archive.unlink(missing_ok=True)
        except docker.errors.APIError:
            continue


def load_archive(
    nodes: list[DockerExecNode],
    archives: list[str],
    names: dict[str, str],
    timeline: Timeline | None = None,
    timeout: float = LOAD_TIMEOUT,
) -> None:
    """Every node in ``nodes`` loads ``archives`` (node paths) and tags the images, at once.

    Each node's load is one step of ``timeline`` (``load registry.tar into node-2``).
    Raises ArchiveError naming the first node whose load or tag failed.
    """
    command = load_command(archives, names)
    archive = ", ".join(Path(inside).name for inside in archives)

    def load(node: DockerExecNode) -> str:
        started = time.monotonic()
        result = node.run(*command, timeout=timeout)
        if timeline is not None:
            timeline.add(f"load {archive} into {node.name}", started)
        return (
            "" if result.ok else f"{node.name}: loading {archive} failed: {result.output.strip()}"
        )

    problems = [p for p in at_once(load, nodes) if p]
    if problems:
        raise ArchiveError("\n".join(problems))


class Archives:
    """Image archives in ``folder`` on this host, which every node mounts at ``mount``.

    ``cache`` (``archive_cache``) keeps archives of unchanging images between
    runs; None saves them into ``folder`` at each run. Each save and each
    node's load is a step of ``timeline``; failures are ``LabError``.
    """

    def __init__(
        self, folder: Path, mount: str, timeline: Timeline, cache: Path | None = None
    ) -> None:
        self.folder = folder
        self.mount = mount.rstrip("/")
        self.timeline = timeline
        self.cache = cache

    def binds(self) -> dict[str, str]:
        """The host folders every node mounts (host path -> node path)."""
        binds = {str(self.folder): self.mount}
        if self.cache is not None:
            binds[str(self.cache)] = CACHE_MOUNT
        return binds

    def save(self, archive: str, sources: list[str]) -> str:
        """Save the host's images ``sources`` as ``archive`` in the folder; its path in nodes."""
        with self.timeline.span(f"{archive} saved"):
            try:
                save_archive(sources, self.folder / archive)
            except ArchiveError as error:
                raise LabError(str(error)) from None
        return f"{self.mount}/{archive}"

    def keep(self, client: docker.DockerClient, image: str) -> str:
        """An archive of ``image`` (a tag), saved once per image ID and tag; its path in nodes.

        Without a cache it is saved into the folder, as ``save`` does.
        """
        image_id = str(client.images.get(image).id).split(":")[-1]
        name = f"{image_id}-{re.sub(r'[^A-Za-z0-9_.]+', '_', image)}.tar"
        if self.cache is None:
            return self.save(name, [image])
        path = self.cache / name
        if not path.is_file():
            partial = self.cache / f".{name}.{os.getpid()}.{threading.get_ident()}"
            with self.timeline.span(f"{image} saved to the archive cache"):
                try:
                    save_archive([image], partial)
                    os.replace(partial, path)  # whole, or not there: runs may save at once
                except ArchiveError as error:
                    raise LabError(str(error)) from None
                finally:
                    partial.unlink(missing_ok=True)
            prune_cache(client, self.cache)
        return f"{CACHE_MOUNT}/{name}"

    def load(self, nodes: list[DockerExecNode], archives: list[str], names: dict[str, str]) -> None:
        """``nodes`` load ``archives`` (paths in nodes) at once, and tag the images as ``names``."""
        try:
            load_archive(nodes, archives, names, self.timeline)
        except ArchiveError as error:
            raise LabError(str(error)) from None

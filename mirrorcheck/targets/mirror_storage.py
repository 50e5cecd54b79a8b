"""The mirror's storage folder, looked at from outside: which blobs it holds.

distribution's filesystem driver keeps blob ``sha256:<hex>`` at
``<rootdirectory>/docker/registry/v2/blobs/sha256/<hex[:2]>/<hex>/data``. A file
there after a pull is the mirror's own proof that it stored what it fetched.
The folder is given as the registry's ``storage.filesystem.rootdirectory`` seen
from where it lives (the reference setup mounts ``/var/data/registry/registry-mirror-data``
from shared storage at ``/var/lib/registry``):

- ``/var/data/registry/registry-mirror-data``: a folder on this host;
- ``ssh://user@host[:port]/var/data/registry/registry-mirror-data``: over ssh;
- ``docker://<container>/var/lib/registry``: inside a container on this host's engine.

Only reads (``test -f``) are ever made.

Usage::

    from mirrorcheck.targets.mirror_storage import MirrorStorage

    storage = MirrorStorage.from_url("ssh://admin@storage1/var/data/registry/registry-mirror-data")
    storage.has_blob("sha256:4f2f...")          # True when the blob's data file exists
    storage.blob_path("sha256:4f2f...")
"""

from __future__ import annotations

import os
import posixpath
from urllib.parse import urlsplit

from mirrorcheck.targets.nodes.connect import docker_container_node
from mirrorcheck.targets.nodes.node import Node, NodeError
from mirrorcheck.targets.nodes.ssh import SshNode

BLOBS = "docker/registry/v2/blobs/sha256"


class StorageError(ValueError):
    """The storage location cannot be used; the message names it and the fix."""


class MirrorStorage:
    """A registry's storage root, on this host or on a node (``runner``) that can run ``test``."""

    def __init__(self, url: str, root: str, runner: Node | None = None) -> None:
        self.url = url
        self.root = root.rstrip("/") or "/"
        self.runner = runner

    @classmethod
    def from_url(cls, url: str, skip_host_key_check: bool = False) -> MirrorStorage:
        """A local path, ``ssh://user@host[:port]/path`` or ``docker://container/path``.

        An ssh host's key is verified as for ssh nodes, unless ``skip_host_key_check``
        (``--insecure-skip-host-key-check``).
        """
        if "://" not in url:
            if not os.path.isabs(url):
                raise StorageError(f"--mirror-storage {url!r}: give an absolute path")
            return cls(url, url)
        parts = urlsplit(url)
        if not parts.path or parts.path == "/":
            raise StorageError(
                f"--mirror-storage {url!r} names no folder: add the registry's storage root, "
                f"e.g. {parts.scheme}://{parts.netloc}/var/lib/registry"
            )
        if parts.scheme == "ssh":
            try:
                runner: Node = SshNode(
                    f"ssh://{parts.netloc}", skip_host_key_check=skip_host_key_check
                )
            except ValueError as error:
                raise StorageError(f"--mirror-storage {url!r}: {error}") from None
            return cls(url, parts.path, runner)
        if parts.scheme == "docker":
            return cls(url, parts.path, docker_container_node(parts.netloc))
        raise StorageError(
            f"--mirror-storage {url!r}: unknown scheme {parts.scheme!r}. Fix: a local path, "
            "ssh://user@host/path or docker://container/path"
        )

    def blob_path(self, digest: str) -> str:
        algorithm, _, hex_digest = digest.partition(":")
        if algorithm != "sha256" or len(hex_digest) != 64:
            raise ValueError(f"{digest!r} is not a sha256 digest")
        return posixpath.join(self.root, BLOBS, hex_digest[:2], hex_digest, "data")

    def has_blob(self, digest: str) -> bool:
        """Whether the blob's data file exists; NodeError when the storage cannot be reached."""
        return self._is_file(self.blob_path(digest))

    def check_reachable(self) -> None:
        """NodeError naming the storage and the fix when its root is not a readable folder."""
        if self.runner is not None and self.runner.startup_error:
            raise NodeError(self.runner.startup_error)
        if not self._is_dir(self.root):
            raise NodeError(
                f"--mirror-storage {self.url}: {self.root} is not a folder there. Fix: give the "
                "registry's storage root (storage.filesystem.rootdirectory as seen on that host)"
            )

    def _is_file(self, path: str) -> bool:
        if self.runner is None:
            return os.path.isfile(path)
        return self.runner.run("test", "-f", path, timeout=15).ok

    def _is_dir(self, path: str) -> bool:
        if self.runner is None:
            return os.path.isdir(path)
        return self.runner.run("test", "-d", path, timeout=15).ok

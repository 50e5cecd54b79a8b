"""Image references as dockerd reads them, and whether a mirror can serve them.

dockerd sends only Docker Hub images to ``registry-mirrors`` (moby
``registry/config.go``; DOMAIN.md): ``busybox`` is ``docker.io/library/busybox:latest``
and goes to the mirror, ``ghcr.io/org/app`` never does. The normalisation
follows ``github.com/distribution/reference`` ``ParseNormalizedNamed``: the first
path component is a registry host when it holds a ``.`` or a ``:`` or is
``localhost``; Docker Hub's one-word names live under ``library/``.

Usage::

    from mirrorcheck.rules.image_reference import parse_reference

    ref = parse_reference("busybox")
    ref.repository, ref.reference, ref.docker_hub     # 'library/busybox', 'latest', True
    parse_reference("ghcr.io/org/app:1").docker_hub   # False
    ref.mirror_problem()                               # None, or why a mirror cannot serve it
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
# Names dockerd treats as Docker Hub itself (moby registry/config.go IndexHostname etc.).
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DEFAULT_TAG = "latest"
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ImageReference:
    """A normalised image reference: registry host, repository path, tag or digest."""

    text: str
    domain: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def docker_hub(self) -> bool:
        return self.domain in DOCKER_HUB_ALIASES

    @property
    def reference(self) -> str:
        """What the Registry API's ``/manifests/<reference>`` takes: the digest, else the tag."""
        return self.digest or self.tag

    @property
    def by_digest(self) -> bool:
        return bool(self.digest)

    def mirror_problem(self) -> str | None:
        """Why a registry mirror will never see a pull of this image; None when it will."""
        if self.docker_hub:
            return None
        return (
            f"{self.text} is an image of {self.domain}, not of Docker Hub: dockerd sends only "
            "Docker Hub images (docker.io/...) to registry-mirrors, so its pulls never reach "
            "the mirror. Fix: probe with a Docker Hub image (e.g. busybox:latest)"
        )

    def __str__(self) -> str:
        return self.text


class ImageReferenceError(ValueError):
    """Text that is not an image reference; the message says which part is wrong."""


def parse_reference(text: str) -> ImageReference:
    """Normalise ``text`` as dockerd would (``busybox`` -> ``docker.io/library/busybox:latest``)."""
    original = text.strip()
    remainder, digest = original, ""
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        if not _DIGEST.match(digest):
            raise ImageReferenceError(f"{original!r}: {digest!r} is not a sha256 digest")
    name, tag = remainder, ""
    last = remainder.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = remainder.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ImageReferenceError(f"{original!r}: {tag!r} is not a valid tag")
    if not name:
        raise ImageReferenceError(f"{original!r} names no repository")
    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, parts[1:]
    else:
        domain, path = DOCKER_HUB, parts
    if domain in DOCKER_HUB_ALIASES and len(path) == 1:
        path = ["library", *path]
    for component in path:
        if not _COMPONENT.match(component):
            raise ImageReferenceError(
                f"{original!r}: {component!r} is not a valid repository name component "
                "(lowercase letters, digits, and . _ - between them)"
            )
    if not tag and not digest:
        tag = DEFAULT_TAG
    return ImageReference(original, domain, "/".join(path), tag, digest)

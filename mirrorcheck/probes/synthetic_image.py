"""Test images made from nothing: layers of known sizes, schema2 manifests, OCI indexes.

Each layer is a gzip'd tar holding one file of random bytes (random, so the
sizes on the wire are the sizes asked for and no two images share a blob).
The config's ``diff_ids`` are the sha256 of the UNCOMPRESSED tars, as the
Docker daemon checks on pull.

Usage::

    from mirrorcheck.probes.synthetic_image import make_image, make_index

    image = make_image("mirrorcheck/smoke-1a2b", "v1", layer_sizes=[2_000_000, 1_000_000])
    image.blobs            # {digest: bytes} for config and layers
    image.manifest_digest  # "sha256:..."
    index = make_index("mirrorcheck/multi", "v1", platforms=["linux/amd64", "linux/arm64"])
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field

SCHEMA2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SCHEMA2_CONFIG = "application/vnd.docker.container.image.v1+json"
SCHEMA2_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

DEFAULT_LAYER_SIZES = (2_000_000, 1_000_000, 500_000)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """One manifest: its bytes, media type and the blobs it references."""

    media_type: str
    body: bytes
    blobs: dict[str, bytes]
    config_digest: str
    layer_digests: tuple[str, ...]
    platform: str = ""

    @property
    def digest(self) -> str:
        return sha256_digest(self.body)


@dataclass(frozen=True)
class SyntheticImage:
    """An image to push under ``name:tag``: a manifest, or an index of manifests."""

    name: str
    tag: str
    manifests: tuple[Manifest, ...]
    index: bytes | None = None
    index_media_type: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def top_media_type(self) -> str:
        return self.index_media_type if self.index is not None else self.manifests[0].media_type

    @property
    def top_body(self) -> bytes:
        return self.index if self.index is not None else self.manifests[0].body

    @property
    def manifest_digest(self) -> str:
        """The digest the tag points at (the index for a multi-platform image)."""
        return sha256_digest(self.top_body)

    @property
    def blobs(self) -> dict[str, bytes]:
        merged: dict[str, bytes] = {}
        for manifest in self.manifests:
            merged.update(manifest.blobs)
        return merged

    @property
    def layer_digests(self) -> list[str]:
        return [d for m in self.manifests for d in m.layer_digests]

    @property
    def reference(self) -> str:
        return f"{self.name}:{self.tag}"


def make_layer(size: int, label: str) -> tuple[bytes, str]:
    """A gzip'd tar layer with ``size`` random bytes; returns (compressed, diff_id)."""
    payload = os.urandom(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo(name=f"mirrorcheck/{label}.bin")
        info.size = size
        info.mode = 0o644
        archive.addfile(info, io.BytesIO(payload))
    uncompressed = raw.getvalue()
    # Level 0 (stored blocks, still gzip): random bytes do not compress anyway, and level 1
    # took 1.4 s for a 52 MiB layer where level 0 takes 0.1 s.
    return gzip.compress(uncompressed, compresslevel=0, mtime=0), sha256_digest(uncompressed)


def make_manifest(
    layer_sizes: tuple[int, ...] | list[int],
    label: str,
    oci: bool = False,
    platform: str = "linux/amd64",
) -> Manifest:
    """A schema2 (or OCI) manifest with fresh layers of the given sizes."""
    os_name, _, architecture = platform.partition("/")
    layers = [make_layer(size, f"{label}-{i}") for i, size in enumerate(layer_sizes)]
    config = json.dumps(
        {
            "architecture": architecture,
            "os": os_name,
            "config": {"Cmd": ["/mirrorcheck/none"], "Labels": {"io.mirrorcheck.image": label}},
            "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]},
        },
        sort_keys=True,
    ).encode()
    blobs = {sha256_digest(config): config}
    blobs.update({sha256_digest(blob): blob for blob, _ in layers})
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST if oci else SCHEMA2_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG if oci else SCHEMA2_CONFIG,
                "size": len(config),
                "digest": sha256_digest(config),
            },
            "layers": [
                {
                    "mediaType": OCI_LAYER if oci else SCHEMA2_LAYER,
                    "size": len(blob),
                    "digest": sha256_digest(blob),
                }
                for blob, _ in layers
            ],
        },
        indent=3,
    ).encode()
    return Manifest(
        media_type=OCI_MANIFEST if oci else SCHEMA2_MANIFEST,
        body=body,
        blobs=blobs,
        config_digest=sha256_digest(config),
        layer_digests=tuple(sha256_digest(blob) for blob, _ in layers),
        platform=platform,
    )


def make_image(
    name: str, tag: str, layer_sizes: tuple[int, ...] | list[int] = DEFAULT_LAYER_SIZES
) -> SyntheticImage:
    """A single-platform schema2 image."""
    return SyntheticImage(name, tag, (make_manifest(layer_sizes, f"{name}:{tag}"),))


def make_index(
    name: str,
    tag: str,
    platforms: tuple[str, ...] | list[str] = ("linux/amd64", "linux/arm64"),
    layer_sizes: tuple[int, ...] | list[int] = (1_000_000, 500_000),
) -> SyntheticImage:
    """A multi-platform image: an OCI index over one OCI manifest per platform."""
    manifests = tuple(
        make_manifest(layer_sizes, f"{name}:{tag}:{p}", oci=True, platform=p) for p in platforms
    )
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": m.media_type,
                    "size": len(m.body),
                    "digest": m.digest,
                    "platform": {
                        "os": m.platform.partition("/")[0],
                        "architecture": m.platform.partition("/")[2],
                    },
                }
                for m in manifests
            ],
        },
        indent=3,
    ).encode()
    return SyntheticImage(name, tag, manifests, index=index, index_media_type=OCI_INDEX)

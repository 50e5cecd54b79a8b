"""The blobs an image is made of, read from a registry by manifest digest.

A pull by tag ends with ``Digest: sha256:...``: the manifest (or index) the
node got. Read again by that digest, from the mirror, it names the platform
manifest, then the config and layer blobs. Reading by digest from a mirror that
already holds the image asks upstream nothing.

Usage::

    from mirrorcheck.probes.image_content import blob_digests, platform_of

    platform = platform_of(node.docker_info())                  # ("linux", "amd64", "")
    blob_digests(mirror_client, "library/busybox", "sha256:...", platform)
"""

from __future__ import annotations

import json

from mirrorcheck.probes.registry_api import ACCEPT_MANIFESTS, RegistryClient, RegistryError

# `docker info` Architecture (uname -m) -> the OCI platform's architecture and variant.
ARCHITECTURES = {
    "x86_64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "arm64": ("arm64", ""),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i686": ("386", ""),
    "i386": ("386", ""),
    "ppc64le": ("ppc64le", ""),
    "s390x": ("s390x", ""),
    "riscv64": ("riscv64", ""),
}


def platform_of(docker_info: dict) -> tuple[str, str, str]:
    """(os, architecture, variant) of a node, from ``docker info``."""
    os_type = str(docker_info.get("OSType") or "linux")
    machine = str(docker_info.get("Architecture") or "x86_64")
    architecture, variant = ARCHITECTURES.get(machine, (machine, ""))
    return os_type, architecture, variant


def _manifest(client: RegistryClient, repository: str, digest: str) -> dict:
    response = client.session.get(
        client.url(f"/v2/{repository}/manifests/{digest}"),
        headers={"Accept": ACCEPT_MANIFESTS},
        timeout=client.timeout,
    )
    if response.status_code != 200:
        raise RegistryError(
            f"GET {response.url} answered HTTP {response.status_code}: {response.text[:200]}"
        )
    return json.loads(response.content)


def _choose(index: dict, platform: tuple[str, str, str], where: str) -> str:
    os_type, architecture, variant = platform
    candidates = [
        entry
        for entry in index.get("manifests") or []
        if (entry.get("platform") or {}).get("os") == os_type
        and (entry.get("platform") or {}).get("architecture") == architecture
    ]
    exact = [e for e in candidates if (e.get("platform") or {}).get("variant", "") == variant]
    chosen = (exact or candidates)[:1]
    if not chosen:
        raise RegistryError(f"{where} has no manifest for {os_type}/{architecture}")
    return str(chosen[0]["digest"])


def blob_digests(
    client: RegistryClient, repository: str, digest: str, platform: tuple[str, str, str]
) -> list[str]:
    """Config and layer digests of ``repository@digest`` for ``platform`` (an index is followed)."""
    document = _manifest(client, repository, digest)
    if "manifests" in document:
        document = _manifest(
            client, repository, _choose(document, platform, f"{repository}@{digest}")
        )
    digests = [str(document["config"]["digest"])] if document.get("config") else []
    digests += [str(layer["digest"]) for layer in document.get("layers") or []]
    return digests

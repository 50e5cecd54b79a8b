"""A client for the Registry HTTP API v2: push synthetic images, fetch and hash.

One client for every registry mirrorcheck talks to: the lab's upstream (plain
HTTP, pushes), the mirror through its TLS proxy (reads, integrity), a live mirror.

Usage::

    from mirrorcheck.probes.registry_api import RegistryClient
    from mirrorcheck.probes.synthetic_image import make_image

    upstream = RegistryClient("http://172.18.0.2:5000")
    image = make_image("mirrorcheck/smoke", "v1")
    upstream.push(image)

    mirror = RegistryClient("https://mirror.test", session=make_session(ca_file=..., resolve=...))
    fetched = mirror.fetch_blob("mirrorcheck/smoke", image.layer_digests[0])
    assert fetched.verified
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import requests

from mirrorcheck.probes.synthetic_image import (
    OCI_INDEX,
    OCI_MANIFEST,
    SCHEMA2_MANIFEST,
    SyntheticImage,
)

MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT_MANIFESTS = ", ".join([SCHEMA2_MANIFEST, MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX])
CHUNK = 1 << 20


class RegistryError(RuntimeError):
    """The registry answered something other than what the API promises."""


@dataclass(frozen=True)
class Fetched:
    """What a GET returned: status, size, the sha256 of the body, and the digest expected."""

    url: str
    status: int
    size: int
    sha256: str
    expected_digest: str
    headers: dict[str, str]

    @property
    def verified(self) -> bool:
        """The body hashes to the digest it was asked for."""
        return self.status == 200 and self.sha256 == self.expected_digest


class RegistryClient:
    """Talks the Registry HTTP API v2 to one registry at ``base_url``."""

    def __init__(
        self, base_url: str, session: requests.Session | None = None, timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        if session is None:
            self.session.trust_env = False
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"RegistryClient({self.base_url!r})"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    # -- reads --------------------------------------------------------------

    def ping(self) -> requests.Response:
        """``GET /v2/``: 200 (or 401 with a challenge) from a registry."""
        return self.session.get(self.url("/v2/"), timeout=self.timeout)

    def fetch_manifest(self, name: str, reference: str, method: str = "GET") -> Fetched:
        """GET (or HEAD) a manifest by tag or digest and hash what came back."""
        response = self.session.request(
            method,
            self.url(f"/v2/{name}/manifests/{reference}"),
            headers={"Accept": ACCEPT_MANIFESTS},
            timeout=self.timeout,
        )
        body = response.content
        expected = (
            reference
            if reference.startswith("sha256:")
            else response.headers.get("Docker-Content-Digest", "")
        )
        return Fetched(
            url=response.url,
            status=response.status_code,
            size=len(body),
            sha256="sha256:" + hashlib.sha256(body).hexdigest(),
            expected_digest=expected,
            headers=dict(response.headers),
        )

    def fetch_blob(self, name: str, digest: str) -> Fetched:
        """Stream a blob and hash it; nothing is kept in memory but the hash."""
        hasher = hashlib.sha256()
        size = 0
        with self.session.get(
            self.url(f"/v2/{name}/blobs/{digest}"), stream=True, timeout=self.timeout
        ) as response:
            if response.status_code == 200:
                for chunk in response.iter_content(CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
            return Fetched(
                url=response.url,
                status=response.status_code,
                size=size,
                sha256="sha256:" + hasher.hexdigest(),
                expected_digest=digest,
                headers=dict(response.headers),
            )

    def catalog(self) -> list[str]:
        response = self.session.get(self.url("/v2/_catalog"), timeout=self.timeout)
        self._expect(response, 200, "list the catalog")
        return list(response.json().get("repositories") or [])

    # -- writes (the lab's upstream only) -------------------------------------

    def push(self, image: SyntheticImage) -> str:
        """Push every blob and manifest of ``image``; returns the tag's digest."""
        for digest, blob in image.blobs.items():
            self.push_blob(image.name, digest, blob)
        for manifest in image.manifests:
            reference = manifest.digest if image.index is not None else image.tag
            self.put_manifest(image.name, reference, manifest.body, manifest.media_type)
        if image.index is not None:
            self.put_manifest(image.name, image.tag, image.index, image.index_media_type)
        return image.manifest_digest

    def start_upload(self, name: str) -> requests.Response:
        return self.session.post(self.url(f"/v2/{name}/blobs/uploads/"), timeout=self.timeout)

    def push_blob(self, name: str, digest: str, blob: bytes) -> None:
        """Monolithic upload: POST for a location, then PUT the bytes with the digest."""
        started = self.start_upload(name)
        self._expect(started, 202, f"start a blob upload to {name}")
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.url(location)
        separator = "&" if "?" in location else "?"
        finished = self.session.put(
            f"{location}{separator}digest={digest}",
            data=blob,
            headers={"Content-Type": "application/octet-stream"},
            timeout=self.timeout,
        )
        self._expect(finished, 201, f"upload blob {digest[:19]} to {name}")

    def put_manifest(self, name: str, reference: str, body: bytes, media_type: str) -> None:
        response = self.session.put(
            self.url(f"/v2/{name}/manifests/{reference}"),
            data=body,
            headers={"Content-Type": media_type},
            timeout=self.timeout,
        )
        self._expect(response, 201, f"put manifest {name}:{reference}")

    def delete_manifest(self, name: str, digest: str) -> requests.Response:
        return self.session.delete(self.url(f"/v2/{name}/manifests/{digest}"), timeout=self.timeout)

    def _expect(self, response: requests.Response, status: int, doing: str) -> None:
        if response.status_code != status:
            raise RegistryError(
                f"{self.base_url}: could not {doing}: HTTP {response.status_code} "
                f"{response.text[:300]}"
            )

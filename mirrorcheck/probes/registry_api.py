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
    mirror.identify("library/busybox").is_registry   # /v2/ and a missing blob, judged

Whether something is a registry is judged in one place, ``judge_registry``
(over ``registry_behaviour`` for each answer): one response header proves
nothing, since anything can send it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

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
# distribution sets this header on every answer, errors included
# (registry/handlers/app.go; distribution docs "API Version Check").
API_VERSION_HEADER = "Docker-Distribution-API-Version"
API_VERSION = "registry/2.0"
CONTENT_DIGEST_HEADER = "Docker-Content-Digest"
# A blob no registry holds: asking for it costs no pull on Docker Hub (blob
# requests are not billed, docs.docker.com usage/pulls).
MISSING_BLOB = "sha256:" + "0" * 64
BODY_KEPT = 64 << 10


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


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, as far as judging it needs: status, headers, the start of the body.

    ``status`` None means no answer came (``error`` says why).
    """

    url: str
    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""

    def header(self, name: str) -> str:
        """A header's value, whatever the case of its name; "" when absent."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), "")

    def describe(self) -> str:
        """``<url>: HTTP <status>``, or why nothing answered."""
        if self.status is None:
            return f"{self.url}: no answer ({self.error})"
        return f"{self.url}: HTTP {self.status}"

    @classmethod
    def of(cls, response: requests.Response) -> Answer:
        """The answer a requests response carries (its body read up to 64 KiB)."""
        body = b""
        if response.request is None or response.request.method != "HEAD":
            body = response.content[:BODY_KEPT]
        return cls(response.url, response.status_code, dict(response.headers), body)


def _json(body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def error_codes(body: bytes) -> list[str]:
    """The codes of a registry error body ``{"errors": [{"code": ..., "message": ...}]}``;
    [] for any other body (one error without a code makes it another body)."""
    document = _json(body)
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list) or not errors:
        return []
    codes = [e.get("code") for e in errors if isinstance(e, dict)]
    if len(codes) != len(errors) or not all(isinstance(c, str) and c for c in codes):
        return []
    return [str(c) for c in codes]


CONTENT, PING, CHALLENGE, ERROR = "content", "ping", "challenge", "error"


def _sign(answer: Answer) -> tuple[str, str]:
    """(kind, words) of what in ``answer`` only a registry does; ("", "") for nothing."""
    status = answer.status
    if status is None:
        return "", ""
    api = answer.header(API_VERSION_HEADER)
    digest = answer.header(CONTENT_DIGEST_HEADER)
    if 200 <= status < 300 and digest:
        return CONTENT, f"HTTP {status} with {CONTENT_DIGEST_HEADER}: {digest}"
    if status == 200 and api == API_VERSION and isinstance(_json(answer.body), dict):
        return PING, f"HTTP 200 with a JSON object and {API_VERSION_HEADER}: {api}"
    scheme = answer.header("WWW-Authenticate").split(" ", 1)[0]
    if status == 401 and scheme.lower() in ("bearer", "basic"):
        return CHALLENGE, f"HTTP 401 with a {scheme} challenge"
    codes = error_codes(answer.body)
    if status >= 400 and codes:
        return ERROR, f"HTTP {status} with the registry error {', '.join(codes)}"
    return "", ""


def registry_behaviour(answer: Answer) -> str:
    """What in one answer only a registry does, in words; "" when nothing does.

    From the distribution API spec (docs/content/spec/api.md, "API Version
    Check" and "Errors"):

    - ``GET /v2/`` answered 200 with a JSON object and ``Docker-Distribution-API-Version:
      registry/2.0``;
    - 401 with a ``WWW-Authenticate`` Bearer or Basic challenge;
    - an error status with the registry error body ``{"errors": [{"code": ...}]}``;
    - a 2xx carrying ``Docker-Content-Digest`` (a manifest or blob served).

    A header alone, a 200 with any other body, an HTML error page: nothing.
    """
    return _sign(answer)[1]


@dataclass(frozen=True)
class RegistryJudgement:
    """Whether a server behaves like a registry: what it showed, and what it lacked."""

    base_url: str
    shown: list[str]
    lacking: list[str]
    unanswered: str = ""  # no answer at all: nothing can be judged

    @property
    def is_registry(self) -> bool:
        """It answered, and every answer behaved as a registry's does."""
        return not self.lacking and not self.unanswered

    def describe(self) -> str:
        """One line for a message: what it showed, or what it lacked, or why it was not asked."""
        if self.unanswered:
            return f"{self.base_url} could not be asked: {self.unanswered}"
        if self.is_registry:
            return f"{self.base_url} behaves like a registry: {'; '.join(self.shown)}"
        return f"{self.base_url} does not behave like a registry: {'; '.join(self.lacking)}"


def judge_registry(base_url: str, ping: Answer, missing: Answer) -> RegistryJudgement:
    """Is ``base_url`` a registry, by its ``GET /v2/`` and its answer for a missing blob?

    Both must behave as the API spec says: ``/v2/`` a 200 JSON object with the
    API version header or a 401 challenge; the missing blob an error status
    with the registry error body (404 ``BLOB_UNKNOWN``; 401 ``UNAUTHORIZED``
    behind authentication). See ``registry_behaviour`` for each answer.
    """
    unanswered = "; ".join(a.describe() for a in (ping, missing) if a.status is None)
    if unanswered:
        return RegistryJudgement(base_url, [], [], unanswered)
    shown, lacking = [], []
    ping_kind, ping_sign = _sign(ping)
    if ping_kind in (PING, CHALLENGE):
        shown.append(f"GET /v2/: {ping_sign}")
    else:
        api = ping.header(API_VERSION_HEADER)
        lacking.append(
            f"GET /v2/ answered HTTP {ping.status}"
            + (f" with {API_VERSION_HEADER}: {api}" if api else "")
            + ", not a 200 JSON object with that header nor a 401 Bearer/Basic challenge"
        )
    missing_kind, missing_sign = _sign(missing)
    if missing_kind in (ERROR, CHALLENGE):
        shown.append(f"a missing blob: {missing_sign}")
    else:
        lacking.append(
            f"GET of a blob no registry holds ({missing.url}) answered HTTP {missing.status} "
            'without the registry error body {"errors":[{"code":"BLOB_UNKNOWN",...}]}'
        )
    return RegistryJudgement(base_url, shown, lacking)


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

    def answer(self, path: str, method: str = "GET") -> Answer:
        """One request, judged as an ``Answer``; a connection failure is an answer of None."""
        try:
            response = self.session.request(
                method, self.url(path), headers={"Accept": ACCEPT_MANIFESTS}, timeout=self.timeout
            )
        except requests.RequestException as error:
            return Answer(self.url(path), None, error=f"{type(error).__name__}: {error}"[:300])
        return Answer.of(response)

    def identify(self, repository: str) -> RegistryJudgement:
        """``judge_registry`` on ``GET /v2/`` and a GET of a missing blob in ``repository``."""
        return judge_registry(
            self.base_url,
            self.answer("/v2/"),
            self.answer(f"/v2/{repository}/blobs/{MISSING_BLOB}"),
        )

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

"""An in-process registry on 127.0.0.1, honest or fake, that logs every request it answers.

``FakeRegistry(image)`` answers as distribution does for one image: ``/v2/``
200 ``{}`` with the API version header, manifests by tag and digest, blobs, and
the registry error body for anything it lacks. ``FakeRegistry(image,
honest=False)`` is the impostor: the API version header on every answer,
``/v2/`` 200 ``{}`` and a catalog listing the image's repository, nothing else
(every manifest or blob 404 in plain text). Either one records each request as the access log parser
would read it, so ``access_log()`` gives an ``AccessLog`` over it.

Usage::

    with FakeRegistry(make_image("library/busybox", "latest")) as registry:
        RegistryClient(registry.url).identify("library/busybox").is_registry   # True
        registry.requests          # [Request(method="GET", path="/v2/", ...), ...]
        node = PullingNode("node-1", registry.url, image, through=requests.Session(),
                           through_url=registry.url)   # pulls through it; empty daemon log
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from mirrorcheck.probes.access_log import Request, Traffic, classify
from mirrorcheck.probes.synthetic_image import SyntheticImage, sha256_digest
from mirrorcheck.targets.evidence import AccessLog
from mirrorcheck.targets.nodes.node import CommandResult, Node

API_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")


class FakeRegistry:
    """See the module docstring; ``context`` (an SSL server context) makes it HTTPS."""

    def __init__(
        self,
        image: SyntheticImage,
        honest: bool = True,
        context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.image = image
        self.honest = honest
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        if context is not None:
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        scheme = "https" if context is not None else "http"
        self.url = f"{scheme}://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def __enter__(self) -> FakeRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def access_log(self, client: str | None = "127.0.0.1") -> AccessLog:
        """Its requests as an ``AccessLog``; every node is ``client`` (None: cannot tell)."""
        return AccessLog(
            mark=lambda: len(self.requests),
            traffic=lambda since: Traffic(self.requests[since:]),
            where="the fake registry's access log",
            client_of=lambda _node: client,
        )

    def documents(self) -> dict[str, tuple[str, bytes]]:
        """Every manifest by tag and digest, and every blob: path -> (media type, body)."""
        image, name = self.image, self.image.name
        found = {f"/v2/{name}/manifests/{image.tag}": (image.top_media_type, image.top_body)}
        found[f"/v2/{name}/manifests/{image.manifest_digest}"] = found[
            f"/v2/{name}/manifests/{image.tag}"
        ]
        for manifest in image.manifests:
            found[f"/v2/{name}/manifests/{manifest.digest}"] = (manifest.media_type, manifest.body)
        for digest, blob in image.blobs.items():
            found[f"/v2/{name}/blobs/{digest}"] = ("application/octet-stream", blob)
        return found

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/v2/_catalog" or path.startswith("/v2/_catalog?"):
            body = json.dumps({"repositories": [self.image.name]}).encode()
            return 200, {"Content-Type": "application/json"}, body
        if path == "/v2/":
            return 200, {"Content-Type": "application/json"}, b"{}"
        if not self.honest:
            return 404, {"Content-Type": "text/plain"}, b"404 page not found\n"
        found = self.documents().get(path)
        if found is not None:
            media_type, body = found
            headers = {"Content-Type": media_type, "Docker-Content-Digest": sha256_digest(body)}
            return 200, headers, body
        code = "BLOB_UNKNOWN" if "/blobs/" in path else "MANIFEST_UNKNOWN"
        error = {"errors": [{"code": code, "message": "unknown", "detail": path}]}
        return 404, {"Content-Type": "application/json"}, json.dumps(error).encode()

    def _record(self, method: str, path: str, status: int, written: int, client: str) -> None:
        kind, name, reference = classify(path)
        request = Request(method, path, status, written, client, "", kind, name, reference)
        with self._lock:
            self.requests.append(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, with_body: bool) -> None:
                status, headers, body = registry._answer(self.path)
                self.send_response(status)
                self.send_header(*API_HEADER)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)
                written = len(body) if with_body else 0
                registry._record(self.command, self.path, status, written, self.client_address[0])

            def do_GET(self) -> None:
                self._serve(with_body=True)

            def do_HEAD(self) -> None:
                self._serve(with_body=False)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


class PullingNode(Node):
    """A node whose ``docker pull`` fetches the image from ``through`` (None: from elsewhere).

    Its daemon lists ``mirror_url`` and its daemon log is ``log`` (empty by
    default: a log that shows nothing). ``through`` pulls the tag's manifest,
    the platform manifest and every blob, as dockerd would through a mirror.
    """

    def __init__(
        self,
        name: str,
        mirror_url: str,
        image: SyntheticImage,
        through: requests.Session | None = None,
        through_url: str = "",
        log: str = "",
    ) -> None:
        self.name = name
        self.mirror_url = mirror_url
        self.image = image
        self.through = through
        self.through_url = through_url
        self.log = log
        self.holds = False

    def _pull(self) -> CommandResult:
        if self.through is not None:
            base, name = self.through_url, self.image.name
            self.through.get(f"{base}/v2/{name}/manifests/{self.image.tag}", timeout=5)
            for manifest in self.image.manifests:
                self.through.get(f"{base}/v2/{name}/manifests/{manifest.digest}", timeout=5)
                for digest in (manifest.config_digest, *manifest.layer_digests):
                    self.through.get(f"{base}/v2/{name}/blobs/{digest}", timeout=5)
        self.holds = True
        return CommandResult(0, f"Digest: {self.image.manifest_digest}\nStatus: Downloaded\n")

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        if argv[:2] == ("docker", "info"):
            info = {
                "OSType": "linux",
                "Architecture": "x86_64",
                "RegistryConfig": {"Mirrors": [self.mirror_url.rstrip("/") + "/"]},
            }
            return CommandResult(0, json.dumps(info))
        if argv[:3] == ("docker", "image", "inspect"):
            return CommandResult(0 if self.holds else 1, "")
        if argv[:2] == ("docker", "pull"):
            return self._pull()
        if argv[0] == "date":
            return CommandResult(0, f"{time.time():.6f}")
        return CommandResult(1, f"{argv[0]}: not here")

    def read_file(self, path: str) -> bytes:
        return json.dumps({"registry-mirrors": [self.mirror_url]}).encode()

    def daemon_log(self, since: float | None = None) -> str:
        return self.log

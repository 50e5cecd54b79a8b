"""The plain-HTTP probe against in-process servers on 127.0.0.1: each kind of answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mirrorcheck.probes.plain_http import PlainKind, probe_plain_http
from tests.unit.tls_servers import closed_port

HOST = "mirror.test"
TIMEOUT = 2.0


@contextmanager
def http_server(status: int, headers: dict[str, str], body: bytes = b"") -> Iterator[int]:
    """A local HTTP server answering every GET the same way; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def garbage_server() -> Iterator[int]:
    """A TCP server that answers every connection with bytes that are not HTTP."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.sendall(b"\x16\x03\x01\x00\x02\x02\x28")  # a TLS alert record
            connection.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def probe(port: int, path: str = "/v2/"):
    return probe_plain_http(HOST, path, address="127.0.0.1", port=port, timeout=TIMEOUT)


def test_a_registry_answering_in_plain_http_is_recognised_by_its_header():
    headers = {
        "Docker-Distribution-API-Version": "registry/2.0",
        "Content-Type": "application/json",
    }
    with http_server(200, headers, b"{}") as port:
        answer = probe(port)

    assert answer.kind is PlainKind.HTTP
    assert answer.serves_registry
    assert answer.api_version == "registry/2.0"
    assert answer.url == f"http://{HOST}:{port}/v2/"
    assert "registry/2.0" in answer.describe()


def test_a_registry_401_still_counts_as_serving_the_registry():
    headers = {
        "Docker-Distribution-API-Version": "registry/2.0",
        "WWW-Authenticate": 'Bearer realm="https://auth.example/token"',
    }
    with http_server(401, headers) as port:
        assert probe(port).serves_registry


def test_a_manifest_served_without_registry_headers_still_counts_as_content():
    with http_server(200, {"Content-Type": "application/json"}, b'{"schemaVersion":2}') as port:
        answer = probe(port, "/v2/library/alpine/manifests/latest")

    assert answer.serves_registry
    assert answer.size == len(b'{"schemaVersion":2}')


def test_a_redirect_to_https_is_a_redirect_and_not_registry_content():
    with http_server(301, {"Location": "https://mirror.test/v2/"}) as port:
        answer = probe(port)

    assert answer.kind is PlainKind.REDIRECT
    assert answer.redirects_to_https
    assert not answer.serves_registry
    assert "redirect to https://mirror.test/v2/" in answer.describe()


def test_a_redirect_that_stays_on_http_is_not_a_redirect_to_https():
    with http_server(302, {"Location": "http://mirror.test:5000/v2/"}) as port:
        answer = probe(port)

    assert answer.kind is PlainKind.REDIRECT
    assert not answer.redirects_to_https


def test_an_error_page_without_registry_headers_is_not_registry_content():
    with http_server(404, {"Content-Type": "text/html"}, b"<h1>not found</h1>") as port:
        answer = probe(port)

    assert (answer.kind, answer.status) == (PlainKind.HTTP, 404)
    assert answer.reachable
    assert not answer.serves_registry


def test_a_closed_port_is_refused_and_names_the_address():
    port = closed_port()
    answer = probe(port)

    assert answer.kind is PlainKind.REFUSED
    assert not answer.reachable and not answer.serves_registry
    assert f"127.0.0.1:{port}" in answer.describe()


def test_a_port_that_does_not_speak_http_is_not_http():
    with garbage_server() as port:
        answer = probe(port)

    assert answer.kind is PlainKind.NOT_HTTP
    assert not answer.serves_registry


def test_the_body_read_stops_at_the_limit():
    body = b"x" * (3 << 20)
    with http_server(200, {}, body) as port:
        answer = probe_plain_http(
            HOST, "/v2/", address="127.0.0.1", port=port, timeout=TIMEOUT, max_body=1 << 20
        )

    assert 1 << 20 <= answer.size < len(body)


def test_the_url_keeps_the_mirrors_port_while_the_connection_goes_elsewhere():
    headers = {"Docker-Distribution-API-Version": "registry/2.0"}
    with http_server(200, headers, b"{}") as port:
        answer = probe_plain_http(
            HOST, "/v2/", address="127.0.0.1", port=5000, connect_port=port, timeout=TIMEOUT
        )

    assert answer.url == f"http://{HOST}:5000/v2/"
    assert answer.serves_registry
    assert f"(at 127.0.0.1:{port})" in answer.describe()
    assert "HTTP 200 with a JSON object" in answer.describe()  # why it counts as the registry


def test_a_registry_header_on_an_html_error_page_is_not_registry_content():
    headers = {"Docker-Distribution-API-Version": "registry/2.0", "Content-Type": "text/html"}
    with http_server(404, headers, b"<h1>not found</h1>") as port:
        answer = probe(port)

    assert not answer.serves_registry


def test_a_registry_error_body_is_registry_content_without_any_header():
    body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
    with http_server(404, {"Content-Type": "application/json"}, body) as port:
        answer = probe(port, "/v2/library/busybox/manifests/latest")

    assert answer.serves_registry
    assert "MANIFEST_UNKNOWN" in answer.describe()

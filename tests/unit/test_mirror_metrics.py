"""The mirror's counters: expvar (registry 2.x) and Prometheus (3.x) read into one shape.

The Prometheus body is tests/data/registry3-proxy-metrics.prom (constructed in
the text exposition format from distribution 3.x proxymetrics.go; see
tests/data/README.md). A real HTTP server on loopback stands in for the
registry's debug server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from mirrorcheck.probes.mirror_metrics import (
    PROMETHEUS_PATH_ENV,
    MetricsError,
    parse_counters,
    parse_prometheus,
    prometheus_path_of,
    read_counters,
)

DATA = Path(__file__).resolve().parents[1] / "data"
PROMETHEUS_TEXT = (DATA / "registry3-proxy-metrics.prom").read_text(encoding="utf-8")
EXPVAR = {
    "registry": {
        "proxy": {
            "blobs": {"Requests": 4, "Hits": 2, "Misses": 2, "BytesPulled": 10, "BytesPushed": 20},
            "manifests": {"Requests": 3, "Hits": 1, "Misses": 2},
        }
    }
}


def test_prometheus_text_reads_into_the_expvar_names():
    counters = parse_prometheus(PROMETHEUS_TEXT)
    assert counters["registry.proxy.blobs.Requests"] == 4
    assert counters["registry.proxy.blobs.Hits"] == 2
    assert counters["registry.proxy.blobs.Misses"] == 2
    assert counters["registry.proxy.blobs.BytesPulled"] == 2153342
    assert counters["registry.proxy.blobs.BytesPushed"] == 4306684
    assert counters["registry.proxy.manifests.Requests"] == 3
    assert counters["registry.proxy.manifests.Hits"] == 1
    assert counters["registry.proxy.manifests.Misses"] == 2
    assert counters["registry.proxy.manifests.BytesPulled"] == 3092
    assert counters["registry.proxy.manifests.BytesPushed"] == 4638


def test_both_formats_give_the_same_names():
    assert set(parse_prometheus(PROMETHEUS_TEXT).values) == set(parse_counters(EXPVAR).values)


def test_a_counter_not_yet_created_reads_zero():
    only_blobs = "\n".join(
        line for line in PROMETHEUS_TEXT.splitlines() if 'type="manifest"' not in line
    )
    counters = parse_prometheus(only_blobs + "\n")
    assert counters["registry.proxy.manifests.Requests"] == 0
    assert counters["registry.proxy.blobs.Requests"] == 4


def test_differences_between_two_prometheus_readings():
    later = PROMETHEUS_TEXT.replace(
        'registry_proxy_hits_total{type="blob"} 2', 'registry_proxy_hits_total{type="blob"} 5'
    )
    delta = parse_prometheus(later).minus(parse_prometheus(PROMETHEUS_TEXT))
    assert delta["registry.proxy.blobs.Hits"] == 3
    assert delta["registry.proxy.blobs.Misses"] == 0


def test_metrics_without_proxy_counters_are_refused():
    without = "\n".join(
        line for line in PROMETHEUS_TEXT.splitlines() if "registry_proxy_" not in line
    )
    with pytest.raises(MetricsError, match="not running as a pull-through cache"):
        parse_prometheus(without + "\n")


def test_text_that_is_not_the_exposition_format_is_refused():
    with pytest.raises(MetricsError, match="not a Prometheus text exposition"):
        parse_prometheus("<html>registry_proxy_hits_total{type=</html>\n")


class _DebugServer(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, str]]] = {}

    def do_GET(self):
        status, body = self.routes.get(self.path, (404, "404 page not found\n"))
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def debug_server() -> Iterator[tuple[str, dict[str, tuple[int, str]]]]:
    routes: ClassVar[dict[str, tuple[int, str]]] = {}
    handler = type("Handler", (_DebugServer,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
        server.server_close()


def test_expvar_is_read_when_it_has_the_counters(debug_server):
    url, routes = debug_server
    routes["/debug/vars"] = (200, json.dumps(EXPVAR))
    routes["/metrics"] = (200, PROMETHEUS_TEXT)
    assert read_counters(url)["registry.proxy.blobs.BytesPulled"] == 10


def test_prometheus_is_read_when_expvar_lacks_the_counters(debug_server):
    url, routes = debug_server
    routes["/debug/vars"] = (200, json.dumps({"cmdline": ["registry"], "memstats": {}}))
    routes["/metrics"] = (200, PROMETHEUS_TEXT)
    assert read_counters(url)["registry.proxy.blobs.BytesPulled"] == 2153342


def test_prometheus_at_a_configured_path(debug_server):
    url, routes = debug_server
    routes["/prom"] = (200, PROMETHEUS_TEXT)
    assert read_counters(url, prometheus_path="prom")["registry.proxy.manifests.Misses"] == 2


def test_neither_place_names_both_and_the_fix(debug_server):
    url, _routes = debug_server
    with pytest.raises(MetricsError) as caught:
        read_counters(url)
    message = str(caught.value)
    assert "/debug/vars answered HTTP 404" in message
    assert "/metrics answered HTTP 404" in message
    assert "http.debug.prometheus.enabled: true" in message


def test_an_unreachable_debug_server_names_the_fix():
    with pytest.raises(MetricsError, match=r"set http\.debug\.addr"):
        read_counters("http://127.0.0.1:9", timeout=1.0)


V3_CONFIG = """\
version: 0.1
http:
  addr: :5000
  debug:
    addr: :5001
    prometheus:
      enabled: true
      path: /prom/metrics
proxy:
  remoteurl: https://registry-1.docker.io
"""


def test_the_prometheus_path_comes_from_the_registry_config():
    assert prometheus_path_of(V3_CONFIG) == "/prom/metrics"
    assert prometheus_path_of(V3_CONFIG.replace("/prom/metrics", "prom")) == "/prom"
    # Parsed already (a stack's inline config), the same.
    assert prometheus_path_of({"http": {"debug": {"prometheus": {"path": "/m"}}}}) == "/m"


def test_without_a_path_in_the_config_the_default_holds():
    assert prometheus_path_of(V3_CONFIG.replace("      path: /prom/metrics\n", "")) == "/metrics"
    assert prometheus_path_of("version: 0.1\nhttp:\n  addr: :5000\n") == "/metrics"
    assert prometheus_path_of(None) == "/metrics"
    # A file that does not parse is the lint's to report; the counters try the default.
    assert prometheus_path_of("http: [unclosed\n") == "/metrics"
    assert prometheus_path_of("http:\n  debug:\n    prometheus:\n      path: [a]\n") == "/metrics"


def test_the_environment_override_wins_over_the_file():
    environment = {PROMETHEUS_PATH_ENV: "/from-env"}
    assert prometheus_path_of(V3_CONFIG, environment) == "/from-env"
    assert PROMETHEUS_PATH_ENV == "REGISTRY_HTTP_DEBUG_PROMETHEUS_PATH"


def test_the_configured_path_is_where_the_counters_are_read(debug_server):
    url, routes = debug_server
    routes["/debug/vars"] = (200, json.dumps({"memstats": {}}))
    routes["/prom/metrics"] = (200, PROMETHEUS_TEXT)
    path = prometheus_path_of(V3_CONFIG)
    assert read_counters(url, prometheus_path=path)["registry.proxy.manifests.Misses"] == 2

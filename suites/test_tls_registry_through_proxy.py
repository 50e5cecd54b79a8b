"""TLS proxy forwards the registry: ``/v2/`` answers as a registry through the proxy,
and a layer of more than 50 MB streams through intact.

These checks talk to the proxy without verifying its certificate, on purpose:
a broken certificate then fails the certificate checks (and the node checks,
which verify as dockerd does), while these still say whether the proxy
forwards the registry correctly. The large layer needs a test image pushed
upstream: hermetic only.
"""

from __future__ import annotations

import time

import pytest
import requests

from mirrorcheck.probes.plain_http import API_VERSION_HEADER

pytestmark = [
    # Verification is skipped on purpose (see the module docstring).
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

# Over 50 MB by either reading of "MB": a proxy's default body or buffer limits
# (nginx proxy_max_temp_file_size, Traefik buffering middlewares) bite well below.
LARGE_LAYER_BYTES = 52 * 2**20


def test_registry_api_answers_through_the_proxy(deployment, proxy_client, record_property):
    endpoint = deployment.endpoint
    url = proxy_client.url("/v2/")
    try:
        response = proxy_client.ping()
    except requests.RequestException as error:
        pytest.fail(
            f"GET {url} (at {endpoint.address}:{endpoint.port}) got no answer: {error}. "
            f"Fix: make the proxy serve HTTPS for {endpoint.fqdn} on port {endpoint.port}",
            pytrace=False,
        )
    api_version = response.headers.get(API_VERSION_HEADER, "")
    challenge = response.headers.get("WWW-Authenticate", "")
    record_property("v2_status", response.status_code)
    record_property("v2_api_version", api_version)
    backend_fix = (
        "point the proxy at the registry's plain port (Traefik: labels traefik.port=5000 and "
        "traefik.docker.network on the registry service; the port is the registry's http.addr)"
    )
    if response.status_code == 401:
        scheme = challenge.split(" ", 1)[0].lower()
        assert scheme in ("bearer", "basic"), (
            f"GET {url} answered 401 without a Bearer or Basic challenge "
            f"(WWW-Authenticate: {challenge!r}); clients cannot authenticate. "
            "Fix: let the proxy pass the registry's WWW-Authenticate header through"
        )
    else:
        assert response.status_code == 200, (
            f"GET {url} answered HTTP {response.status_code} ({response.text[:200]!r}), "
            f"not a registry's 200 or 401: the proxy does not reach the registry. Fix: "
            f"{backend_fix}"
        )
    assert api_version == "registry/2.0", (
        f"GET {url} carries {API_VERSION_HEADER}: {api_version!r}, not 'registry/2.0': "
        "what answers is not the registry, or the proxy drops its headers. Fix: "
        f"{backend_fix}, and do not strip response headers"
    )


def test_large_layer_streams_through_the_proxy_intact(
    lab, serving_mirror, proxy_client, unique_name, record_property
):
    image = lab.push_image(unique_name, layer_sizes=[LARGE_LAYER_BYTES])
    digest = max(image.layer_digests, key=lambda d: len(image.blobs[d]))
    expected = len(image.blobs[digest])
    record_property("large_layer_bytes", expected)
    # Cold: streamed from upstream through the mirror; warm: from the mirror's storage.
    for temperature in ("cold", "warm"):
        started = time.monotonic()
        fetched = proxy_client.fetch_blob(image.name, digest)
        seconds = time.monotonic() - started
        record_property(f"large_layer_{temperature}_seconds", round(seconds, 3))
        record_property(
            f"large_layer_{temperature}_mb_per_s", round(expected / 1e6 / max(seconds, 1e-6), 1)
        )
        where = f"GET {fetched.url} ({temperature})"
        assert fetched.status == 200, (
            f"{where} answered HTTP {fetched.status}. Fix: the proxy must not cap response "
            "sizes (Traefik: no buffering middleware with maxResponseBodyBytes; nginx: "
            "proxy_buffering off or proxy_max_temp_file_size 0)"
        )
        assert fetched.size == expected, (
            f"{where} delivered {fetched.size} of {expected} bytes: the proxy truncated the "
            "layer (a size limit, a buffer or a timeout). Fix: remove response size limits and "
            "buffering for the mirror (Traefik: no buffering middleware; nginx: proxy_buffering "
            "off, proxy_max_temp_file_size 0, proxy_read_timeout long enough)"
        )
        assert fetched.sha256 == digest, (
            f"{where} delivered {expected} bytes hashing to {fetched.sha256}, not {digest}: "
            "the proxy altered the layer. Fix: disable any compression or rewriting "
            "middleware on the mirror's route"
        )
        if temperature == "cold":
            lab.settle(image)

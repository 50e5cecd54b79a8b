"""The mirror is read-only through the TLS proxy: pushes and deletes are refused.

Hermetic only: live mode never writes. The requests skip certificate
verification on purpose: the certificate has its own checks.
"""

from __future__ import annotations

import pytest

from mirrorcheck.probes.registry_api import RegistryClient

pytestmark = [
    # Verification is skipped on purpose (see the module docstring).
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

HTTP_TIMEOUT = 120.0
WRITE_FIX = (
    "run the registry in proxy mode (proxy.remoteurl set: distribution then answers 405 "
    "UNSUPPORTED to writes) and/or allow only GET and HEAD on the mirror's route at the "
    "proxy (nginx: limit_except GET HEAD { deny all; }; Traefik: a route rule on Method)"
)


@pytest.fixture(scope="session")
def writes_allowed(settings) -> None:
    """Pushes and deletes happen in the hermetic lab only: live mode is read-only."""
    if settings.live:
        pytest.skip(
            "live mode is read-only: it never pushes to or deletes from the mirror, so the "
            "refusal of writes is checked in the hermetic lab only (run without --mirror-url)"
        )


def _cache_through_proxy(proxy_client: RegistryClient, image) -> None:
    """Pull ``image`` through the proxy so that the mirror holds its blobs."""
    manifest = proxy_client.fetch_manifest(image.name, image.manifest_digest)
    assert manifest.status == 200, (
        f"GET {manifest.url} answered {manifest.status}: the mirror cannot serve a fresh image, "
        "so the read-only check cannot run; see test_registry_api_answers_through_the_proxy"
    )
    for digest in image.blobs:
        proxy_client.fetch_blob(image.name, digest)


def test_pushes_through_the_proxy_are_refused(
    writes_allowed, lab, serving_mirror, proxy_client, unique_name, record_property
):
    image = lab.push_image(unique_name, layer_sizes=[2_000])
    _cache_through_proxy(proxy_client, image)
    lab.settle(image)
    # With every blob present, a writable registry would accept this manifest (201).
    upload = proxy_client.start_upload(image.name)
    manifest = proxy_client.session.put(
        proxy_client.url(f"/v2/{image.name}/manifests/pushed"),
        data=image.top_body,
        headers={"Content-Type": image.top_media_type},
        timeout=HTTP_TIMEOUT,
    )
    statuses = {
        f"POST /v2/{image.name}/blobs/uploads/": upload.status_code,
        f"PUT /v2/{image.name}/manifests/pushed": manifest.status_code,
    }
    record_property("push_statuses", statuses)
    accepted = {request: status for request, status in statuses.items() if status < 300}
    assert not accepted, (
        f"the mirror accepts writes through {lab.mirror_url}: {accepted}. Anyone reaching the "
        f"proxy can plant images that nodes then pull as Docker Hub's. Fix: {WRITE_FIX}"
    )


def test_deletes_through_the_proxy_are_refused(
    writes_allowed, lab, serving_mirror, proxy_client, unique_name, record_property
):
    image = lab.push_image(unique_name, layer_sizes=[2_000])
    _cache_through_proxy(proxy_client, image)
    lab.settle(image)
    blob = image.layer_digests[0]
    deleted_manifest = proxy_client.delete_manifest(image.name, image.manifest_digest)
    deleted_blob = proxy_client.session.delete(
        proxy_client.url(f"/v2/{image.name}/blobs/{blob}"), timeout=HTTP_TIMEOUT
    )
    statuses = {
        f"DELETE /v2/{image.name}/manifests/{image.manifest_digest}": deleted_manifest.status_code,
        f"DELETE /v2/{image.name}/blobs/{blob}": deleted_blob.status_code,
    }
    record_property("delete_statuses", statuses)
    accepted = {request: status for request, status in statuses.items() if status < 300}
    assert not accepted, (
        f"the mirror accepts deletes through {lab.mirror_url}: {accepted}. Anyone reaching "
        f"the proxy can empty the cache. Fix: {WRITE_FIX}"
    )
    still = proxy_client.fetch_manifest(image.name, image.manifest_digest)
    assert still.status == 200, (
        f"after the refused deletes, GET {still.url} answered {still.status}: the mirror lost "
        f"the manifest anyway, so something deletes through the proxy. Fix: {WRITE_FIX}"
    )

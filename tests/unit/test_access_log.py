"""Access-log accounting on a recorded upstream log (distribution 2.8.2, two serial pulls).

The recording: the lab pushed an image of two layers to the upstream, node-1
pulled it through the mirror (cold), then node-2 pulled it (warm).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirrorcheck.probes.access_log import (
    BLOB,
    MANIFEST_BY_DIGEST,
    MANIFEST_BY_TAG,
    OTHER,
    PING,
    UPLOAD,
    AccessLogError,
    Traffic,
    classify,
    parse_combined_line,
    parse_line,
    parse_log,
)

DATA = Path(__file__).resolve().parent.parent / "data"
RECORDED = (DATA / "upstream-2.8.2-two-serial-pulls.log").read_text()
FACTS = json.loads((DATA / "upstream-2.8.2-two-serial-pulls.json").read_text())
MIRROR = FACTS["mirror_addresses"][0]
REPOSITORY = FACTS["image"].split(":")[0]
BLOBS = {*FACTS["layers"], FACTS["config"]}


@pytest.fixture
def mirror_traffic() -> Traffic:
    return Traffic(parse_log(RECORDED)).from_client(MIRROR).for_repository(REPOSITORY)


def test_pushes_by_the_lab_are_not_counted_as_mirror_traffic():
    everything = Traffic(parse_log(RECORDED))
    pushes = everything.count("PUT", MANIFEST_BY_TAG) + everything.count("POST", UPLOAD)
    assert pushes > 0
    assert Traffic(parse_log(RECORDED)).from_client(MIRROR).count(kind=UPLOAD) == 0


def test_cold_then_warm_pull_costs_two_gets_per_blob_in_total(mirror_traffic):
    # distribution 2.8: the cold pull streams each blob and downloads it again to store it.
    assert mirror_traffic.blob_gets() == {digest: 2 for digest in BLOBS}


def test_two_pulls_by_tag_cost_two_tag_heads_and_one_manifest_get(mirror_traffic):
    assert mirror_traffic.count("HEAD", MANIFEST_BY_TAG) == 2
    assert mirror_traffic.count("GET", MANIFEST_BY_TAG) == 1
    assert mirror_traffic.count("GET", MANIFEST_BY_DIGEST) == 0
    assert mirror_traffic.billable() == 1


def test_blob_bytes_are_twice_each_blob_size(mirror_traffic):
    sizes = mirror_traffic.blob_bytes()
    assert set(sizes) == BLOBS
    assert all(size > 0 and size % 2 == 0 for size in sizes.values())


def test_a_mark_splits_the_log_exactly():
    requests = parse_log(RECORDED)
    halves = Traffic(requests[:10]), Traffic(requests[10:])
    assert len(halves[0]) + len(halves[1]) == len(requests)


def test_classify_names_every_registry_route():
    digest = "sha256:" + "a" * 64
    assert classify("/v2/") == (PING, "", "")
    assert classify(f"/v2/library/nginx/manifests/{digest}") == (
        MANIFEST_BY_DIGEST,
        "library/nginx",
        digest,
    )
    assert classify("/v2/library/nginx/manifests/1.27-alpine") == (
        MANIFEST_BY_TAG,
        "library/nginx",
        "1.27-alpine",
    )
    assert classify(f"/v2/a/b/blobs/{digest}") == (BLOB, "a/b", digest)
    assert classify("/v2/a/blobs/uploads/123?digest=x")[0] == UPLOAD
    assert classify("/debug/vars")[0] == OTHER


def test_json_and_combined_lines_of_one_request_are_counted_once():
    json_line = json.dumps(
        {
            "msg": "response completed",
            "http.request.method": "GET",
            "http.request.uri": "/v2/",
            "http.response.status": 200,
            "http.response.written": 2,
            "http.request.remoteaddr": "172.18.0.3:4000",
        }
    )
    combined = '172.18.0.3 - - [28/Nov/2026:20:21:46 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "x"'
    assert len(parse_log(json_line + "\n" + combined)) == 1
    assert len(parse_log(combined)) == 1


def test_combined_line_from_nginx_is_read_with_its_client_address():
    line = (
        '172.20.0.5 - - [28/Nov/2026:20:21:46 +0000] "HEAD /v2/mirrorcheck/x/manifests/v1 '
        'HTTP/1.1" 200 0 "-" "docker/20.10.24"'
    )
    request = parse_combined_line(line)
    assert request is not None
    assert (request.client, request.method, request.kind, request.written) == (
        "172.20.0.5",
        "HEAD",
        MANIFEST_BY_TAG,
        0,
    )


def test_a_completed_entry_without_its_fields_is_an_error_not_a_silent_skip():
    with pytest.raises(AccessLogError, match="completed request without"):
        parse_line(json.dumps({"msg": "response completed", "http.request.uri": "/v2/"}))


def test_other_log_lines_are_not_requests():
    assert parse_line('{"msg": "listening on [::]:5000"}') is None
    assert parse_line("time=... level=info msg=x") is None
    assert parse_line('{"msg": "response completed", "http.request') is None


# Recorded at Docker Hub's stand-in on a swarm (2026-11-30): node-3's dockerd (Engine
# 28.5.2, containerd store) fetching a blob itself, and the mirror's task (distribution
# 2.8.2) on node-2 fetching one; both reach it from their node's address.
DOCKERD_LINE = (
    '{"go.version":"go1.19.8","http.request.host":"registry-1.docker.io","http.request.id":'
    '"5612827a-9d87-4a10-8bca-8d17365bd27c","http.request.method":"GET",'
    '"http.request.remoteaddr":"192.168.128.4:47350","http.request.uri":"/v2/mirrorcheck/ua/'
    'blobs/sha256:6a8b0bb7dbd57f4dbedc6109d997cebcd2c1f880bed8cc15cda866036a209e37",'
    '"http.request.useragent":"docker/28.5.2+dfsg4 go/go1.27.1 git-commit/3ef3c07c883be49a2e80'
    "97bcf6d2952fce1d70eb kernel/6.18.44-fc-v595 os/linux arch/amd64 containerd-client/2.1.9+"
    'unknown storage-driver/overlayfs UpstreamClient(Docker-Client/28.5.2+dfsg4 \\\\(linux\\\\))",'
    '"http.response.contenttype":"application/octet-stream","http.response.duration":'
    '"11.789569ms","http.response.status":200,"http.response.written":408,"level":"info",'
    '"msg":"response completed","time":"2026-11-30T15:11:49.944957537Z"}'
)
DISTRIBUTION_LINE = (
    '{"go.version":"go1.19.8","http.request.host":"registry-1.docker.io","http.request.id":'
    '"09b80392-d417-4f22-b05b-3e153e5820d5","http.request.method":"GET",'
    '"http.request.remoteaddr":"192.168.128.4:57584","http.request.uri":"/v2/mirrorcheck/ua2/'
    'blobs/sha256:d0c1a04dd776f623f648086514d0a09238a7a9cb83066405b41a57f8f809614b",'
    '"http.request.useragent":"Go-http-client/2.0","http.response.contenttype":'
    '"application/octet-stream","http.response.duration":"24.799578ms",'
    '"http.response.status":200,"http.response.written":409,"level":"info",'
    '"msg":"response completed","time":"2026-11-30T15:11:52.336159483Z"}'
)


def test_the_user_agent_tells_a_nodes_own_fetch_from_the_mirrors_at_one_address():
    traffic = Traffic(parse_log(DOCKERD_LINE + "\n" + DISTRIBUTION_LINE))
    assert {r.client for r in traffic.requests} == {"192.168.128.4"}
    (node,) = traffic.by_agent(docker_engine=True).requests
    (mirror,) = traffic.by_agent(docker_engine=False).requests
    assert node.user_agent.startswith("docker/28.5.2") and node.from_docker_engine
    assert mirror.user_agent == "Go-http-client/2.0" and not mirror.from_docker_engine


def test_the_combined_line_keeps_its_user_agent():
    line = (
        '172.18.0.3 - - [28/Nov/2026:20:21:46 +0000] "GET /v2/ HTTP/1.1" 200 2 "" '
        '"docker/20.10.24 go/go1.19.8 git-commit/5d6db84 kernel/6.1 os/linux arch/amd64"'
    )
    request = parse_combined_line(line)
    assert request is not None and request.from_docker_engine
    assert parse_combined_line(line.rsplit(' "', 2)[0]).user_agent == ""

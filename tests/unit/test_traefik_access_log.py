"""Traefik's JSON access log read as Request/Traffic, on lines a real Traefik 3.7.15 wrote.

The lines were captured in the lab: Traefik as a swarm service on the manager,
routing ``Host(`mirror.test`)`` on ``websecure`` to the registry service, with
``accesslog.fields.headers.names.User-Agent=keep`` for the last two.
"""

from __future__ import annotations

import pytest

from mirrorcheck.probes.access_log import MANIFEST_BY_TAG, PING, AccessLogError, Traffic
from mirrorcheck.probes.traefik_access_log import parse_traefik_line, parse_traefik_log, routers

# Traefik's own log in its default (coloured text) format, as the task wrote it.
OWN_LINE = (
    "\x1b[90m2026-11-30T14:51:37Z\x1b[0m \x1b[32mINF\x1b[0m \x1b[1mServer responded with a "
    "certificate.\x1b[0m \x1b[36mdomains=\x1b[0mmirror.test \x1b[36mlib=\x1b[0mlego"
)
PING_LINE = (
    '{"ClientAddr":"192.168.0.1:46598","ClientHost":"192.168.0.1","ClientPort":"46598",'
    '"ClientUsername":"-","DownstreamContentSize":2,"DownstreamStatus":200,"Duration":13808786,'
    '"OriginContentSize":2,"OriginDuration":13763862,"OriginStatus":200,"Overhead":44924,'
    '"RequestAddr":"mirror.test","RequestContentSize":0,"RequestCount":1,'
    '"RequestHost":"mirror.test","RequestMethod":"GET","RequestPath":"/v2/","RequestPort":"-",'
    '"RequestProtocol":"HTTP/1.1","RequestScheme":"https","RetryAttempts":0,'
    '"RouterName":"registry-mirror@swarm","ServiceAddr":"10.0.1.6:5000",'
    '"ServiceName":"registry-mirror@swarm","ServiceURL":"http://10.0.1.6:5000",'
    '"StartLocal":"2026-11-30T14:51:38.197325149Z","StartUTC":"2026-11-30T14:51:38.197325149Z",'
    '"TLSCipher":"TLS_AES_128_GCM_SHA256","TLSVersion":"1.3","entryPointName":"websecure",'
    '"level":"info","msg":"","time":"2026-11-30T14:51:38Z"}'
)

# A node-like client's manifest GET, with the User-Agent header kept in the log.
MANIFEST_LINE = (
    '{"ClientAddr":"192.168.16.1:39602","ClientHost":"192.168.16.1","ClientPort":"39602","Cli'
    'entUsername":"-","DownstreamContentSize":96,"DownstreamStatus":404,"Duration":5813117,"O'
    'riginContentSize":96,"OriginDuration":5774746,"OriginStatus":404,"Overhead":38371,"Reque'
    'stAddr":"mirror.test","RequestContentSize":0,"RequestCount":2,"RequestHost":"mirror.test'
    '","RequestMethod":"GET","RequestPath":"/v2/library/busybox/manifests/latest","RequestPor'
    't":"-","RequestProtocol":"HTTP/1.1","RequestScheme":"https","RetryAttempts":0,"RouterNam'
    'e":"registry-mirror@swarm","ServiceAddr":"10.0.1.6:5000","ServiceName":"registry-mirror@'
    'swarm","ServiceURL":"http://10.0.1.6:5000","StartLocal":"2026-11-30T15:22:35.009501338Z"'
    ',"StartUTC":"2026-11-30T15:22:35.009501338Z","TLSCipher":"TLS_AES_128_GCM_SHA256","TLSVe'
    'rsion":"1.3","entryPointName":"websecure","level":"info","msg":"","request_User-Agent":"'
    'docker/28.5.2 go/go1.24.4 git-commit/8c3b5ee","time":"2026-11-30T15:22:35Z"}'
)
# Another host name: Traefik has no router for it and answers 404 itself.
NO_ROUTE_LINE = (
    '{"ClientAddr":"192.168.16.1:39612","ClientHost":"192.168.16.1","ClientPort":"39612","Cli'
    'entUsername":"-","DownstreamContentSize":19,"DownstreamStatus":404,"Duration":37139,"Gzi'
    'pRatio":0,"OriginContentSize":0,"OriginDuration":0,"OriginStatus":0,"Overhead":37139,"Re'
    'questAddr":"other.test","RequestContentSize":0,"RequestCount":3,"RequestHost":"other.tes'
    't","RequestMethod":"GET","RequestPath":"/v2/","RequestPort":"-","RequestProtocol":"HTTP/'
    '1.1","RequestScheme":"https","RetryAttempts":0,"StartLocal":"2026-11-30T15:22:35.1620093'
    '79Z","StartUTC":"2026-11-30T15:22:35.162009379Z","TLSCipher":"TLS_AES_128_GCM_SHA256","T'
    'LSVersion":"1.3","entryPointName":"websecure","level":"info","msg":"","request_User-Agen'
    't":"python-requests/2.34.2","time":"2026-11-30T15:22:35Z"}'
)


def test_an_access_log_line_becomes_a_request():
    request = parse_traefik_line(PING_LINE)
    assert request is not None
    assert (request.method, request.path, request.kind) == ("GET", "/v2/", PING)
    assert (request.status, request.written, request.client) == (200, 2, "192.168.0.1")
    assert request.time == "2026-11-30T14:51:38.197325149Z"
    assert request.user_agent == ""  # Traefik drops headers unless told to keep them


def test_traefiks_own_lines_are_not_requests():
    assert parse_traefik_line(OWN_LINE) is None
    assert parse_traefik_line('{"level":"info","msg":"Starting provider"}') is None
    assert parse_traefik_line(PING_LINE[:80]) is None  # a partial line at the end of a stream


def test_a_kept_user_agent_and_a_manifest_get_are_read():
    request = parse_traefik_line(MANIFEST_LINE)
    assert request is not None and request.from_docker_engine
    assert (request.kind, request.name, request.reference) == (
        MANIFEST_BY_TAG,
        "library/busybox",
        "latest",
    )
    assert (request.status, request.written) == (404, 96)


def test_a_request_no_router_took_is_still_a_request():
    request = parse_traefik_line(NO_ROUTE_LINE)
    assert request is not None and not request.from_docker_engine
    assert routers("\n".join([PING_LINE, NO_ROUTE_LINE])) == ["registry-mirror@swarm", ""]


def test_a_mixed_log_gives_traffic_per_client():
    other = PING_LINE.replace("192.168.0.1", "192.168.0.9")
    text = "\n".join([OWN_LINE, PING_LINE, other, OWN_LINE, PING_LINE])
    traffic = Traffic(parse_traefik_log(text))
    assert len(traffic) == 3
    assert len(traffic.from_client("192.168.0.1")) == 2
    assert routers(text) == ["registry-mirror@swarm"] * 3


def test_an_access_line_without_its_status_is_reported():
    broken = PING_LINE.replace('"DownstreamStatus":200,', "")
    with pytest.raises(AccessLogError, match="DownstreamStatus"):
        parse_traefik_line(broken)

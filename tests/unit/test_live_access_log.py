"""A live mirror's access log read from a file: marks and the traffic since."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorcheck.probes.access_log import Traffic, parse_log
from mirrorcheck.targets.live.access_log import AccessLogError, access_log_from_url, client_signs
from mirrorcheck.versions import CLASSIC, CONTAINERD

DATA = Path(__file__).resolve().parent.parent / "data"
RECORDED = DATA / "upstream-2.8.2-two-serial-pulls.log"
# Captured in the lab: node-1 (Engine 28.5.2, containerd store) pulled busybox:latest through
# the mirror, then node-2 (20.10.24, classic): the mirror's own log (distribution 2.8, text
# formatter: combined lines, the TLS proxy's address as client) and the TLS proxy's (nginx).
MIRROR_LOG = DATA / "mirror-2.8-pulls-28.5-containerd-then-20.10-classic.log"
NGINX_LOG = DATA / "nginx-pulls-28.5-containerd-then-20.10-classic.log"


def test_a_log_file_gives_the_requests_logged_after_a_mark(tmp_path):
    lines = RECORDED.read_text().splitlines(keepends=True)
    log_file = tmp_path / "registry.log"
    log_file.write_text("".join(lines[: len(lines) // 2]))
    log = access_log_from_url(str(log_file))
    mark = log.mark()
    assert mark > 0
    assert len(log.traffic(mark)) == 0
    log_file.write_text("".join(lines))
    later = log.traffic(mark)
    assert len(later) == log.mark() - mark > 0


def test_a_relative_path_is_refused_with_the_fix():
    with pytest.raises(AccessLogError, match="absolute path"):
        access_log_from_url("registry.log")


def test_an_unknown_scheme_is_refused_with_the_fix():
    with pytest.raises(AccessLogError, match="docker://CONTAINER"):
        access_log_from_url("ftp://host/log")


def test_a_missing_file_is_refused_naming_it(tmp_path):
    with pytest.raises(AccessLogError, match="cannot read it"):
        access_log_from_url(str(tmp_path / "missing.log"))


def test_the_mirror_log_shows_each_pull_s_engine_and_image_store(tmp_path):
    text = MIRROR_LOG.read_text()
    log_file = tmp_path / "registry.log"
    log_file.write_text("")
    log = access_log_from_url(str(log_file))
    # Pull by pull, as live runs read it: a mark before each node's pull.
    node_1 = text.splitlines(keepends=True)[:18]  # the lines logged during node-1's pull
    log_file.write_text("".join(node_1))
    first = client_signs(log.traffic(0))
    mark = log.mark()
    log_file.write_text(text)
    second = client_signs(log.traffic(mark))
    assert (first.engine, first.image_store) == ("28.5.2+dfsg4", CONTAINERD)
    assert "?ns=docker.io in HEAD manifest-by-tag" in first.signs
    assert "user agent containerd-client/2.1.9+unknown" in first.signs
    assert (second.engine, second.image_store) == ("20.10.24+dfsg1", CLASSIC)
    assert second.signs == ("user agent docker/20.10.24+dfsg1, no containerd-client/",)
    assert "Engine 20.10.24+dfsg1, classic image store" in second.describe()
    assert log.mark() - mark == 5  # node-2's five requests


def test_the_tls_proxy_log_shows_each_node_s_store_by_its_address():
    traffic = Traffic(parse_log(NGINX_LOG.read_text()))
    by_node = {
        address: client_signs(traffic.from_client(address))
        for address in ("192.168.32.5", "192.168.32.6")
    }
    assert by_node["192.168.32.5"].figures() == {
        "engine": "28.5.2+dfsg4",
        "image_store": CONTAINERD,
        "signs": [
            "?ns=docker.io in HEAD manifest-by-tag",
            "user agent containerd-client/2.1.9+unknown",
            "?ns=docker.io in GET manifest-by-digest",
            "?ns=docker.io in GET blob",
        ],
    }
    assert by_node["192.168.32.6"].image_store == CLASSIC


def test_a_log_that_mixes_clients_names_no_single_engine_or_store():
    mixed = client_signs(Traffic(parse_log(NGINX_LOG.read_text())))
    assert mixed.engine == "" and mixed.image_store == ""
    assert mixed.image_stores == (CONTAINERD, CLASSIC)
    assert client_signs(Traffic([])).describe() == "no request from a Docker Engine"

"""Bypass: a pull that worked proves nothing unless it went through the mirror.

dockerd silently tries the next endpoint (finally Docker Hub) on almost any
mirror error, logging ``Attempting next endpoint`` at info level. This check
demands positive evidence per node: the TLS proxy served this node's pull of
a fresh image, and the node's daemon log shows no fallback.
"""

from __future__ import annotations

import time

import pytest

from fixtures.probes.access_log import BLOB

pytestmark = [pytest.mark.lab]

FALLBACK = "Attempting next endpoint"


def test_node_pull_goes_through_the_mirror(node, lab, unique_name, figures):
    image = lab.push_image(unique_name, layer_sizes=[300_000])
    started = time.time()
    proxy_mark = lab.proxy_mark()
    result = node.pull(image.reference)
    served = lab.proxy_traffic(proxy_mark).from_client(lab.node_address(node))
    served = served.for_repository(image.name)
    fallbacks = [line for line in node.daemon_log(since=started).splitlines() if FALLBACK in line]
    figures("served_to_node", served.by_method_and_kind())
    figures("fallbacks", len(fallbacks))

    answers = sorted({f"{r.method} {r.kind} -> {r.status}" for r in served.requests})
    assert served.count() > 0, (
        f"{node.name}'s pull of {image.reference} never reached the mirror {lab.mirror_url} "
        f"(pull {'succeeded' if result.ok else 'failed'}: {result.output.strip()[-300:]}). "
        "Fix: list the mirror first in /etc/docker/daemon.json registry-mirrors, reload dockerd"
    )
    assert served.count("GET", BLOB) >= 1, (
        f"{node.name} reached the mirror, which did not serve {image.reference} (answers: "
        f"{answers}); the daemon then fell back: {fallbacks[:1]}. Fix: the mirror's config "
        "(run the registry config lint: is it a pull-through cache of Docker Hub?)"
    )
    assert not fallbacks, (
        f"{node.name} fell back from the mirror to the next endpoint:\n"
        + "\n".join(fallbacks[:3])
        + "\nFix: make the mirror reachable and trusted from this node (DNS, /etc/docker/certs.d)"
    )
    assert result.ok, f"{node.name} could not pull through the mirror: {result.output[-600:]}"

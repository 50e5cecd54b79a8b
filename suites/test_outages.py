"""Outages: what the cluster can still pull when Docker Hub is down, and after a mirror restart.

distribution serves a cached tag when upstream is unreachable (stale but
available) and cached digests without asking. A restarted mirror keeps its
cache when its storage persists; distribution panics at start when upstream is
unreachable (measured on 2.8.2), so a mirror restarted during an outage serves
nothing: the limitations table names it.
"""

from __future__ import annotations

import time

import pytest

from mirrorcheck.probes.synthetic_image import make_image
from mirrorcheck.rules.limitations import MIRROR_RESTART_UPSTREAM_DOWN
from mirrorcheck.targets.lab.accounting import measure_pull
from mirrorcheck.versions import fallback_lines

pytestmark = [pytest.mark.hermetic_only]


@pytest.fixture(scope="module")
def cached_image(lab, healthy_nodes):
    """An image the mirror holds (one node pulled it), and one it has never seen."""
    cached = lab.push_image("", image=make_image("mirrorcheck/outage-cached", "v1"))
    uncached = lab.push_image("", image=make_image("mirrorcheck/outage-uncached", "v1"))
    first = measure_pull(lab, healthy_nodes[0], cached)
    assert first.result.ok, f"the warming pull failed: {first.result.output[-600:]}"
    return cached, uncached


def test_cached_images_still_pull_on_every_node_while_upstream_is_down(
    lab, healthy_nodes, cached_image, record_property
):
    cached, _ = cached_image
    by_digest = f"{cached.name}@{cached.manifest_digest}"
    failures = []
    with lab.upstream_down():
        for node in healthy_nodes:
            for reference in (cached.reference, by_digest):
                node.remove_image(cached.reference)
                node.remove_image(by_digest)
                result = node.pull(reference)
                if not result.ok:
                    failures.append(f"{node.name} {reference}: {result.output.strip()[-300:]}")
    record_property("pulls_during_outage", 2 * len(healthy_nodes) - len(failures))
    assert not failures, (
        "with upstream down, cached images did not pull (the mirror should serve its cache, "
        "a stale tag included):\n" + "\n".join(failures)
    )


def test_uncached_image_fails_cleanly_while_upstream_is_down(
    lab, healthy_nodes, cached_image, record_property
):
    _, uncached = cached_image
    node = healthy_nodes[-1]
    started, proxy_mark = time.time(), lab.proxy_mark()
    with lab.upstream_down():
        result = node.pull(uncached.reference)
    log = node.daemon_log(since=started)
    asked = lab.proxy_traffic(proxy_mark).from_client(lab.node_address(node))
    asked = asked.for_repository(uncached.name)
    record_property("uncached_pull_error", result.output.strip()[-300:])
    record_property("asked_the_mirror", asked.by_method_and_kind())
    record_property("fallbacks", fallback_lines(log)[:2])
    assert not result.ok, (
        f"{node.name} pulled {uncached.reference}, which the mirror never cached, while "
        "Docker Hub (the lab's stand-in) was down: something outside the lab served it"
    )
    # The node asked the mirror first (the proxy's log shows it), then fell back to
    # Docker Hub, which was down too: the pull failed and nothing left the lab.
    assert asked.count(), (
        f"{node.name} failed without asking the mirror {lab.mirror_url} for "
        f"{uncached.reference}:\n{result.output[-400:]}"
    )


def test_restarted_mirror_keeps_its_cache(lab, healthy_nodes, unique_name, record_property):
    image = lab.push_image(unique_name)
    first = measure_pull(lab, healthy_nodes[0], image)
    assert first.result.ok, f"the first pull failed: {first.result.output[-600:]}"
    restart = lab.start_mirror()
    assert restart.up, f"the mirror did not come back after a restart:\n{restart.log[-1500:]}"
    node = healthy_nodes[-1]
    node.remove_image(image.reference)
    after = measure_pull(lab, node, image)
    record_property("upstream_after_restart", after.upstream.by_method_and_kind())
    assert after.result.ok, f"{node.name} could not pull after the restart: {after.result.output}"
    assert not after.upstream.blob_gets(), (
        f"after a restart the mirror fetched {image.reference}'s blobs again "
        f"({after.upstream.blob_gets()}): its storage did not survive. Fix: keep the storage "
        "rootdirectory on a volume (the reference stack mounts /var/lib/registry from shared "
        "storage)"
    )


def test_mirror_restarted_during_an_upstream_outage_serves_its_cache(
    lab, healthy_nodes, cached_image, verdict, record_property
):
    cached, _ = cached_image
    node = healthy_nodes[0]
    try:
        with lab.upstream_down():
            restart = lab.start_mirror()
            served = False
            if restart.up:
                node.remove_image(cached.reference)
                served = node.pull(cached.reference).ok
    finally:
        if not lab.start_mirror().up:  # upstream is back: the mirror must start again
            pytest.fail("the mirror did not start again after the upstream came back")
    record_property("mirror_came_up_during_outage", restart.up)
    panic = next((line for line in restart.log.splitlines() if "panic" in line), "")
    verdict.judge(
        MIRROR_RESTART_UPSTREAM_DOWN,
        ideal=restart.up and served,
        tolerated=not restart.up,
        measured=f"mirror came up: {restart.up}; served the cache: {served}; {panic[:200]}",
        failure="a mirror restarted while upstream was unreachable did not serve its cache",
    )

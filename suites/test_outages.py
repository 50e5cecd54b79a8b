"""Outages: what the cluster can still pull when Docker Hub is down, and after a mirror restart.

distribution serves a cached tag when upstream is unreachable (stale but
available) and cached digests without asking. A restarted mirror keeps its
cache when its storage persists; distribution panics at start when upstream is
unreachable (measured on 2.8.2), so a mirror restarted during an outage serves
nothing: the limitations table names it.

The checks share one outage and its restarts (``outage``): while Docker Hub
is down every node pulls the cached image (the nodes at once: each has its own
image store) and the last node the uncached one beside it, then the mirror is restarted
and asked for the cached image; once Docker Hub is back the mirror is
restarted again, and a node pulls the cached image from that restarted mirror.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial

import pytest

from mirrorcheck.at_once import at_once, side_by_side
from mirrorcheck.probes.access_log import BLOB, Traffic
from mirrorcheck.probes.synthetic_image import SyntheticImage, make_image
from mirrorcheck.rules.limitations import MIRROR_RESTART_UPSTREAM_DOWN
from mirrorcheck.targets.lab.accounting import measure_pull
from mirrorcheck.targets.lab.mirror import MirrorStart
from mirrorcheck.targets.lab.timeline import Timeline
from mirrorcheck.targets.nodes.node import Node, PullResult
from mirrorcheck.versions import fallback_lines

pytestmark = [pytest.mark.hermetic_only]


@pytest.fixture(scope="module")
def uncached_image(lab) -> SyntheticImage:
    """An image Docker Hub holds and the mirror has never seen."""
    return lab.push_image("", image=make_image("mirrorcheck/outage-uncached", "v1"))


@dataclass
class Outage:
    """What one Docker Hub outage and the mirror restarts around it showed.

    ``cached_pulls``: each node's pulls of the cached image, by tag and by
    digest; ``uncached``: the last node's pull of the uncached image, with what
    it asked the mirror and its daemon log; ``restart_down``: the mirror
    restarted during the outage, and ``served_down`` whether it then served the
    cached image; ``restart_up``: the mirror restarted once Docker Hub was back;
    ``phases``: each phase as ``[start, end]`` seconds, each restart's steps.
    """

    cached_pulls: list[PullResult]
    uncached: PullResult
    uncached_asked: Traffic
    uncached_log: str
    restart_down: MirrorStart
    served_down: bool
    restart_up: MirrorStart
    phases: dict[str, object] = field(default_factory=dict)


def _forget(node: Node, image: SyntheticImage) -> None:
    """Remove every reference to ``image`` (tag and digest), so a pull needs its blobs again."""
    node.remove_image(image.reference, f"{image.name}@{image.manifest_digest}")


def _pull_cached(node: Node, image: SyntheticImage) -> list[PullResult]:
    pulls = []
    for reference in (image.reference, f"{image.name}@{image.manifest_digest}"):
        _forget(node, image)
        pulls.append(node.pull(reference))
    return pulls


def _asked_and_log(lab, node: Node, proxy_mark: int, since: float) -> tuple[Traffic, str]:
    """What ``node`` asked the proxy after ``proxy_mark``; its daemon log since ``since``."""
    asked = lab.proxy_traffic(proxy_mark).from_client(lab.node_address(node))
    return asked, node.daemon_log(since=since)


@pytest.fixture(scope="module")
def outage(lab, healthy_nodes, warmed_image, uncached_image) -> Outage:
    """One outage of Docker Hub, the mirror restarted during it and again after it.

    ``warmed_image`` (suites/conftest.py) is the image the mirror holds. The
    uncached pull runs beside the cached ones (another repository: neither
    waits for the other), and what it asked is read while the upstream comes
    back and the mirror restarts; each phase's time is kept (``Outage.phases``).
    """
    cached, uncached = warmed_image, uncached_image
    last, started, proxy_mark = healthy_nodes[-1], time.time(), lab.proxy_mark()
    served_down, timeline, outage_ = False, Timeline(), ExitStack()

    def back_up() -> MirrorStart:
        with timeline.span("upstream up"):
            outage_.close()
        with timeline.span("restart after"):
            return lab.start_mirror()  # upstream is back: the mirror must start again

    try:
        with timeline.span("upstream down"):
            outage_.enter_context(lab.upstream_down())
        with timeline.span("pulls"):
            uncached_pull, per_node = side_by_side(
                partial(last.pull, uncached.reference),
                lambda: at_once(lambda n: _pull_cached(n, cached), healthy_nodes),
            )
        with timeline.span("restart during outage"):
            restart_down = lab.start_mirror()
        if restart_down.up:
            _forget(healthy_nodes[0], cached)
            served_down = healthy_nodes[0].pull(cached.reference).ok
    except BaseException:
        back_up()
        raise
    (asked, uncached_log), restart_up = side_by_side(
        partial(_asked_and_log, lab, last, proxy_mark, started), back_up
    )
    return Outage(
        cached_pulls=[pull for pulls in per_node for pull in pulls],
        uncached=uncached_pull,
        uncached_asked=asked.for_repository(uncached.name),
        uncached_log=uncached_log,
        restart_down=restart_down,
        served_down=served_down,
        restart_up=restart_up,
        phases={
            **timeline.rows(),
            "restart during outage, steps": restart_down.timings,
            "restart after, steps": restart_up.timings,
        },
    )


def test_cached_images_still_pull_on_every_node_while_upstream_is_down(
    outage, healthy_nodes, record_property
):
    failures = [
        f"{pull.node} {pull.image}: {pull.output.strip()[-300:]}"
        for pull in outage.cached_pulls
        if not pull.ok
    ]
    record_property("pulls_during_outage", len(outage.cached_pulls) - len(failures))
    record_property("outage_phases", outage.phases)
    assert len(outage.cached_pulls) == 2 * len(healthy_nodes)
    assert not failures, (
        "with upstream down, cached images did not pull (the mirror should serve its cache, "
        "a stale tag included):\n" + "\n".join(failures)
    )


def test_uncached_image_fails_cleanly_while_upstream_is_down(outage, lab, record_property):
    result, asked = outage.uncached, outage.uncached_asked
    record_property("uncached_pull_error", result.output.strip()[-300:])
    record_property("asked_the_mirror", asked.by_method_and_kind())
    record_property("fallbacks", fallback_lines(outage.uncached_log)[:2])
    assert not result.ok, (
        f"{result.node} pulled {result.image}, which the mirror never cached, while "
        "Docker Hub (the lab's stand-in) was down: something outside the lab served it"
    )
    # The node asked the mirror first (the proxy's log shows it), then fell back to
    # Docker Hub, which was down too: the pull failed and nothing left the lab.
    assert asked.count(), (
        f"{result.node} failed without asking the mirror {lab.mirror_url} for "
        f"{result.image}:\n{result.output[-400:]}"
    )


def test_restarted_mirror_keeps_its_cache(
    outage, lab, healthy_nodes, warmed_image, record_property
):
    cached = warmed_image
    restart = outage.restart_up
    assert restart.up, f"the mirror did not come back after a restart:\n{restart.log[-1500:]}"
    node = healthy_nodes[-1]
    _forget(node, cached)
    after = measure_pull(lab, node, cached)
    record_property("upstream_after_restart", after.upstream.by_method_and_kind())
    assert after.result.ok, f"{node.name} could not pull after the restart: {after.result.output}"
    # Positive evidence first: the mirror served the blobs and the node asked Docker Hub nothing.
    assert after.served.count("GET", BLOB) and not after.bypass.count(), (
        f"{node.name}'s pull after the restart did not go through the mirror (it served "
        f"{after.served.by_method_and_kind()}; the node asked Docker Hub "
        f"{after.bypass.by_method_and_kind()})"
    )
    assert not after.upstream.blob_gets(), (
        f"after a restart the mirror fetched {cached.reference}'s blobs again "
        f"({after.upstream.blob_gets()}): its storage did not survive. Fix: keep the storage "
        "rootdirectory on a volume (the reference stack mounts /var/lib/registry from shared "
        "storage)"
    )


def test_mirror_restarted_during_an_upstream_outage_serves_its_cache(
    outage, verdict, record_property
):
    restart, served = outage.restart_down, outage.served_down
    if not outage.restart_up.up:
        pytest.fail("the mirror did not start again after the upstream came back", pytrace=False)
    record_property("mirror_came_up_during_outage", restart.up)
    panic = next((line for line in restart.log.splitlines() if "panic" in line), "")
    verdict.judge(
        MIRROR_RESTART_UPSTREAM_DOWN,
        ideal=restart.up and served,
        tolerated=not restart.up,
        measured=f"mirror came up: {restart.up}; served the cache: {served}; {panic[:200]}",
        failure="a mirror restarted while upstream was unreachable did not serve its cache",
    )

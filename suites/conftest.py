"""The suites are mirrorcheck's checks: a run of them is a gate and writes its reports.

Pulls that several checks judge are made once per run (session fixtures), so
each claim costs its own evidence, not a pull of its own:

- ``warmed_image``: an image the mirror holds, pulled once through it (outages);
- ``node_pulls``: one fresh image pulled by every node, the first node's pull
  alone (the cold one), then the others' at once, each node's accounted
  exactly by its address (smoke, single fetch, rate limits; the TLS check
  that a node with the CA pulls through the mirror);
- ``first_pulls``: every node pulls a fresh image of its own, all at once,
  each pull accounted exactly by its repository and the node's address
  (bypass; the cache checks pull the same images again);
- ``probe_pulled``: every usable node's pull of the probe image, the first
  node's alone, then the others' at once where the access log tells the nodes
  apart (bypass; the cache checks judge the later ones).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest

from mirrorcheck.probes.access_log import Traffic
from mirrorcheck.probes.synthetic_image import SyntheticImage, make_image
from mirrorcheck.pytest_plugin.reports import write_reports
from mirrorcheck.targets.lab.accounting import MeasuredPull, measure_pull, measure_together
from mirrorcheck.targets.lab.first_pulls import FirstPulls, pull_first_images
from mirrorcheck.targets.probe_pulls import PullBudgetExhausted
from mirrorcheck.targets.pull_route import ObservedPull


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    write_reports(config)


@pytest.fixture(scope="session")
def warmed_image(lab, healthy_nodes) -> SyntheticImage:
    """An image the mirror holds: pushed upstream, pulled once through the mirror by the first node.

    The warming pull must succeed, reach the mirror and ask Docker Hub nothing
    itself; the mirror has stored its blobs when this returns (``measure_pull``
    settles).
    """
    image = lab.push_image("", image=make_image("mirrorcheck/cached", "warm"))
    first = measure_pull(lab, healthy_nodes[0], image)
    assert first.result.ok, f"the warming pull failed: {first.result.output[-600:]}"
    assert first.bypass.count() == 0, (
        f"{first.result.node} asked Docker Hub itself ({first.bypass.by_method_and_kind()}): "
        "the pull bypassed the mirror, so its cache cannot be judged; see the bypass checks"
    )
    return image


@dataclass(frozen=True)
class NodePulls:
    """A fresh image pulled by every node: the first node's pull alone, then the others' at once.

    ``first`` is the cold pull (the mirror had never seen the image),
    accounted on its own (``measure_pull``); ``first_mirror_log`` is what the
    mirror's own access log shows of it. Once the mirror has stored the image,
    the other nodes pull it at once: ``later`` holds each one's result, what
    the proxy served it and its own requests to Docker Hub (told apart by
    address), ``later_upstream`` what the mirror fetched upstream for them
    together. ``started``: when each node's pull started (epoch seconds, a
    second early: for its daemon log).
    """

    image: SyntheticImage
    first: MeasuredPull
    first_mirror_log: Traffic
    later: dict[str, MeasuredPull]
    later_upstream: Traffic
    started: dict[str, float]

    @property
    def pulls(self) -> list[MeasuredPull]:
        """Every node's pull, the first one first."""
        return [self.first, *self.later.values()]

    def of(self, node_name: str) -> tuple[MeasuredPull, float]:
        """The pull of the node named ``node_name`` and when it started."""
        pull = self.first if self.first.result.node == node_name else self.later[node_name]
        return pull, self.started[node_name]

    def upstream(self) -> Traffic:
        """What the mirror fetched upstream for every pull."""
        return Traffic([*self.first.upstream.requests, *self.later_upstream.requests])


@pytest.fixture(scope="session")
def node_pulls(lab, healthy_nodes) -> NodePulls:
    """Every node pulls one fresh image: the first alone, the others at once after it."""
    image = lab.push_image(f"mirrorcheck/node-pulls-{uuid.uuid4().hex[:6]}")
    first_node, others = healthy_nodes[0], healthy_nodes[1:]
    mark, started = lab.mirror_mark(), {first_node.name: time.time() - 1}
    first = measure_pull(lab, first_node, image)  # settles: the mirror has stored the image
    mirror_log = lab.mirror_traffic(mark).for_repository(image.name)
    started.update({node.name: time.time() - 1 for node in others})
    later, later_upstream = measure_together(lab, others, image)
    return NodePulls(image, first, mirror_log, later, later_upstream, started)


@pytest.fixture(scope="session")
def probe_pulled(deployment, usable_nodes) -> dict[str, ObservedPull | PullBudgetExhausted]:
    """Every usable node's pull of the probe image (``ProbePulls.pull_each``), by node name."""
    return deployment.probe_pulls().pull_each(usable_nodes)


@pytest.fixture(scope="session")
def first_pulls(lab, usable_nodes) -> FirstPulls:
    """Every usable node pulls a fresh image of its own (one 300 kB layer), all at once."""
    return pull_first_images(lab, usable_nodes)

"""The suites are mirrorcheck's checks: a run of them is a gate and writes its reports.

Pulls that several checks judge are made once per run (session fixtures), so
each claim costs its own evidence, not a pull of its own:

- ``warmed_image``: an image the mirror holds, pulled once through it (outages);
- ``serial_pulls``: one fresh image pulled by every node, one after another,
  each pull accounted exactly (smoke and single fetch: the first pull is the
  cold one; the TLS check that a node with the CA pulls through the mirror);
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
from mirrorcheck.targets.lab.accounting import MeasuredPull, measure_pull
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
class SerialPulls:
    """A fresh image and every node's pull of it, one after another (node order).

    ``pulls[i]`` is accounted on its own (``measure_pull``: the mirror's
    fetches upstream, the node's own requests there, what the proxy served
    it); ``mirror_logs[i]`` is what the mirror's own access log shows of that
    pull; ``started[i]`` when it started (epoch seconds, a second early: for
    the node's daemon log). The first pull is cold: the mirror had never seen
    the image.
    """

    image: SyntheticImage
    pulls: list[MeasuredPull]
    mirror_logs: list[Traffic]
    started: list[float]

    def of(self, node_name: str) -> tuple[MeasuredPull, Traffic, float]:
        """The pull of the node named ``node_name``, what the mirror logged of it, its start."""
        index = [pull.result.node for pull in self.pulls].index(node_name)
        return self.pulls[index], self.mirror_logs[index], self.started[index]


@pytest.fixture(scope="session")
def serial_pulls(lab, healthy_nodes) -> SerialPulls:
    """Every node pulls one fresh image, one after another (smoke, single fetch, TLS)."""
    image = lab.push_image(f"mirrorcheck/serial-pulls-{uuid.uuid4().hex[:6]}")
    pulls, mirror_logs, started = [], [], []
    for node in healthy_nodes:
        mark = lab.mirror_mark()
        started.append(time.time() - 1)
        pulls.append(measure_pull(lab, node, image))
        mirror_logs.append(lab.mirror_traffic(mark).for_repository(image.name))
    return SerialPulls(image, pulls, mirror_logs, started)


@pytest.fixture(scope="session")
def probe_pulled(deployment, usable_nodes) -> dict[str, ObservedPull | PullBudgetExhausted]:
    """Every usable node's pull of the probe image (``ProbePulls.pull_each``), by node name."""
    return deployment.probe_pulls().pull_each(usable_nodes)


@pytest.fixture(scope="session")
def first_pulls(lab, usable_nodes) -> FirstPulls:
    """Every usable node pulls a fresh image of its own (one 300 kB layer), all at once."""
    return pull_first_images(lab, usable_nodes)

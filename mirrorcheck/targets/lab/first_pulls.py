"""Each node's first pull of a fresh image of its own, made on every node at once.

The bypass check judges these pulls; the cache checks pull the same images
again (a node whose first pull did not go through the mirror says nothing
about the mirror's cache). Each pull is accounted exactly by its image's
repository and the node's address (``accounting.measure_pulls``), so the
nodes' pulls never mix, and the wall time is that of the slowest pull.

Usage::

    first = pull_first_images(lab, nodes)
    first.pulls["node-1"].served.count()
    first.first_pull_problem("node-1")   # None, or why not
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from mirrorcheck.probes.synthetic_image import SyntheticImage
from mirrorcheck.targets.lab.accounting import MeasuredPull, PullOrder, measure_pulls
from mirrorcheck.targets.nodes.node import Node

LAYER_BYTES = 300_000


@dataclass(frozen=True)
class FirstPulls:
    """Each node's first pull of an image of its own (``images``), made on every node at once.

    ``pulls``: ``{node name: MeasuredPull}``; ``started``: when the pulls
    started (epoch seconds, a second early: for the nodes' daemon logs). A
    node missing from both was already known not to use the mirror.
    """

    images: dict[str, SyntheticImage]
    pulls: dict[str, MeasuredPull]
    started: float

    def first_pull_problem(self, node_name: str) -> str | None:
        """None when the node's first pull reached the mirror and asked Docker Hub nothing.

        Otherwise why not (a clause about the node, for ``known_cause_message``),
        naming the check that judges it.
        """
        pull = self.pulls[node_name]
        if pull.result.ok and pull.served.count() and not pull.bypass.count():
            return None
        return (
            f"its first pull of {self.images[node_name].reference} did not go through the mirror "
            f"(pull ok: {pull.result.ok}; the mirror served "
            f"{pull.served.by_method_and_kind() or 'nothing'}; the node asked Docker Hub "
            f"{pull.bypass.by_method_and_kind() or 'nothing'}), so a later pull of it says "
            "nothing about the mirror's cache; see test_node_pull_goes_through_the_mirror"
        )


def pull_first_images(lab, nodes: Sequence[Node]) -> FirstPulls:
    """Push a fresh image per node (one 300 kB layer) upstream; every node pulls its own at once.

    ``lab``: the hermetic lab (``push_image``, its logs). Raises what
    ``measure_pulls`` raises (``WaitTimeout`` when the logs do not settle).
    """
    run = uuid.uuid4().hex[:6]
    images = {
        node.name: lab.push_image(f"mirrorcheck/first-{run}-{node.name}", layer_sizes=[LAYER_BYTES])
        for node in nodes
    }
    started = time.time() - 1
    orders = [PullOrder(node, images[node.name]) for node in nodes]
    return FirstPulls(images, measure_pulls(lab, orders), started)

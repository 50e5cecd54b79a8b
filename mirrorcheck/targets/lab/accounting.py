"""One measured pull in the lab: what the node got, and who asked Docker Hub's stand-in for it.

The upstream's log tells who asked by client address: the mirror's addresses
are its fetches; the node's own address is a bypass (it fell back to Docker
Hub, which in the lab, as in production, answers).

Usage::

    measured = measure_pull(lab, node, image)
    measured.result.ok
    measured.upstream.blob_gets()      # {digest: GETs} the mirror made for this pull
    measured.bypass.count()            # requests the node sent Docker Hub itself
    measured.served.count("GET", BLOB) # what the proxy served this node

    # every node at once, each its own image: {node name: MeasuredPull}
    measure_pulls(lab, [PullOrder(node, image) for node, image in zip(nodes, images)])
    # every node at once, one image: ({node name: MeasuredPull}, the mirror's fetches)
    measure_together(lab, nodes, image)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mirrorcheck.at_once import at_once
from mirrorcheck.probes.access_log import Traffic
from mirrorcheck.probes.synthetic_image import SyntheticImage
from mirrorcheck.targets.nodes.node import Node, PullResult


@dataclass(frozen=True)
class MeasuredPull:
    """A pull and its traffic at Docker Hub (the mirror's fetches, the node's bypass) and served.

    ``upstream``: the mirror's requests to Docker Hub's stand-in; ``bypass``:
    the node's own requests there; ``served``: what the TLS proxy served the node.
    """

    result: PullResult
    upstream: Traffic
    served: Traffic
    bypass: Traffic

    def not_a_cold_fetch(self) -> str | None:
        """Why this pull shows no fetch of a new image through the mirror; None when it does.

        A pull counts as one only on positive evidence: it succeeded, the
        mirror asked Docker Hub's stand-in for a manifest and at least one
        blob, and the node asked it nothing itself (no fallback). Checks that
        compare the mirror's own figures with the upstream's log rely on it:
        with nothing fetched, zero would agree with zero.
        """
        if not self.result.ok:
            return f"the pull failed: {self.result.output.strip()[-400:]}"
        if self.bypass.count():
            return (
                f"{self.result.node} asked Docker Hub itself "
                f"({self.bypass.by_method_and_kind()}): the pull bypassed the mirror"
            )
        if not self.upstream.manifest_gets() or not self.upstream.blob_gets():
            return (
                f"the mirror fetched no manifest and blob of {self.result.image} from Docker "
                f"Hub's stand-in (it asked {self.upstream.by_method_and_kind() or 'nothing'})"
            )
        return None

    def summary(self) -> dict[str, object]:
        return {
            "node": self.result.node,
            "ok": self.result.ok,
            "seconds": round(self.result.seconds, 3),
            "upstream": self.upstream.summary(),
            "bypass": self.bypass.by_method_and_kind(),
            "served_requests": self.served.by_method_and_kind(),
            "served_bytes": self.served.total_bytes(),
        }


def measure_pull(
    lab, node: Node, image: SyntheticImage, reference: str | None = None
) -> MeasuredPull:
    """Pull ``reference`` (default: the image by tag) on ``node``; settle; account exactly."""
    upstream_mark, proxy_mark = lab.upstream_mark(), lab.proxy_mark()
    result = node.pull(reference or image.reference)
    lab.settle(image if result.ok else None)
    upstream = lab.upstream_traffic(upstream_mark).for_repository(image.name)
    bypass = lab.bypass_traffic(node, upstream_mark).for_repository(image.name)
    address = lab.node_address(node)
    served = lab.proxy_traffic(proxy_mark).from_client(address).for_repository(image.name)
    return MeasuredPull(result, upstream, served, bypass)


@dataclass(frozen=True)
class PullOrder:
    """One node's pull in :func:`measure_pulls`: ``reference`` defaults to ``image``'s tag."""

    node: Node
    image: SyntheticImage
    reference: str | None = None


@dataclass(frozen=True)
class _Window:
    """Pulls made at once and the three logs over their window, each from its mark."""

    results: list[PullResult]
    upstream: Traffic
    proxy: Traffic
    bypass: Traffic


def _pull_at_once(lab, pulls: Sequence[tuple[Node, str]], settle_for) -> _Window:
    """Each ``(node, reference)`` pulled at once; settled once; the logs read once.

    ``settle_for(results)``: the images whose stored copies to wait for (``lab.settle``).
    """
    upstream_mark, proxy_mark = lab.upstream_mark(), lab.proxy_mark()
    results = at_once(lambda pull: pull[0].pull(pull[1]), pulls)
    lab.settle(*settle_for(results))
    return _Window(
        results,
        lab.upstream_traffic(upstream_mark),
        lab.proxy_traffic(proxy_mark),
        lab.bypass_traffic(None, upstream_mark),  # every node's, told apart by address
    )


def measure_pulls(lab, orders: Sequence[PullOrder]) -> dict[str, MeasuredPull]:
    """Every order's pull at once, one per node and image; settle once; account each exactly.

    Returns ``{node name: MeasuredPull}``. Each pull is told apart from the
    others by its image's repository (the upstream's log) and the node's
    address (the proxy's log), so no two orders may share a node or a
    repository: ``ValueError`` otherwise. The wall time is that of the slowest
    pull plus one settle, whatever the number of nodes.
    """
    nodes = [order.node.name for order in orders]
    repositories = [order.image.name for order in orders]
    if len(set(nodes)) != len(nodes) or len(set(repositories)) != len(repositories):
        raise ValueError(f"one pull per node and repository: nodes {nodes}, {repositories}")
    if not orders:
        return {}
    window = _pull_at_once(
        lab,
        [(order.node, order.reference or order.image.reference) for order in orders],
        lambda results: [o.image for o, r in zip(orders, results, strict=True) if r.ok],
    )
    measured = {}
    for order, result in zip(orders, window.results, strict=True):
        name, address = order.image.name, lab.node_address(order.node)
        measured[order.node.name] = MeasuredPull(
            result,
            window.upstream.for_repository(name),
            window.proxy.from_client(address).for_repository(name),
            window.bypass.from_client(address).for_repository(name),
        )
    return measured


def measure_together(
    lab, nodes: Sequence[Node], image: SyntheticImage
) -> tuple[dict[str, MeasuredPull], Traffic]:
    """Every node in ``nodes`` pulls ``image`` at once; settle once; account each node exactly.

    Returns ``({node name: MeasuredPull}, upstream)``. Each pull holds its
    result, what the proxy served that node and the node's own requests to
    Docker Hub, told apart by the node's address; its own ``upstream`` is
    empty. ``upstream`` is what the mirror fetched for all of them together:
    the mirror asks Docker Hub from its own address whichever node asked it,
    so no address tells those requests apart.
    """
    if not nodes:
        return {}, Traffic([])
    window = _pull_at_once(
        lab,
        [(node, image.reference) for node in nodes],
        lambda results: [image] if any(result.ok for result in results) else [],
    )
    proxy = window.proxy.for_repository(image.name)
    bypass = window.bypass.for_repository(image.name)
    measured = {}
    for node, result in zip(nodes, window.results, strict=True):
        address = lab.node_address(node)
        measured[node.name] = MeasuredPull(
            result, Traffic([]), proxy.from_client(address), bypass.from_client(address)
        )
    return measured, window.upstream.for_repository(image.name)


def whole_run(upstream: Traffic, served: Traffic) -> dict[str, object]:
    """Every request of the run: Docker Hub's bill with the mirror, and without it.

    With: the manifest GETs the mirror sent upstream (``upstream``). Without:
    the manifest GETs the mirror's clients (the nodes, and the checks fetching
    through the proxy) sent it (``served``), each of which would have gone to
    Docker Hub instead. Bytes as the two access logs give them.
    """
    return {
        "billable_with_mirror": upstream.billable(),
        "billable_without_mirror": served.billable(),
        "upstream_bytes": upstream.total_bytes(),
        "bytes_served_to_nodes": served.total_bytes(),
        "source": "the lab's upstream and TLS proxy access logs, whole run",
    }

"""One measured pull in the lab: what the node got, and what the mirror asked upstream for it.

Usage::

    measured = measure_pull(lab, node, image)
    measured.result.ok
    measured.upstream.blob_gets()      # {digest: GETs} the mirror made for this pull
    measured.served.count("GET", BLOB) # what the proxy served this node
"""

from __future__ import annotations

from dataclasses import dataclass

from mirrorcheck.probes.access_log import Traffic
from mirrorcheck.probes.synthetic_image import SyntheticImage
from mirrorcheck.targets.nodes.node import Node, PullResult


@dataclass(frozen=True)
class MeasuredPull:
    """A pull and its traffic: upstream (what Docker Hub would see) and served (proxy -> node)."""

    result: PullResult
    upstream: Traffic
    served: Traffic

    def summary(self) -> dict[str, object]:
        return {
            "node": self.result.node,
            "ok": self.result.ok,
            "seconds": round(self.result.seconds, 3),
            "upstream": self.upstream.summary(),
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
    address = lab.node_address(node)
    served = lab.proxy_traffic(proxy_mark).from_client(address).for_repository(image.name)
    return MeasuredPull(result, upstream, served)

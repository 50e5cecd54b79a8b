"""Topology up and node ready, per engine: seconds, and the ratio to the default engine.

For each engine of ``mirrorcheck.versions.ENGINES`` (the default, 28.5 with
the containerd store, first) one lab whose nodes all run that engine is
started once and removed: the whole topology's time to come up (network,
Docker Hub's stand-in, mirror, TLS proxy, nodes) and the slowest node's time
to answer ``docker info`` with its mirror configured (``ready node-N``). The
node images must exist or are built first (not timed). One run each: the
figures are indicative, the machine is shared.

Usage::

    ./run python bench/engines.py                  # 1 node per lab, every engine
    ./run python bench/engines.py --nodes 3 --engines 28.5,20.10
    ./run python bench/engines.py --json           # the figures as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import docker

from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab.configure import lab_spec
from mirrorcheck.targets.lab.images.supply import ImageSupply
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.topology import Lab
from mirrorcheck.versions import DEFAULT_ENGINE, ENGINES, split_engines, store_for


def time_engine(
    client: docker.DockerClient, images: dict[str, str], engine: str, nodes: int
) -> dict[str, object]:
    """One lab on ``engine``: topology up, the slowest node's readiness, teardown (seconds)."""
    settings = Settings.from_mapping({"nodes": str(nodes), "engine": [engine], "topology": "plain"})
    lab = Lab(client, lab_spec(settings, images, RunLabels.for_this_process()))
    started = time.monotonic()
    try:
        lab.start()
        up = time.monotonic() - started
        ready = [seconds for phase, seconds in lab.timings.items() if phase.startswith("ready ")]
        versions = sorted({str(node.docker_info().get("ServerVersion", "")) for node in lab.nodes})
    finally:
        closing = time.monotonic()
        lab.close()
        down = time.monotonic() - closing
    return {
        "engine": engine,
        "image_store": store_for(engine, None),
        "server_version": ",".join(versions),
        "topology_up_s": round(up, 2),
        "node_ready_s": round(max(ready), 2) if ready else None,
        "topology_down_s": round(down, 2),
        "phases_s": dict(lab.timings),
    }


def with_ratios(rows: list[dict[str, object]], default: str) -> list[dict[str, object]]:
    """Each row with its times divided by the default engine's (1.0 for the default)."""
    base = next(row for row in rows if row["engine"] == default)
    for row in rows:
        for key in ("topology_up_s", "node_ready_s"):
            value, reference = row[key], base[key]
            ratio = value / reference if isinstance(value, float) and reference else None
            row[key.removesuffix("_s") + "_ratio"] = round(ratio, 2) if ratio else None
    return rows


def table(rows: list[dict[str, object]], nodes: int) -> str:
    """The rows as a fixed-width table."""
    lines = [
        f"topology up and node ready per engine ({nodes} node(s) per lab, one run each; "
        f"ratio to the default, {DEFAULT_ENGINE})",
        f"{'engine':<7} {'store':<11} {'server':<16} {'up s':>6} {'ratio':>6} "
        f"{'ready s':>8} {'ratio':>6} {'down s':>7}",
    ]
    for row in rows:
        lines.append(
            f"{row['engine']!s:<7} {row['image_store']!s:<11} {row['server_version']!s:<16} "
            f"{row['topology_up_s']:>6.2f} {row['topology_up_ratio']!s:>6} "
            f"{row['node_ready_s']!s:>8} {row['node_ready_ratio']!s:>6} "
            f"{row['topology_down_s']:>7.2f}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1, help="nodes per lab (default 1)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma list of engines")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    engines = split_engines([args.engines])
    unknown = [engine for engine in engines if engine not in ENGINES]
    if unknown:
        parser.error(f"--engines {','.join(unknown)}: use some of {', '.join(ENGINES)}")
    order = [DEFAULT_ENGINE, *(engine for engine in engines if engine != DEFAULT_ENGINE)]
    client = docker.from_env()
    images = ImageSupply(client).resolve_all(order)
    rows = with_ratios([time_engine(client, images, e, args.nodes) for e in order], DEFAULT_ENGINE)
    print(json.dumps(rows, indent=2) if args.json else table(rows, args.nodes))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Times mirrorcheck's phases and prints them as JSON (``bench.py`` prints the speed table).

Phases: image supply (warm; cold with --cold, which first removes the
project's images so everything is rebuilt offline, with each image's build
time; with the swarm's Traefik and Pebble images when the swarm is timed),
topology up and down for the default engine on both topologies (``swarm``,
the suites' default: the nodes form a swarm, the stack is deployed, Traefik
gets its first certificate from Pebble; ``plain``: the mirror and proxy as
containers), each with its lab's phase timings, then on the plain topology
for each other engine of ``mirrorcheck.versions.ENGINES`` (a lab of that
engine only), the post-deploy smoke check (live mode against a plain lab
treated as a deployment, N nodes over docker://), and each suite file run on
its own on the suites' default topology.

Usage::

    ./run python bench/phases.py                  # warm figures
    ./run python bench/phases.py --cold           # also rebuild every image from nothing
    ./run python bench/phases.py --no-suites      # images, topology and the live smoke check
    ./run python bench/phases.py --no-live        # without the live smoke check
    ./run python bench/phases.py --engines 28.5   # plain-topology figures of these engines
    ./run python bench/phases.py --topology plain # the default engine on one topology only
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

from mirrorcheck.options import OPTIONS_BY_NAME, TOPOLOGIES
from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab.configure import lab_spec
from mirrorcheck.targets.lab.images.supply import ImageSupply
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.spec import LabError
from mirrorcheck.targets.lab.swarm.swarm_lab import SwarmLab
from mirrorcheck.targets.lab.topology import Lab
from mirrorcheck.versions import DEFAULT_ENGINE, ENGINES, split_engines, store_for
from mirrorcheck.waiting import WaitTimeout

DEFAULT_TOPOLOGY = str(OPTIONS_BY_NAME["topology"].default)

ROOT = Path(__file__).resolve().parent.parent


def remove_project_images(client: docker.DockerClient) -> list[str]:
    removed = []
    for image in client.images.list():
        for tag in image.tags:
            if tag.startswith("mirrorcheck/"):
                client.images.remove(tag, force=True)
                removed.append(tag)
    return removed


def timed(step):
    started = time.monotonic()
    value = step()
    return value, round(time.monotonic() - started, 3)


def time_live_run(client: docker.DockerClient, images: dict[str, str], nodes: int) -> dict:
    """The post-deploy smoke check against a plain lab treated as a deployment: its wall time."""
    settings = Settings.from_mapping({"nodes": str(nodes), "topology": "plain"})
    lab = Lab(client, lab_spec(settings, images, RunLabels.for_this_process()))
    try:
        lab.start()
        lab.push_image("library/busybox", tag="latest")  # the default probe image
        with tempfile.TemporaryDirectory(prefix="mirrorcheck-bench-") as scratch:
            daemon_json = Path(scratch) / "daemon.json"
            daemon_json.write_bytes(lab.spec.node_specs()[0].daemon_json)
            command = [
                sys.executable,
                "-m",
                "pytest",
                "suites/",
                "-q",
                "-p",
                "no:cacheprovider",
                "--mirror-url",
                lab.mirror_url,
                "--mirror-address",
                f"{lab.proxy_address}:443",
                "--ca-file",
                str(lab.cert_files.ca_cert),
                "--mirror-debug-url",
                lab.mirror_debug_url,
                "--registry-version",
                lab.registry_version or "2.8.2",
                "--mirror-storage",
                f"docker://{lab.mirror.name}/var/lib/registry",
                "--daemon-json",
                str(daemon_json),
                "--report-dir",
                str(Path(scratch) / "reports"),
            ]
            for node in lab.nodes:
                command += ["--node", f"docker://{node.container.name}"]
            done, seconds = timed(
                lambda: subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            )
        return {
            "seconds": seconds,
            "exit_code": done.returncode,
            "nodes": len(lab.nodes),
            "lab_topology": "plain",
        }
    finally:
        lab.close()


def time_topology(
    client: docker.DockerClient, images: dict[str, str], nodes: int, engine: str, topology: str
) -> dict[str, object]:
    """Topology up and down for a lab of ``topology`` whose nodes all run ``engine``.

    Returns seconds: ``topology_up_s``, ``topology_down_s`` and the lab's own
    ``phases_s`` (on the swarm, ``swarm topology up, first certificate`` is up
    to the route answering with Traefik's first certificate). A lab that does
    not come up is recorded under ``error`` (its cause), not raised.
    """
    settings = Settings.from_mapping(
        {"nodes": str(nodes), "engine": [engine], "topology": topology}
    )
    spec = lab_spec(settings, images, RunLabels.for_this_process())
    lab = SwarmLab(client, spec) if topology == "swarm" else Lab(client, spec)
    figures: dict[str, object] = {
        "topology": topology,
        "engine": engine,
        "image_store": store_for(engine, None),
    }
    try:
        _, figures["topology_up_s"] = timed(lab.start)
    except (LabError, WaitTimeout) as error:
        figures["error"] = str(error)[-1000:]
    finally:
        figures["phases_s"] = dict(lab.timings)
        _, figures["topology_down_s"] = timed(lab.close)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="remove and rebuild every image first")
    parser.add_argument("--no-suites", action="store_true", help="skip timing the suites")
    parser.add_argument("--no-live", action="store_true", help="skip timing the live smoke check")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="engines to time the plain topology of (comma list)",
    )
    parser.add_argument(
        "--topology",
        choices=[*TOPOLOGIES, "both"],
        default="both",
        help=f"the default engine's topologies to time (default both; the suites' default is "
        f"{DEFAULT_TOPOLOGY})",
    )
    args = parser.parse_args()
    engines = split_engines([args.engines])
    # The suites' default topology first, as the suites run it.
    topologies = [t for t in (DEFAULT_TOPOLOGY, *TOPOLOGIES) if args.topology in (t, "both")]
    topologies = list(dict.fromkeys(topologies))
    edge = "swarm" in topologies

    client = docker.from_env()
    figures: dict[str, object] = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "engine": client.version().get("Version"),
        "nodes": args.nodes,
    }
    if args.cold:
        figures["images_removed"] = remove_project_images(client)
        cold = ImageSupply(client, progress=lambda line: print(line, file=sys.stderr))
        images, figures["image_supply_cold_s"] = timed(lambda: cold.resolve_all(engines, edge=edge))
        figures["image_build_s"] = cold.build_seconds
    images, figures["image_supply_warm_s"] = timed(
        lambda: ImageSupply(client).resolve_all(engines, edge=edge)
    )

    # The default engine on each topology (the suites' default first), then each other
    # engine on the plain topology.
    per_topology = {
        topology: time_topology(client, images, args.nodes, DEFAULT_ENGINE, topology)
        for topology in topologies
    }
    per_engine = {}
    if "plain" in per_topology:
        per_engine[DEFAULT_ENGINE] = per_topology["plain"]
    for engine in (e for e in engines if e != DEFAULT_ENGINE):
        per_engine[engine] = time_topology(client, images, args.nodes, engine, "plain")
    figures["default_engine"] = DEFAULT_ENGINE
    figures["default_topology"] = DEFAULT_TOPOLOGY
    first = per_topology[topologies[0]]
    figures["topology"] = topologies[0]
    figures["topology_up_s"] = first.get("topology_up_s")
    figures["phases_s"] = first["phases_s"]
    figures["topologies"] = per_topology
    figures["engines"] = per_engine

    if not args.no_live:
        figures["live_smoke_check"] = time_live_run(client, images, args.nodes)

    if not args.no_suites:
        suites = {}
        for suite in sorted((ROOT / "suites").glob("test_*.py")):
            done, seconds = timed(
                lambda suite=suite: subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pytest",
                        str(suite),
                        "-q",
                        "-p",
                        "no:cacheprovider",
                        "--nodes",
                        str(args.nodes),
                        "--topology",
                        DEFAULT_TOPOLOGY,
                        "--report-dir",
                        "/tmp/mirrorcheck-bench-reports",
                    ],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
            )
            suites[suite.name] = {
                "seconds": seconds,
                "exit_code": done.returncode,
                "topology": DEFAULT_TOPOLOGY,
            }
        figures["suites"] = suites
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

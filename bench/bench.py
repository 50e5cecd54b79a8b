"""Times mirrorcheck's phases and prints them as JSON.

Phases: image supply (warm; cold with --cold, which first removes the
project's images so everything is rebuilt offline), topology up with each
node's readiness, and each suite file run on its own.

Usage::

    ./run python bench/bench.py                 # warm figures
    ./run python bench/bench.py --cold          # also rebuild every image from nothing
    ./run python bench/bench.py --no-suites     # images and topology only
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import docker

from fixtures.settings import Settings
from fixtures.targets.lab.configure import lab_spec
from fixtures.targets.lab.images.supply import ImageSupply
from fixtures.targets.lab.labels import RunLabels
from fixtures.targets.lab.topology import Lab

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="remove and rebuild every image first")
    parser.add_argument("--no-suites", action="store_true", help="skip timing the suites")
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args()

    client = docker.from_env()
    figures: dict[str, object] = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "engine": client.version().get("Version"),
        "nodes": args.nodes,
    }
    if args.cold:
        figures["images_removed"] = remove_project_images(client)
        images, figures["image_supply_cold_s"] = timed(
            lambda: ImageSupply(
                client, progress=lambda line: print(line, file=sys.stderr)
            ).resolve_all()
        )
    images, figures["image_supply_warm_s"] = timed(lambda: ImageSupply(client).resolve_all())

    settings = Settings.from_mapping({"nodes": str(args.nodes)})
    lab = Lab(client, lab_spec(settings, images, RunLabels.for_this_process()))
    try:
        _, figures["topology_up_s"] = timed(lab.start)
        figures["phases_s"] = dict(lab.timings)
    finally:
        _, figures["topology_down_s"] = timed(lab.close)

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
                        "--report-dir",
                        "/tmp/mirrorcheck-bench-reports",
                    ],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
            )
            suites[suite.name] = {"seconds": seconds, "exit_code": done.returncode}
        figures["suites"] = suites
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

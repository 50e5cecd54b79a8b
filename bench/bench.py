"""Times the suites' gate in one run and prints each figure beside the one it is judged against.

Rows (each a wall time in seconds, and a ratio):

- ``floor``: what the claims cannot do without, timed through the lab's own
  API in this process: topology up (network, upstream, mirror, proxy, N
  nodes), one cold and one warm pull per node (each accounted: the lab waits
  until the upstream is quiet and the mirror has stored the blobs), one
  Docker Hub outage and one mirror restart, topology down;
- ``healthy``: ``pytest suites/`` on the embedded default (N nodes, one
  process), against the floor;
- ``duplicate key``: the same run on a daemon.json whose second
  ``registry-mirrors`` key hides the first (dockerd keeps the last value, a
  mirror whose name does not resolve on the lab's network), against healthy;
- ``unreachable mirror``: the same run on a daemon.json whose mirror is
  ``https://mirror.example.org``, against healthy;
- ``10 nodes``: the healthy run with ``--nodes 10``, against N nodes;
- ``-n 2``: the healthy run on two xdist workers (a lab each), against
  ``-n 0``.

Both broken runs serve the lab's mirror as ``mirror.test`` (``--mirror-fqdn``),
the name the user meant. Every run writes its reports into a scratch folder
(``--reports`` keeps them); the exit code and the counts of each are printed
too. The machine may be
shared: say so beside the figures. The phase figures (image builds, topology
per engine, the live smoke check) are ``bench/phases.py``.

Usage::

    ./run python bench/bench.py                     # every row, a markdown table on stdout
    ./run python bench/bench.py --rows floor,healthy --json figures.json --reports bench-reports
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker

from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab.accounting import measure_pull
from mirrorcheck.targets.lab.configure import lab_spec
from mirrorcheck.targets.lab.images.supply import ImageSupply
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.topology import Lab
from mirrorcheck.versions import DEFAULT_ENGINE, split_engines

ROOT = Path(__file__).resolve().parent.parent
DUPLICATE_KEY = b"""{
    "registry-mirrors": ["https://mirror.test"],
    "log-driver": "journald",
    "registry-mirrors": ["https://mirror.example.org"]
}
"""
UNREACHABLE = b"""{
    "log-driver": "journald",
    "registry-mirrors": ["https://mirror.example.org"]
}
"""
# Each row, and the row its ratio is taken against.
ROWS = {
    "floor": None,
    "healthy": "floor",
    "duplicate key": "healthy",
    "unreachable mirror": "healthy",
    "10 nodes": "healthy",
    "-n 2": "healthy",
}


def timed(step):
    started = time.monotonic()
    value = step()
    return value, round(time.monotonic() - started, 1)


def floor(nodes: int) -> dict[str, object]:
    """The floor, phase by phase: topology up, a cold and a warm pull per node, outage, restart."""
    client = docker.from_env()
    images = ImageSupply(client).resolve_all(split_engines([DEFAULT_ENGINE]))
    settings = Settings.from_mapping({"nodes": str(nodes), "topology": "plain"})
    lab = Lab(client, lab_spec(settings, images, RunLabels.for_this_process()))
    phases: dict[str, float] = {}
    started = time.monotonic()
    try:
        _, phases["topology up"] = timed(lab.start)

        def pulls() -> None:
            for node in lab.nodes:
                image = lab.push_image(f"mirrorcheck/floor-{uuid.uuid4().hex[:6]}")
                for _ in ("cold", "warm"):
                    node.remove_image(image.reference)
                    pulled = measure_pull(lab, node, image)
                    if not pulled.result.ok:
                        raise RuntimeError(f"{node.name}: {pulled.result.output[-300:]}")

        _, phases["a cold and a warm pull per node"] = timed(pulls)
        outage = lab.upstream_down()
        _, phases["Docker Hub outage"] = timed(
            lambda: (outage.__enter__(), outage.__exit__(None, None, None))
        )
        restart, phases["mirror restart"] = timed(lab.start_mirror)
        if not restart.up:
            raise RuntimeError(f"the mirror did not restart: {restart.log[-300:]}")
    finally:
        _, phases["topology down"] = timed(lab.close)
    return {"seconds": round(time.monotonic() - started, 1), "phases": phases}


def suites_run(scratch: Path, name: str, *options: str) -> dict[str, object]:
    """``pytest suites/`` in a child process with ``options``: wall time, exit code, counts."""
    reports = scratch / name.replace(" ", "-")
    command = [sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider"]
    command += ["--report-dir", str(reports), *options]
    done, seconds = timed(
        lambda: subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    )
    figures: dict[str, object] = {"seconds": seconds, "exit_code": done.returncode}
    try:
        summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        figures["output"] = done.stdout[-2000:] + done.stderr[-2000:]
        return figures
    counts = summary.get("counts", {})
    figures["counts"] = {k: v for k, v in counts.items() if v and k != "total"}
    figures["causes"] = len(summary.get("causes", []))
    return figures


def measure(rows: list[str], nodes: int, scratch: Path) -> dict[str, dict[str, object]]:
    """The figure of each row named in ``rows``, in ``ROWS`` order."""
    files = {}
    for name, text in (("duplicate-key.json", DUPLICATE_KEY), ("unreachable.json", UNREACHABLE)):
        files[name] = scratch / name
        files[name].write_bytes(text)
    base = ("--nodes", str(nodes))
    broken = ("--mirror-fqdn", "mirror.test", *base)
    makers = {
        "floor": lambda: floor(nodes),
        "healthy": lambda: suites_run(scratch, "healthy", *base),
        "duplicate key": lambda: suites_run(
            scratch, "duplicate key", "--daemon-json", str(files["duplicate-key.json"]), *broken
        ),
        "unreachable mirror": lambda: suites_run(
            scratch, "unreachable", "--daemon-json", str(files["unreachable.json"]), *broken
        ),
        "10 nodes": lambda: suites_run(scratch, "10 nodes", "--nodes", "10"),
        "-n 2": lambda: suites_run(scratch, "n2", *base, "-n", "2"),
    }
    figures = {}
    for row in ROWS:
        if row in rows:
            print(f"[bench] {row} ...", file=sys.stderr, flush=True)
            figures[row] = makers[row]()
            print(f"[bench] {row}: {figures[row]['seconds']} s", file=sys.stderr, flush=True)
    return figures


def table(figures: dict[str, dict[str, object]], nodes: int) -> str:
    """The rows as a markdown table: seconds, the ratio to what each is judged against, notes."""
    names = {"healthy": f"healthy, {nodes} nodes, -n 0", "floor": f"floor, {nodes} nodes"}
    lines = ["| run | seconds | ratio | against | exit | counts |", "|---|---|---|---|---|---|"]
    for row, figure in figures.items():
        against = ROWS[row]
        base = figures.get(against) if against else None
        ratio = f"{figure['seconds'] / base['seconds']:.2f}" if base else ""
        counts = figure.get("counts") or figure.get("phases") or ""
        if isinstance(counts, dict):
            counts = ", ".join(f"{k} {v}" for k, v in counts.items())
        causes = f"; {figure['causes']} causes" if figure.get("causes") else ""
        lines.append(
            f"| {names.get(row, row)} | {figure['seconds']} | {ratio} | {against or ''} "
            f"| {figure.get('exit_code', '')} | {counts}{causes} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3, help="nodes of every run but '10 nodes'")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"a comma list of {list(ROWS)}")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--reports", type=Path, help="keep each run's reports in this folder")
    args = parser.parse_args()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    if args.reports:
        args.reports.mkdir(parents=True, exist_ok=True)
        figures = measure(rows, args.nodes, args.reports)
    else:
        with tempfile.TemporaryDirectory(prefix="mirrorcheck-bench-") as scratch:
            figures = measure(rows, args.nodes, Path(scratch))
    load = os.getloadavg()
    print(table(figures, args.nodes))
    print(f"\n{os.cpu_count()} cores; load average at the end {load[0]:.1f} / {load[1]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

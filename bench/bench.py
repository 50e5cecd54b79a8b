"""Times the suites' gate in one run and prints each figure beside the one it is judged against.

Every row runs on one topology (``--topology``, by default the suites'
default, ``mirrorcheck.options``): ``swarm`` (the nodes form a swarm, the
stack file is deployed, Traefik serves a certificate from Pebble) or
``plain`` (the mirror and proxy as containers). Rows (each a wall time in
seconds, and a ratio):

- ``floor``: what the claims cannot do without, timed through the lab's own
  API in this process: topology up (on the swarm: network, upstream, Pebble,
  N nodes, the swarm, the stack, Traefik and its first certificate; on the
  plain topology: network, upstream, mirror, proxy, N nodes), one cold and
  one warm pull per node (each accounted: the lab waits until the upstream
  is quiet and the mirror has stored the blobs), one Docker Hub outage and
  one mirror restart (on the swarm a new task of the mirror's service, routed
  by Traefik), topology down;
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
too. A run still going after ``--limit`` seconds (default 600) is interrupted
as Ctrl-C does (its labs are removed) and its row says so. The machine may be
shared: say so beside the figures. The phase figures (image builds, topology
per engine, the live smoke check) are ``bench/phases.py``.

Usage::

    ./run python bench/bench.py                     # every row, a markdown table on stdout
    ./run python bench/bench.py --topology plain    # every row on the plain topology
    ./run python bench/bench.py --rows floor,healthy --json figures.json --reports bench-reports
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker

from mirrorcheck.options import OPTIONS_BY_NAME, TOPOLOGIES
from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab.accounting import measure_pull
from mirrorcheck.targets.lab.configure import lab_spec
from mirrorcheck.targets.lab.images.supply import ImageSupply
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.spec import LabError
from mirrorcheck.targets.lab.swarm.swarm_lab import SwarmLab
from mirrorcheck.targets.lab.topology import Lab
from mirrorcheck.versions import DEFAULT_ENGINE, split_engines
from mirrorcheck.waiting import WaitTimeout

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOPOLOGY = str(OPTIONS_BY_NAME["topology"].default)
# After an interrupt, how long a run may take to remove its labs before it is killed.
CLEANUP_S = 180
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


def floor(nodes: int, topology: str) -> dict[str, object]:
    """The floor on ``topology``, phase by phase (seconds).

    Topology up, a cold and a warm pull per node, one Docker Hub outage, one
    mirror restart, topology down; ``lab_phases`` are the lab's own start
    timings. Raises RuntimeError when a pull fails or the mirror does not
    restart, ``LabError`` or ``WaitTimeout`` when the lab does not come up.
    """
    client = docker.from_env()
    swarm = topology == "swarm"
    images = ImageSupply(client).resolve_all(split_engines([DEFAULT_ENGINE]), edge=swarm)
    settings = Settings.from_mapping({"nodes": str(nodes), "topology": topology})
    spec = lab_spec(settings, images, RunLabels.for_this_process())
    lab = SwarmLab(client, spec) if swarm else Lab(client, spec)
    phases: dict[str, float] = {}
    started = time.monotonic()
    try:
        _, phases["topology up"] = timed(lab.start)
        lab_phases = dict(lab.timings)

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
    return {
        "seconds": round(time.monotonic() - started, 1),
        "phases": phases,
        "lab_phases": lab_phases,
    }


def run_bounded(command: list[str], limit: float) -> tuple[int, str, bool]:
    """Run ``command`` in ROOT for at most ``limit`` seconds: exit code, output, timed out.

    Past the limit the child's process group gets SIGINT, as Ctrl-C sends it
    (pytest then removes its labs, each xdist worker its own), and is killed
    only when that takes longer than CLEANUP_S seconds.
    """
    child = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = child.communicate(timeout=limit)
        return child.returncode, output, False
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGINT)
    except KeyboardInterrupt:  # the child has its own session: pass Ctrl-C on, then stop
        os.killpg(child.pid, signal.SIGINT)
        child.communicate(timeout=CLEANUP_S)
        raise
    try:
        output, _ = child.communicate(timeout=CLEANUP_S)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        output, _ = child.communicate()
    return child.returncode, output, True


def floor_or_cause(nodes: int, topology: str) -> dict[str, object]:
    """The floor, or the seconds until it failed and why (the table shows the cause)."""
    started = time.monotonic()
    try:
        return floor(nodes, topology)
    except (RuntimeError, LabError, WaitTimeout) as error:
        return {"seconds": round(time.monotonic() - started, 1), "error": str(error)[-1000:]}


def suites_run(scratch: Path, name: str, limit: float, *options: str) -> dict[str, object]:
    """``pytest suites/`` in a child process with ``options``: wall time, exit code, counts.

    A run past ``limit`` seconds is stopped; its figure then has
    ``timed_out`` True and the seconds it ran until stopped.
    """
    reports = scratch / name.replace(" ", "-")
    command = [sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider"]
    command += ["--report-dir", str(reports), *options]
    (exit_code, output, timed_out), seconds = timed(lambda: run_bounded(command, limit))
    figures: dict[str, object] = {"seconds": seconds, "exit_code": exit_code}
    if timed_out:
        figures.update(seconds=round(limit, 1), timed_out=True, cleanup_s=round(seconds - limit, 1))
        figures["output"] = output[-2000:]
        return figures
    try:
        summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        figures["output"] = output[-4000:]
        return figures
    counts = summary.get("counts", {})
    figures["counts"] = {k: v for k, v in counts.items() if v and k != "total"}
    figures["causes"] = len(summary.get("causes", []))
    return figures


def measure(
    rows: list[str], nodes: int, topology: str, scratch: Path, limit: float
) -> dict[str, dict[str, object]]:
    """The figure of each row named in ``rows``, in ``ROWS`` order, every run on ``topology``."""
    files = {}
    for name, text in (("duplicate-key.json", DUPLICATE_KEY), ("unreachable.json", UNREACHABLE)):
        files[name] = scratch / name
        files[name].write_bytes(text)
    shape = ("--topology", topology)
    base = ("--nodes", str(nodes), *shape)
    broken = ("--mirror-fqdn", "mirror.test", *base)

    def run(name: str, *options: str) -> dict[str, object]:
        return suites_run(scratch, name, limit, *options)

    makers = {
        "floor": lambda: floor_or_cause(nodes, topology),
        "healthy": lambda: run("healthy", *base),
        "duplicate key": lambda: run(
            "duplicate key", "--daemon-json", str(files["duplicate-key.json"]), *broken
        ),
        "unreachable mirror": lambda: run(
            "unreachable", "--daemon-json", str(files["unreachable.json"]), *broken
        ),
        "10 nodes": lambda: run("10 nodes", "--nodes", "10", *shape),
        "-n 2": lambda: run("n2", *base, "-n", "2"),
    }
    figures = {}
    for row in ROWS:
        if row in rows:
            print(f"[bench] {row} ...", file=sys.stderr, flush=True)
            figures[row] = {**makers[row](), "topology": topology}
            print(f"[bench] {row}: {figures[row]['seconds']} s", file=sys.stderr, flush=True)
    return figures


def table(figures: dict[str, dict[str, object]], nodes: int, topology: str) -> str:
    """The rows as a markdown table: seconds, the ratio to what each is judged against, notes."""
    names = {
        "healthy": f"healthy, {topology}, {nodes} nodes, -n 0",
        "floor": f"floor, {topology}, {nodes} nodes",
    }
    lines = ["| run | seconds | ratio | against | exit | counts |", "|---|---|---|---|---|---|"]
    for row, figure in figures.items():
        against = ROWS[row]
        base = figures.get(against) if against else None
        if base and base.get("error"):  # a floor that did not finish is no measure
            base = None
        ratio = f"{figure['seconds'] / base['seconds']:.2f}" if base else ""
        if ratio and (figure.get("timed_out") or base.get("timed_out")):
            ratio = f"{'>' if figure.get('timed_out') else '<'} {ratio}"
        counts = figure.get("counts") or figure.get("phases") or ""
        if isinstance(counts, dict):
            counts = ", ".join(f"{k} {v}" for k, v in counts.items())
        if figure.get("timed_out"):
            counts = f"stopped after {figure['seconds']} s (--limit), no verdict"
        elif figure.get("error"):
            counts = f"did not finish: {str(figure['error'])[:200]}"
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
    parser.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default=DEFAULT_TOPOLOGY,
        help=f"the lab's shape for every row (default: the suites' default, {DEFAULT_TOPOLOGY})",
    )
    parser.add_argument(
        "--limit", type=float, default=600, help="seconds a suites run may take (default 600)"
    )
    args = parser.parse_args()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    if args.reports:
        args.reports.mkdir(parents=True, exist_ok=True)
        figures = measure(rows, args.nodes, args.topology, args.reports, args.limit)
    else:
        with tempfile.TemporaryDirectory(prefix="mirrorcheck-bench-") as scratch:
            figures = measure(rows, args.nodes, args.topology, Path(scratch), args.limit)
    load = os.getloadavg()
    print(f"topology {args.topology}, {args.nodes} nodes\n")
    print(table(figures, args.nodes, args.topology))
    print(f"\n{os.cpu_count()} cores; load average at the end {load[0]:.1f} / {load[1]:.1f}")
    if args.json:
        document = {
            "topology": args.topology,
            "nodes": args.nodes,
            "cores": os.cpu_count(),
            "load_average": [round(x, 2) for x in load],
            "rows": figures,
        }
        args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

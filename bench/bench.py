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
  is quiet and the mirror has stored the blobs), one Docker Hub outage, the
  two mirror restarts the outage checks make (one while Docker Hub is down,
  one after it is back; on the swarm each a new task of the mirror's
  service, routed by Traefik), the Traefik restart the acme.json check
  makes (swarm only), topology down;
- ``healthy``: ``pytest suites/`` on the embedded default (N nodes, one
  process), against the floor;
- ``duplicate key``: the same run on a daemon.json whose second
  ``registry-mirrors`` key hides the first (dockerd keeps the last value, a
  mirror whose name does not resolve on the lab's network), against healthy;
- ``unreachable mirror``: the same run on a daemon.json whose mirror is
  ``https://mirror.example.org``, against healthy;
- ``10 nodes``: the healthy run with ``--nodes 10``, against N nodes;
- ``-n 2``: the healthy run on two xdist workers (a lab each), against
  ``-n 0``;
- ``controls`` (a group, not run unless named: it takes many minutes): the
  same run once per broken deployment of the project's controls
  (``bench/broken.py``: every lab fault the topology runs, the broken
  registry configs, stacks and daemon.json files), each against healthy (run
  too). ``--controls`` names a few of them. A broken deployment must fail
  in at most 1.2x the healthy run: the line under the table names those slower.

Both broken runs serve the lab's mirror as ``mirror.test`` (``--mirror-fqdn``),
the name the user meant, as do the controls whose control says so. Every run
writes its reports into a scratch folder (``--reports`` keeps them); the exit
code and the counts of each are printed too (``--dry-run``: the command lines
only). A run still going after ``--limit`` seconds (default 600) is
interrupted as Ctrl-C does (its labs are removed) and its row says so. The
machine may be shared: say so beside the figures. The phase figures (image
builds, topology per engine, the live smoke check) are ``bench/phases.py``.

Usage::

    ./run python bench/bench.py                     # every row, a markdown table on stdout
    ./run python bench/bench.py --topology plain    # every row on the plain topology
    ./run python bench/bench.py --rows floor,healthy --json figures.json --reports bench-reports
    ./run python bench/bench.py --rows healthy,"10 nodes" --repeat 3   # medians of 3 rounds
    ./run python bench/bench.py --rows healthy,controls          # every broken deployment
    ./run python bench/bench.py --rows controls --controls cert-expired,node-without-mirror \
        --topology plain --dry-run                               # the command lines only
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import docker
from broken import UNREACHABLE, Broken, deployments

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
# Each row, and the row its ratio is taken against.
ROWS = {
    "floor": None,
    "healthy": "floor",
    "duplicate key": "healthy",
    "unreachable mirror": "healthy",
    "10 nodes": "healthy",
    "-n 2": "healthy",
}
# The row group of the controls' broken deployments: each row is against healthy.
CONTROLS = "controls"
SLOWEST_RATIO = 1.2  # the most a broken deployment may take, times the healthy run


def timed(step):
    started = time.monotonic()
    value = step()
    return value, round(time.monotonic() - started, 1)


def floor(nodes: int, topology: str) -> dict[str, object]:
    """The floor on ``topology``, phase by phase (seconds).

    Topology up, a cold and a warm pull per node, one Docker Hub outage with
    the mirror restarted during it and after it, Traefik restarted (on the
    swarm), topology down; ``lab_phases`` are the lab's own start timings.
    Raises RuntimeError when a pull fails or the mirror does not restart once
    Docker Hub is back, ``LabError`` or ``WaitTimeout`` when the lab does not
    come up or Traefik does not serve again.
    """
    client = docker.from_env()
    swarm = topology == "swarm"
    images = ImageSupply(client).resolve_all(
        split_engines([DEFAULT_ENGINE]), edge=swarm, proxy=not swarm
    )
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
        _, phases["Docker Hub down"] = timed(outage.__enter__)
        try:  # the outage checks restart the mirror while Docker Hub is down, and after
            _, phases["mirror restart, Docker Hub down"] = timed(lab.start_mirror)
        finally:
            _, phases["Docker Hub back"] = timed(lambda: outage.__exit__(None, None, None))
        restart, phases["mirror restart"] = timed(lab.start_mirror)
        if not restart.up:
            raise RuntimeError(f"the mirror did not restart: {restart.log[-300:]}")
        if swarm:  # the acme.json check restarts Traefik
            _, phases["Traefik restart"] = timed(lab.acme.restart)
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


def suites_command(reports: Path, options: tuple[str, ...]) -> list[str]:
    """The command line of ``pytest suites/`` with ``options``, its reports in ``reports``."""
    command = [sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider"]
    return [*command, "--report-dir", str(reports), *options]


def suites_run(scratch: Path, name: str, limit: float, *options: str) -> dict[str, object]:
    """``pytest suites/`` in a child process with ``options``: wall time, exit code, counts.

    A run past ``limit`` seconds is stopped; its figure then has
    ``timed_out`` True and the seconds it ran until stopped.
    """
    reports = scratch / name.replace(" ", "-")
    command = suites_command(reports, options)
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
    rows: list[str],
    nodes: int,
    topology: str,
    scratch: Path,
    limit: float,
    *,
    controls: Sequence[Broken] = (),
    dry_run: bool = False,
    repeat: int = 1,
) -> dict[str, dict[str, object]]:
    """The figure of each row named in ``rows``, in ``ROWS`` order, every run on ``topology``;
    then ``control <name>`` for each of ``controls`` (its file written under ``scratch/files``).

    With ``repeat`` above 1, every row runs that many times, round after round
    (each round all rows, so that a slow spell of the machine falls on every
    row alike); a row's figure is its median run, with every run's seconds in
    ``runs``. With ``dry_run`` nothing runs: each suites run's command line is
    printed instead.
    """
    files = scratch / "files"
    (duplicate_key,) = deployments(topology, ["duplicate-key"])
    shape = ("--topology", topology)
    base = ("--nodes", str(nodes), *shape)

    def run(name: str, *options: str) -> dict[str, object]:
        if dry_run:
            command = suites_command(scratch / name.replace(" ", "-"), options)
            print(f"{name}: {shlex.join(command)}", flush=True)
            return {"seconds": 0.0, "command": command}
        return suites_run(scratch, name, limit, *options)

    def control(broken: Broken) -> dict[str, object]:
        return run(f"control {broken.name}", *broken.arguments(files), *base)

    makers = {
        "floor": lambda: {"seconds": 0.0} if dry_run else floor_or_cause(nodes, topology),
        "healthy": lambda: run("healthy", *base),
        "duplicate key": lambda: run("duplicate key", *duplicate_key.arguments(files), *base),
        "unreachable mirror": lambda: run("unreachable", *UNREACHABLE.arguments(files), *base),
        "10 nodes": lambda: run("10 nodes", "--nodes", "10", *shape),
        "-n 2": lambda: run("n2", *base, "-n", "2"),
    }
    jobs = [(row, makers[row], {}) for row in ROWS if row in rows]
    jobs += [(f"control {b.name}", partial(control, b), {"control": b.control}) for b in controls]
    runs: dict[str, list[dict[str, object]]] = {row: [] for row, _, _ in jobs}
    for round_ in range(1 if dry_run else repeat):
        for row, make, notes in jobs:
            said = f"{row} (round {round_ + 1} of {repeat})" if repeat > 1 else row
            print(f"[bench] {said} ...", file=sys.stderr, flush=True)
            runs[row].append({**make(), "topology": topology, **notes})
            if not dry_run:
                seconds = runs[row][-1]["seconds"]
                print(f"[bench] {said}: {seconds} s", file=sys.stderr, flush=True)
    return {row: median_run(made) for row, made in runs.items()}


def median_run(made: list[dict[str, object]]) -> dict[str, object]:
    """The run of median seconds (the lower of the two middle ones for an even count), with
    ``runs``: every run's seconds in the order run; one run is returned as it is."""
    if len(made) == 1:
        return made[0]
    ordered = sorted(made, key=lambda figure: float(figure["seconds"]))
    return {**ordered[(len(ordered) - 1) // 2], "runs": [figure["seconds"] for figure in made]}


def against(row: str) -> str | None:
    """The row that ``row``'s ratio is taken against (a control's: healthy)."""
    return ROWS.get(row, "healthy")


def ratio(figures: dict[str, dict[str, object]], row: str) -> float | None:
    """``row``'s seconds over those of the row it is judged against; None without that row."""
    base = figures.get(against(row) or "")
    if not base or base.get("error") or not base["seconds"]:  # a floor that did not finish
        return None
    return figures[row]["seconds"] / base["seconds"]


def table(figures: dict[str, dict[str, object]], nodes: int, topology: str) -> str:
    """The rows as a markdown table: seconds, the ratio to what each is judged against, notes."""
    names = {
        "healthy": f"healthy, {topology}, {nodes} nodes, -n 0",
        "floor": f"floor, {topology}, {nodes} nodes",
    }
    lines = ["| run | seconds | ratio | against | exit | counts |", "|---|---|---|---|---|---|"]
    for row, figure in figures.items():
        base = figures.get(against(row) or "")
        value = ratio(figures, row)
        shown = f"{value:.2f}" if value is not None else ""
        if shown and (figure.get("timed_out") or base.get("timed_out")):
            shown = f"{'>' if figure.get('timed_out') else '<'} {shown}"
        counts = figure.get("counts") or figure.get("phases") or ""
        if isinstance(counts, dict):
            counts = ", ".join(f"{k} {v}" for k, v in counts.items())
        if figure.get("timed_out"):
            counts = f"stopped after {figure['seconds']} s (--limit), no verdict"
        elif figure.get("error"):
            counts = f"did not finish: {str(figure['error'])[:200]}"
        causes = f"; {figure['causes']} causes" if figure.get("causes") else ""
        if figure.get("runs"):
            causes += f"; runs {' / '.join(str(s) for s in figure['runs'])} s (median shown)"
        name = names.get(row, row)
        if figure.get("control"):
            name = f"{name} ({str(figure['control']).removeprefix('tests/controls/')})"
        lines.append(
            f"| {name} | {figure['seconds']} | {shown} | {against(row) or ''} "
            f"| {figure.get('exit_code', '')} | {counts}{causes} |"
        )
    return "\n".join(lines)


def slower_controls(figures: dict[str, dict[str, object]]) -> str:
    """One line naming the controls past SLOWEST_RATIO times healthy, or saying none is."""
    rows = [row for row, figure in figures.items() if figure.get("control")]
    measured = [row for row in rows if ratio(figures, row) is not None]
    if not measured:
        return "controls: no healthy run to judge them against"
    slow = [
        f"{row.removeprefix('control ')} {ratio(figures, row):.2f}x"
        for row in measured
        if figures[row].get("timed_out") or ratio(figures, row) > SLOWEST_RATIO
    ]
    if not slow:
        return f"controls: all {len(measured)} within {SLOWEST_RATIO}x healthy"
    return f"controls past {SLOWEST_RATIO}x healthy ({len(slow)} of {len(measured)}): " + ", ".join(
        slow
    )


def chosen_controls(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Broken]:
    """The broken deployments asked for (``controls`` in --rows, or --controls), checked."""
    names = [n.strip() for n in args.controls.split(",") if n.strip()] if args.controls else None
    try:
        controls = deployments(args.topology, names)
        for broken in controls:  # each edit still applies to its example
            if broken.text is not None:
                broken.text()
    except ValueError as error:  # ExampleChanged too
        parser.error(f"--controls: {error}")
    return controls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3, help="nodes of every run but '10 nodes'")
    parser.add_argument(
        "--rows",
        default=",".join(ROWS),
        help=f"a comma list of {[*ROWS, CONTROLS]} (default: all but {CONTROLS!r})",
    )
    parser.add_argument(
        "--controls",
        help=f"a comma list of broken deployments (bench/broken.py): only these {CONTROLS!r} "
        "rows (implies that group); an unknown name lists the choices",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print each suites run's command line, run none"
    )
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
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every row this many times, round after round; each row shows its median",
    )
    args = parser.parse_args()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in (*ROWS, CONTROLS)]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {[*ROWS, CONTROLS]}")
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: run every row at least once")
    controls = chosen_controls(parser, args) if CONTROLS in rows or args.controls else []
    if controls and "healthy" not in rows:  # each control is judged against it
        rows.append("healthy")

    def measured(scratch: Path) -> dict[str, dict[str, object]]:
        return measure(
            rows, args.nodes, args.topology, scratch, args.limit,
            controls=controls, dry_run=args.dry_run, repeat=args.repeat,
        )  # fmt: skip

    if args.reports:
        args.reports.mkdir(parents=True, exist_ok=True)
        figures = measured(args.reports)
    else:
        with tempfile.TemporaryDirectory(prefix="mirrorcheck-bench-") as scratch:
            figures = measured(Path(scratch))
    if args.dry_run:
        return 0
    load = os.getloadavg()
    print(f"topology {args.topology}, {args.nodes} nodes\n")
    print(table(figures, args.nodes, args.topology))
    if controls:
        print(f"\n{slower_controls(figures)}")
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

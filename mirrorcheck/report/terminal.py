"""The short block the terminal ends with: verdict, single-fetch figures, billable requests saved.

Pure: lines of text from the summary document; the plugin writes them.

Usage::

    for line, colour in summary_block(document):
        terminalreporter.write_line(line, **{colour: True} if colour else {})
"""

from __future__ import annotations

from collections.abc import Mapping

from mirrorcheck.report.html import VERDICT_TEXT, topology_facts

MAX_LISTED_FAILURES = 10
MAX_LISTED_CAUSES = 10
MAX_LISTED_PLACES = 4
MAX_CAUSE_LINES = 3


def _short(check_id: str) -> str:
    return check_id.rsplit("::", 1)[-1]


def _pull_line(series: Mapping) -> str:
    """``upstream requests per pull: node-1 14; node-2, node-3 (at once) 2`` (pull order)."""
    pulls = "; ".join(f"{p['node']} {p['upstream_requests']}" for p in series["pulls"])
    return f"  single fetch, {_short(series['check'])}: upstream requests per pull: {pulls}"


def _listed(items: list[str], most: int) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def cause_lines(causes: list[Mapping]) -> list[tuple[str, str | None]]:
    """``N causes``, then each cause once: its text, where it comes from, the checks it failed."""
    if not causes:
        return []
    lines: list[tuple[str, str | None]] = [
        (f"  {len(causes)} cause{'s' if len(causes) != 1 else ''}:", "red")
    ]
    for number, cause in enumerate(causes[:MAX_LISTED_CAUSES], 1):
        said = [s for s in str(cause["cause"]).splitlines() if s.strip()][:MAX_CAUSE_LINES]
        lines.append((f"  {number}. {said[0] if said else ''}", "red"))
        lines += [(f"     {more}", "red") for more in said[1:]]
        if cause["where"]:
            lines.append((f"     at {_listed(list(cause['where']), MAX_LISTED_PLACES)}", None))
        checks = [_short(c) for c in cause["checks"]]
        lines.append((f"     failed {len(checks)}: {_listed(checks, MAX_LISTED_PLACES)}", None))
    if len(causes) > MAX_LISTED_CAUSES:
        lines.append((f"  ... and {len(causes) - MAX_LISTED_CAUSES} more causes", "red"))
    return lines


def topology_lines(target: Mapping) -> list[tuple[str, str | None]]:
    """The lab's shape and, one line each with its reason, what it changed in the files."""
    return [(f"  {fact}", None) for fact in topology_facts(target)]


def summary_block(document: Mapping) -> list[tuple[str, str | None]]:
    """``(line, colour)`` pairs; colour is a terminal markup name (red, green, yellow) or None."""
    verdict = document["verdict"]
    colour = {"passed": "green", "failed": "red", "internal_error": "red"}.get(verdict, "yellow")
    counts = document["counts"]
    tally = ", ".join(
        f"{counts[k]} {k}"
        for k in ("passed", "failed", "error", "xfailed", "xpassed", "skipped")
        if counts.get(k)
    )
    lines: list[tuple[str, str | None]] = [
        (
            f"mirrorcheck {VERDICT_TEXT.get(verdict, verdict)}: {document['target']['name']} "
            f"(exit code {document['exit_code']}; {tally or 'no checks ran'})",
            colour,
        )
    ]
    if verdict == "no_tests":
        lines.append(
            (
                "  nothing was checked: no check passed (a skipped check proves nothing), so the "
                "gate does not pass. Fix: see each skip's reason (listed with this summary) and "
                "give what it names, or select checks that apply",
                colour,
            )
        )
    for problem in document.get("problems") or []:
        lines.append((f"  {problem}", colour))
    lines += cause_lines(document.get("causes") or [])
    failed = document["failed_checks"]
    for check in failed[:MAX_LISTED_FAILURES]:
        lines.append((f"  failed: {check}", "red"))
    if len(failed) > MAX_LISTED_FAILURES:
        lines.append((f"  ... and {len(failed) - MAX_LISTED_FAILURES} more", "red"))
    for series in document["pulls"]:
        lines.append((_pull_line(series), None))
    for each in document["single_fetch"]:
        lines.append(
            (
                f"  upstream GETs per blob, {_short(each['check'])}: at most "
                f"{each['max_upstream_gets_per_blob']} ({each['blobs']} blobs)",
                None,
            )
        )
    if not document["pulls"] and not document["single_fetch"]:
        lines.append(("  single fetch: not measured in this run", None))
    totals = document["totals"]
    run = totals.get("whole_run")
    if run:
        lines.append(
            (
                f"  Docker Hub billable requests, whole run: {run['billable_with_mirror']} with "
                f"the mirror, {run['billable_without_mirror']} without: "
                f"{run['billable_saved']} saved",
                None,
            )
        )
    elif totals["billable_saved"] is not None:
        lines.append(
            (
                f"  Docker Hub billable requests: {totals['billable_with_mirror']} with the "
                "mirror, "
                f"{totals['billable_without_mirror']} without: {totals['billable_saved']} saved",
                None,
            )
        )
    elif totals["billable_manifest_gets"] is not None:
        lines.append(
            (
                f"  Docker Hub billable requests sent upstream: {totals['billable_manifest_gets']} "
                "(saved: not measured, no check recorded billable_without_mirror)",
                None,
            )
        )
    else:
        lines.append(("  Docker Hub billable requests: not measured in this run", None))
    lines += topology_lines(document["target"])
    reports = document.get("reports") or {}
    if reports:
        lines.append(("  reports: " + ", ".join(reports.values()), None))
    return lines

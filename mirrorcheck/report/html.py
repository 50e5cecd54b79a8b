"""HTML fragments for ``report.html``: verdict, totals, per-node table, per-pull chart.

Pure: each function takes the summary document (``mirrorcheck.report.summary``) and
returns HTML text, every value escaped. The pytest plugin hands them to
pytest-html through its hooks; nothing here loads anything from outside the
file (the chart is inline SVG, the style an inline ``<style>``), so the report
opens offline.

Usage::

    from mirrorcheck.report import html

    fragments = html.summary_fragments(document)   # for pytest_html_results_summary's prefix
    svg = html.pull_chart(document["pulls"][0])
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape

VERDICT_TEXT = {
    "passed": "PASSED",
    "failed": "FAILED",
    "interrupted": "INTERRUPTED",
    "internal_error": "INTERNAL ERROR",
    "usage_error": "USAGE ERROR",
    "no_tests": "NOTHING CHECKED",
}
FIRST_PULL_COLOUR = "#c0392b"
LATER_PULL_COLOUR = "#27ae60"
BLOB_GETS_COLOUR = "#7f8c8d"
MIN_CHART_WIDTH = 440  # room for the title, the check's name and the legend

# pytest-html lays the page out as title, environment, summary, results. The
# verdict goes first: the body becomes a column and the environment moves last.
STYLE = """
body { display: flex; flex-direction: column; }
body > * { order: 2; }
#title { order: 0; }
body > p:first-of-type { order: 0; }
.summary { order: 1; display: block; }
#environment-header, #environment { order: 3; }
.mc-verdict { font-size: 20px; font-weight: bold; padding: 12px 16px; margin: 8px 0 12px;
  color: #fff; border-radius: 4px; }
.mc-verdict small { display: block; font-size: 13px; font-weight: normal; margin-top: 4px; }
.mc-verdict-passed { background: #27ae60; }
.mc-verdict-failed, .mc-verdict-internal_error, .mc-verdict-usage_error { background: #c0392b; }
.mc-verdict-interrupted, .mc-verdict-no_tests { background: #d68910; }
.mc-causes { margin: 0 0 12px; color: #333; }
.mc-causes li { margin: 4px 0; }
.mc-causes pre { margin: 0; font-weight: bold; white-space: pre-wrap; color: #c0392b; }
#mc-causes-title { font-size: 16px; margin: 8px 0 4px; }
.mc-failed-checks { margin: 0 0 12px; color: #333; }
.mc-failed-checks li { margin: 2px 0; }
.mc-failed-checks code { color: #c0392b; }
.mc-section { margin: 12px 0; color: #333; }
.mc-section h3 { margin: 8px 0; }
table.mc-table { border-collapse: collapse; margin: 4px 0 12px; color: #333; }
table.mc-table th, table.mc-table td { border: 1px solid #ccc; padding: 4px 8px; text-align: left;
  vertical-align: top; }
table.mc-table th { background: #f2f2f2; }
table.mc-table td.mc-num { text-align: right; }
tr.mc-bad td { background: #fdecea; }
.mc-yes { color: #1e8449; font-weight: bold; }
.mc-no { color: #c0392b; font-weight: bold; }
.mc-unknown { color: #999; }
.mc-charts { display: flex; flex-wrap: wrap; gap: 16px; }
.mc-chart text { font-family: Helvetica, Arial, sans-serif; fill: #333; }
.mc-figures { font-family: monospace; font-size: 11px; white-space: pre-wrap; color: #333;
  max-width: 420px; overflow-wrap: anywhere; }
td.col-node { white-space: nowrap; }
#results-table { width: 100%; }
td.col-testId { overflow-wrap: anywhere; }
"""


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _unknown(what: str = "not measured") -> str:
    return f'<span class="mc-unknown">{_text(what)}</span>'


def _yes_no(value: object) -> str:
    if value is True:
        return '<span class="mc-yes">yes</span>'
    if value is False:
        return '<span class="mc-no">no</span>'
    return _unknown()


def _seconds(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else _unknown()


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int | float) else _unknown()


def title(document: Mapping) -> str:
    """The page title: the verdict first, then the target."""
    verdict = VERDICT_TEXT.get(document["verdict"], document["verdict"])
    return f"{verdict}: mirrorcheck {document['target']['name']}"


def verdict_banner(document: Mapping) -> str:
    """The run's verdict, what was checked, and each failing check with its message."""
    verdict = document["verdict"]
    counts = document["counts"]
    parts = [
        f"{counts[k]} {k}"
        for k in ("passed", "failed", "error", "xfailed", "xpassed", "skipped")
        if counts.get(k)
    ]
    failed = document["failed_checks"]
    messages = {c["id"]: c["message"] for c in document["checks"]}
    banner = (
        f'<div class="mc-verdict mc-verdict-{_text(verdict)}" id="mc-verdict">'
        f"{_text(VERDICT_TEXT.get(verdict, verdict))}: {_text(document['target']['name'])}"
        f"<small>{_text(', '.join(parts) or 'no checks ran')} "
        f"(exit code {_text(document['exit_code'])})</small></div>"
    )
    if not failed:
        return banner
    banner += causes_list(document.get("causes") or [])
    items = "".join(
        f"<li><code>{_text(check)}</code>: {_text(_first_line(messages.get(check, '')))}</li>"
        for check in failed
    )
    return f'{banner}<ul class="mc-failed-checks" id="mc-failed-checks">{items}</ul>'


def causes_list(causes: list[Mapping]) -> str:
    """The distinct causes, each once with where it comes from and the checks it failed."""
    if not causes:
        return ""
    rows = "".join(
        f'<li class="mc-cause"><pre>{_text(cause["cause"])}</pre>'
        + (f"<div>at {_text(', '.join(cause['where']))}</div>" if cause["where"] else "")
        + f"<div>failed {len(cause['checks'])}: "
        + ", ".join(f"<code>{_text(c.rsplit('::', 1)[-1])}</code>" for c in cause["checks"])
        + "</div></li>"
        for cause in causes
    )
    count = f"{len(causes)} cause{'s' if len(causes) != 1 else ''}"
    return f'<h2 id="mc-causes-title">{count}</h2><ol class="mc-causes" id="mc-causes">{rows}</ol>'


def _first_line(message: str) -> str:
    line = next((s.strip() for s in message.splitlines() if s.strip()), "")
    return line if len(line) <= 300 else line[:297] + "..."


def totals_table(document: Mapping) -> str:
    """Upstream vs served bytes, billable requests with and without the mirror, single fetch."""
    totals = document["totals"]
    rows = [
        ("Bytes fetched from upstream", _count(totals["upstream_bytes"])),
        ("Bytes served to nodes", _count(totals["bytes_served_to_nodes"])),
        (
            "Billable manifest GETs the mirror sent upstream",
            _count(totals["billable_manifest_gets"]),
        ),
        ("Docker Hub billable requests with the mirror", _count(totals["billable_with_mirror"])),
        ("... the same pulls without the mirror", _count(totals["billable_without_mirror"])),
        ("... saved", _count(totals["billable_saved"])),
    ]
    run = totals.get("whole_run")
    if run:
        rows += [
            (
                "Whole run: Docker Hub billable requests with the mirror",
                _count(run["billable_with_mirror"]),
            ),
            ("Whole run: ... without the mirror", _count(run["billable_without_mirror"])),
            ("Whole run: ... saved", _count(run["billable_saved"])),
            ("Whole run: bytes fetched from upstream", _count(run["upstream_bytes"])),
            ("Whole run: bytes the mirror served", _count(run["bytes_served_to_nodes"])),
        ]
    for each in document["single_fetch"]:
        rows.append(
            (
                f"Upstream GETs per blob, {each['check'].rsplit('::', 1)[-1]}",
                f"{_text(each['max_upstream_gets_per_blob'])} at most "
                f"({_text(each['blobs'])} blobs)",
            )
        )
    body = "".join(f"<tr><th>{_text(k)}</th><td class='mc-num'>{v}</td></tr>" for k, v in rows)
    return (
        '<div class="mc-section" id="mc-totals"><h3>Traffic and Docker Hub pulls</h3>'
        f'<table class="mc-table">{body}</table></div>'
    )


NODE_COLUMNS = (
    "Node",
    "Mirror configured",
    "daemon.json",
    "Effective mirrors",
    "Engine",
    "Cold pull (s)",
    "Warm pull (s)",
    "Checks",
)


def _global_job_cell(node: Mapping) -> str:
    """What a swarm global job read from the node's daemon.json, under the daemon's own view."""
    read = node.get("effective_mirrors_by_global_job")
    error = node.get("global_job_error")
    if error:
        return f"<br><small>global job: {_text(_first_line(error))}</small>"
    if read is None:
        return ""
    return f"<br><small>global job read: {_text(', '.join(read) or 'none')}</small>"


def node_table(document: Mapping) -> str:
    """One row per node; a node with a failing check or a daemon that did not start stands out."""
    head = "".join(f"<th>{_text(c)}</th>" for c in NODE_COLUMNS)
    rows = []
    for node in document["nodes"]:
        bad = node["failed_checks"] or node["startup_error"] or node["mirror_configured"] is False
        verdict = node["daemon_json_verdict"]
        if node["startup_error"]:
            why = _text(_first_line(node["startup_error"]))
            verdict_cell = f"{_text(verdict or 'refused')}<br><small>{why}</small>"
        else:
            verdict_cell = _text(verdict) if verdict else _unknown("not checked")
        mirrors = node["effective_mirrors"]
        checks = ", ".join(f"{n} {v}" for v, n in sorted(node["checks"].items()))
        failing = "".join(
            f"<br><code>{_text(c.rsplit('::', 1)[-1])}</code>" for c in node["failed_checks"]
        )
        cells = [
            _text(node["name"]),
            _yes_no(node["mirror_configured"]),
            verdict_cell,
            (
                "<br>".join(_text(m) for m in mirrors)
                if mirrors
                else (_unknown("none") if mirrors == [] else _unknown())
            )
            + _global_job_cell(node),
            (_text(node["engine_version"]) if node["engine_version"] else _unknown())
            + (
                f"<br><small>{_text(node['image_store'])} store</small>"
                if node["image_store"]
                else ""
            ),
            _seconds(node["cold_pull_seconds"]),
            _seconds(node["warm_pull_seconds"]),
            (_text(checks) if checks else _unknown("none")) + failing,
        ]
        row_class = ' class="mc-bad"' if bad else ""
        rows.append(f"<tr{row_class}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    if not rows:
        rows.append(
            f'<tr><td colspan="{len(NODE_COLUMNS)}">{_unknown("no node was reported")}</td></tr>'
        )
    return (
        '<div class="mc-section"><h3>Nodes</h3>'
        f'<table class="mc-table" id="mc-nodes"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def pull_chart(series: Mapping, width_per_pull: int = 70, height: int = 180) -> str:
    """Inline SVG: upstream requests of each pull in order; the first (cold) pull in red."""
    pulls = series["pulls"]
    has_blobs = any(p["upstream_blob_gets"] is not None for p in pulls)
    top = max(
        [
            1,
            *(p["upstream_requests"] for p in pulls),
            *(p["upstream_blob_gets"] or 0 for p in pulls),
        ]
    )
    left, bottom, head = 36, 34, 40
    width = max(MIN_CHART_WIDTH, left + width_per_pull * len(pulls) + 16)
    plot = height - bottom - head
    name = series["check"].rsplit("::", 1)[-1]
    parts = [
        f'<svg class="mc-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="upstream requests per pull, {_text(name)}">',
        f"<title>Upstream requests per pull: {_text(series['check'])}</title>",
        f'<text x="{left}" y="14" font-size="12" font-weight="bold">'
        "Upstream requests per pull</text>",
        f'<text x="{left}" y="28" font-size="10">{_text(name)}</text>',
        f'<line x1="{left}" y1="{head}" x2="{left}" y2="{head + plot}" stroke="#999"/>',
        f'<line x1="{left}" y1="{head + plot}" x2="{width - 8}" y2="{head + plot}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{head + 4}" font-size="10" text-anchor="end">{_text(top)}</text>',
        f'<text x="{left - 4}" y="{head + plot}" font-size="10" text-anchor="end">0</text>',
    ]
    bar = (width_per_pull - 20) // (2 if has_blobs else 1)
    for index, pull in enumerate(pulls):
        x = left + 10 + index * width_per_pull
        first = index == 0
        colour = FIRST_PULL_COLOUR if first else LATER_PULL_COLOUR
        label = pull["node"] or ("1st pull" if first else f"pull {pull['order']}")
        bars = [("mc-bar" + (" mc-bar-first" if first else ""), pull["upstream_requests"], colour)]
        if has_blobs:
            bars.append(("mc-bar-blobs", pull["upstream_blob_gets"] or 0, BLOB_GETS_COLOUR))
        for offset, (css, value, fill) in enumerate(bars):
            bar_height = max(1.0, plot * value / top) if value else 1.0
            y = head + plot - bar_height
            bx = x + offset * bar
            parts.append(
                f'<rect class="{css}" x="{bx}" y="{y:.1f}" width="{bar - 2}" '
                f'height="{bar_height:.1f}" fill="{fill}">'
                f"<title>{_text(label)}: {_text(value)}</title></rect>"
                f'<text x="{bx + (bar - 2) / 2:.1f}" y="{y - 3:.1f}" font-size="10" '
                f'text-anchor="middle">{_text(value)}</text>'
            )
        parts.append(
            f'<text x="{x + (width_per_pull - 20) / 2:.1f}" y="{head + plot + 14}" font-size="10" '
            f'text-anchor="middle">{_text(label)}</text>'
        )
    legend = f'<tspan fill="{FIRST_PULL_COLOUR}">&#9632;</tspan> first pull (cold) '
    legend += f'<tspan fill="{LATER_PULL_COLOUR}">&#9632;</tspan> later pulls'
    if has_blobs:
        legend += f' <tspan fill="{BLOB_GETS_COLOUR}">&#9632;</tspan> of which blob GETs'
    parts.append(f'<text x="{left}" y="{height - 4}" font-size="10">{legend}</text>')
    parts.append("</svg>")
    return "".join(parts)


def charts(document: Mapping) -> str:
    """Every per-pull chart, or a note naming the figure that would draw one."""
    drawn = "".join(pull_chart(series) for series in document["pulls"])
    if not drawn:
        drawn = _unknown(
            "no check recorded upstream_requests_per_pull, so there is no per-pull chart"
        )
    return (
        '<div class="mc-section"><h3>Single fetch: upstream requests per pull</h3>'
        f'<div class="mc-charts" id="mc-charts">{drawn}</div></div>'
    )


def topology_facts(target: Mapping) -> list[str]:
    """The lab's shape, then what it changed in the files under test, one line each with its
    reason (the stack's copy, the lab's Traefik, the registry config); [] for other runs."""
    if not target.get("topology"):
        return []
    shape = [str(target["topology"])]
    shape += [str(target[key]) for key in ("tls_proxy", "acme_issuer") if target.get(key)]
    facts = ["topology: " + "; ".join(shape)]
    for key in ("substitutions", "acme_substitution", "mirror_config_changes"):
        facts += [f"changed by the lab: {change}" for change in target.get(key) or []]
    return facts


def topology_list(document: Mapping) -> str:
    """The topology and the lab's changes, as the terminal says them."""
    facts = topology_facts(document["target"])
    if not facts:
        return ""
    items = "".join(f"<li>{_text(fact)}</li>" for fact in facts)
    return f'<ul class="mc-topology" id="mc-topology">{items}</ul>'


def summary_fragments(document: Mapping) -> list[str]:
    """What the report shows above pytest-html's own counts, in reading order."""
    return [
        f"<style>{STYLE}</style>",
        verdict_banner(document),
        topology_list(document),
        node_table(document),
        charts(document),
        totals_table(document),
    ]


def figures_cell(figures: Mapping[str, object], hidden: frozenset[str] = frozenset()) -> str:
    """A results-table cell listing a check's figures, one ``name = value`` per line."""
    lines = []
    for name, value in figures.items():
        if name in hidden:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"{name} = {text if len(text) <= 160 else text[:157] + '...'}")
    return (
        f'<td class="col-figures"><div class="mc-figures">{_text(chr(10).join(lines))}</div></td>'
    )


def node_cell(node: str) -> str:
    """The results table's node column."""
    return f'<td class="col-node">{_text(node)}</td>'

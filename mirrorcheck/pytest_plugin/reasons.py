"""Why a check neither passed nor failed: the skipped and xfailed checks, each with its reason.

pytest lists skips and expected failures only when asked (``-rs``, ``-rx``);
without them a user sees "4 xfailed" and not which checks, nor why. The
mirrorcheck summary lists them, each reason once with the checks it covers,
unless pytest's own short summary lists that kind already (so ``-rsx`` does
not show them twice).

Pure: lines of text from pytest's reports; the plugin writes them.

Usage::

    for line in reason_lines(terminalreporter.stats, terminalreporter.reportchars):
        terminalreporter.write_line(line, yellow=True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# pytest's report character per kind: with it in -r, pytest's short summary lists that kind.
KINDS = {"skipped": "s", "xfailed": "x", "xpassed": "X"}
NO_REASON = "no reason given"
_PREFIXES = ("Skipped: ", "reason: ")


def reason_of(report: object) -> str:
    """The reason a skipped or xfailed ``report`` (a pytest report) gives, on one line."""
    wasxfail = getattr(report, "wasxfail", None)
    if wasxfail is not None:
        text = str(wasxfail)
    else:
        longrepr = getattr(report, "longrepr", None)
        is_skip = isinstance(longrepr, tuple) and len(longrepr) == 3  # (path, line, reason)
        text = str(longrepr[2]) if is_skip else ""  # type: ignore[index]
    for prefix in _PREFIXES:
        text = text.removeprefix(prefix)
    return " ".join(text.split()) or NO_REASON


def check_name(nodeid: str) -> str:
    """``suites/tls/test_a.py::test_b[node-1]`` -> ``test_a.py::test_b[node-1]``."""
    path, sep, rest = nodeid.partition("::")
    return path.rsplit("/", 1)[-1] + sep + rest


def reason_lines(stats: Mapping[str, Iterable[object]], reportchars: str = "") -> list[str]:
    """Per kind and reason ``  2 skipped: REASON``, then a line naming those checks.

    ``stats`` is the terminal reporter's (reports by kind); a kind whose
    character is in ``reportchars`` (pytest's ``-r``) is left to pytest. Each
    check is named once per kind, in the order the reports came.
    """
    lines: list[str] = []
    for kind, char in KINDS.items():
        if char in reportchars:
            continue
        by_reason: dict[str, list[str]] = {}
        seen: set[str] = set()
        for report in stats.get(kind, ()):
            nodeid = str(getattr(report, "nodeid", ""))
            if nodeid in seen:
                continue
            seen.add(nodeid)
            by_reason.setdefault(reason_of(report), []).append(check_name(nodeid))
        for reason, checks in by_reason.items():
            lines.append(f"  {len(checks)} {kind}: {reason}")
            lines.append(f"      {', '.join(checks)}")
    return lines

"""dockerd's log on a host reached by commands: journald, else /var/log/docker.log.

Where dockerd's log lives depends on how it was started: under systemd the
journal holds it (``journalctl -u docker.service``); sysvinit, OpenRC and
containers started by hand keep it in ``/var/log/docker.log``. The reader asks
the journal first, then the file, and says plainly when neither is there.

A file has no ``--since``: its lines are kept from ``since`` on by the
``time="..."`` stamp logrus writes on each line (a line without one belongs
to the stamped line above it).

Usage::

    from mirrorcheck.probes.daemon_log import DaemonLogReader

    reader = DaemonLogReader(node.run, where=node.name)    # run(*argv, timeout=...) -> result
    text = reader.read(since=1732822800.0)                # raises DaemonLogUnavailable
    reader.source                                         # "journalctl -u docker.service"
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

LOG_FILE = "/var/log/docker.log"
JOURNAL_UNIT = "docker.service"
READ_TIMEOUT = 20.0
_STAMP = re.compile(r'\btime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?"')


class DaemonLogUnavailable(RuntimeError):
    """Neither the journal nor the log file holds dockerd's log; the message says what to do."""


@dataclass(frozen=True)
class _Result:
    exit_code: int
    output: str


def stamp_of(line: str) -> float | None:
    """The epoch seconds of a logrus ``time="2024-05-01T12:00:00.123456789Z"`` stamp, if any."""
    match = _STAMP.search(line)
    if not match:
        return None
    base, fraction, zone = match.groups()
    when = dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    offset = dt.timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    seconds = when.replace(tzinfo=dt.timezone.utc).timestamp() - offset.total_seconds()
    return seconds + (float(fraction) if fraction else 0.0)


def lines_since(text: str, since: float | None) -> str:
    """The lines of a logrus text log stamped at or after ``since`` (all when None)."""
    if since is None:
        return text
    kept, keeping = [], False
    for line in text.splitlines():
        stamp = stamp_of(line)
        if stamp is not None:
            keeping = stamp >= since
        if keeping:
            kept.append(line)
    return "\n".join(kept) + ("\n" if kept else "")


class DaemonLogReader:
    """Reads dockerd's log with ``run`` (a node's command runner); finds the source once."""

    def __init__(self, run: Callable[..., object], where: str) -> None:
        self._run = run
        self.where = where
        self.source = ""

    def _call(self, *argv: str) -> _Result:
        result = self._run(*argv, timeout=READ_TIMEOUT)
        return _Result(int(result.exit_code), str(result.output))

    def _find_source(self) -> str:
        journal = self._call("journalctl", "-u", JOURNAL_UNIT, "-n", "1", "-q", "--no-pager")
        if journal.exit_code == 0 and journal.output.strip():
            return "journal"
        if self._call("test", "-r", LOG_FILE).exit_code == 0:
            return "file"
        journal_said = journal.output.strip().splitlines()[-1:] or ["no entries"]
        raise DaemonLogUnavailable(
            f"{self.where}: dockerd's log is neither in the journal (journalctl -u "
            f"{JOURNAL_UNIT}: {journal_said[0][:200]}) nor in {LOG_FILE}. Fix: run dockerd "
            f"under systemd, or send its output to {LOG_FILE}; for a non-root user, add it "
            "to the systemd-journal group"
        )

    def read(self, since: float | None = None) -> str:
        """dockerd's log from ``since`` (epoch seconds, the node's clock) on."""
        if not self.source:
            self.source = self._find_source()
        if self.source == "journal":
            argv = ["journalctl", "-u", JOURNAL_UNIT, "-q", "--no-pager", "-o", "short-iso"]
            if since is not None:
                argv += ["--since", f"@{since:.6f}"]
            result = self._call(*argv)
        else:
            result = self._call("cat", LOG_FILE)
        if result.exit_code != 0:
            raise DaemonLogUnavailable(
                f"{self.where}: could not read dockerd's log ({self.describe()}): "
                f"{result.output.strip()[-300:]}"
            )
        return result.output if self.source == "journal" else lines_since(result.output, since)

    def describe(self) -> str:
        return {"journal": f"journalctl -u {JOURNAL_UNIT}", "file": LOG_FILE}.get(
            self.source, "not looked for yet"
        )

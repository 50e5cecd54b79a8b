"""A swarm service's tasks as ``docker service ps --no-trunc`` tells them, and what they mean.

``1/1`` right after a deploy can be a crash-looping task (FINDINGS "Swarm
inside the lab"): a service is judged by its task history, not its replica
count. A task that failed, was rejected or shut down with an error is a
failure, with its error text.

Usage::

    tasks = parse_tasks(node.run("docker", "service", "ps", "--no-trunc",
                                 "--format", "{{json .}}", "mirror_registry").output)
    running(tasks)           # the tasks desired and seen running
    failures(tasks)          # ["mirror_registry.1 on node-2: Failed ...: non-zero exit (2)"]
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

FAILED_STATES = ("Failed", "Rejected")


@dataclass(frozen=True)
class Task:
    """One task of a service: ids, node, desired and current state, error."""

    id: str
    name: str
    node: str
    desired: str
    current: str
    error: str = ""

    @property
    def running(self) -> bool:
        """Desired and seen running."""
        return self.desired == "Running" and self.current.startswith("Running")

    @property
    def failed(self) -> bool:
        """Failed or rejected (a crash, a missing mount source, an image it could not get)."""
        return self.current.startswith(FAILED_STATES) or (
            self.desired == "Shutdown" and bool(self.error) and "Complete" not in self.current
        )

    @property
    def completed(self) -> bool:
        """A job's task that ran to its end (exit 0)."""
        return self.current.startswith("Complete")

    def describe(self) -> str:
        """``name on node: current state: error``."""
        error = f": {self.error}" if self.error else ""
        return f"{self.name.strip()} on {self.node or 'no node'}: {self.current}{error}"


def parse_tasks(output: str) -> list[Task]:
    """Tasks from ``docker service ps --no-trunc --format '{{json .}}'`` lines (others skipped)."""
    tasks = []
    for line in output.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        tasks.append(
            Task(
                id=str(entry.get("ID", "")),
                name=str(entry.get("Name", "")),
                node=str(entry.get("Node", "")),
                desired=str(entry.get("DesiredState", "")),
                current=str(entry.get("CurrentState", "")),
                error=str(entry.get("Error", "")),
            )
        )
    return tasks


def parse_api_tasks(
    entries: list[dict], service: str, hostnames: Mapping[str, str], now: float | None = None
) -> list[Task]:
    """Tasks from the Engine API's ``GET /tasks`` (swarm's Task objects), as
    ``docker service ps --no-trunc`` shows them, newest first.

    The CLI's columns are built here the way it builds them (docker/cli
    ``cli/command/task/formatter.go``): the name ``<service>.<slot>`` (a
    global service's tasks: ``<service>.<node ID>``), the node's hostname
    (``hostnames``: node ID to ``Description.Hostname`` from ``GET /nodes``;
    the ID when unknown), the states capitalised, the current one with how
    long ago it was reached (``now``: epoch seconds, default this moment), the
    error ``Status.Err``.
    """
    now = time.time() if now is None else now
    tasks = []
    ordered = sorted(entries, key=lambda e: str(e.get("UpdatedAt") or ""), reverse=True)
    for entry in ordered:
        status = entry.get("Status") or {}
        node_id = str(entry.get("NodeID") or "")
        slot = entry.get("Slot") or node_id
        state = str(status.get("State") or "").capitalize()
        tasks.append(
            Task(
                id=str(entry.get("ID", "")),
                name=f"{service}.{slot}",
                node=hostnames.get(node_id, node_id),
                desired=str(entry.get("DesiredState") or "").capitalize(),
                current=f"{state} {_ago(status.get('Timestamp'), now)}".strip(),
                error=str(status.get("Err") or ""),
            )
        )
    return tasks


def _ago(timestamp: object, now: float) -> str:
    """``12 seconds ago`` for an RFC 3339 timestamp (nanoseconds allowed); "" when unreadable."""
    text = str(timestamp or "")
    head, _, fraction = text.rstrip("Z").partition(".")
    try:
        moment = datetime.fromisoformat(head + "+00:00").timestamp()
    except ValueError:
        return ""
    moment += float("0." + fraction[:6]) if fraction.isdigit() else 0.0
    return f"{max(0, round(now - moment))} seconds ago"


def running(tasks: list[Task], exclude: frozenset[str] | set[str] = frozenset()) -> list[Task]:
    """The tasks seen running, leaving out the ids in ``exclude`` (tasks of before a restart)."""
    return [t for t in tasks if t.running and t.id not in exclude]


def failures(tasks: list[Task], exclude: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Each failed task (ids in ``exclude`` left out), described with its error."""
    return [t.describe() for t in tasks if t.failed and t.id not in exclude]

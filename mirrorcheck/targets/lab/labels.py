"""The labels every lab resource carries, so that nothing is left behind.

Containers, networks and volumes carry ``io.mirrorcheck.run`` (one id per test
run, shared by xdist workers) and ``io.mirrorcheck.owner`` (``host:pid`` of the
process that created them). The sweeper removes a run's resources at the end,
and at start removes those whose owner process is gone.

Usage::

    from mirrorcheck.targets.lab.labels import RunLabels

    labels = RunLabels.for_this_process(run_id="20261128-abcd")
    client.networks.create("x", labels=labels.as_dict(role="network"))
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

PROJECT_LABEL = "io.mirrorcheck.project"
RUN_LABEL = "io.mirrorcheck.run"
OWNER_LABEL = "io.mirrorcheck.owner"
ROLE_LABEL = "io.mirrorcheck.role"
PROJECT = "mirrorcheck"

# Images are kept between runs (a cache); they carry only the project label.
IMAGE_LABELS = {PROJECT_LABEL: PROJECT}


def pid_namespace() -> str:
    """This process's PID namespace: a pid means something only inside its own namespace."""
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return "-"


def process_start(pid: int) -> str:
    """The start time of ``pid`` in clock ticks since boot, so a reused pid is told apart."""
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 - a one-shot read
    except OSError:
        return ""
    # The command name (field 2) may hold spaces; fields after its ')' are fixed.
    return stat.rsplit(")", 1)[1].split()[19]


def owner_of(pid: int) -> str:
    """``host/pid-namespace/pid/start-time``: enough to tell later whether the owner is gone."""
    return f"{socket.gethostname()}/{pid_namespace()}/{pid}/{process_start(pid)}"


def new_run_id() -> str:
    """A short id, sortable by time, unique enough for concurrent runs."""
    return time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class RunLabels:
    """The labels of one run's resources, created by one owner process."""

    run_id: str
    owner: str

    @classmethod
    def for_this_process(cls, run_id: str | None = None) -> RunLabels:
        return cls(run_id=run_id or new_run_id(), owner=owner_of(os.getpid()))

    def as_dict(self, role: str) -> dict[str, str]:
        return {
            PROJECT_LABEL: PROJECT,
            RUN_LABEL: self.run_id,
            OWNER_LABEL: self.owner,
            ROLE_LABEL: role,
        }

    @property
    def run_filter(self) -> dict[str, list[str]]:
        """A Docker API filter matching this run's resources."""
        return {"label": [f"{RUN_LABEL}={self.run_id}"]}

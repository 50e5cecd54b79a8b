"""The guide's "on each node", done by the swarm: a global job reads every node's daemon.json.

One task per node (``docker service create --mode global-job``) prints the
node's name, its ``/etc/docker/daemon.json`` and the mirrors its running
dockerd uses (``docker info`` over the node's socket, with the node's own
docker CLI mounted in). A finished global job reads ``0/0 (3/3 completed)``;
its output is the service's log.

Usage::

    rows = read_daemon_json(swarm, image="registry:2")
    rows["node-2"].mirrors           # ["https://mirror.test/"]
    rows["node-2"].daemon_json       # the file's text
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field

from mirrorcheck.targets.lab.swarm.cluster import OFFLINE, Swarm, SwarmError
from mirrorcheck.targets.lab.swarm.tasks import failures
from mirrorcheck.waiting import wait_until

JOB_NAME = "mirrorcheck-daemon-json"
JOB_TIMEOUT = 30.0
BEGIN, MIRRORS, END = "--- daemon.json of ", "--- mirrors ", "--- end"
SCRIPT = (
    f'n=$(cat /etc/hostname); echo "{BEGIN}$n"; cat /host/etc/docker/daemon.json; echo; '
    f'echo "{MIRRORS}$n"; docker info --format "{{{{json .RegistryConfig.Mirrors}}}}" 2>&1; '
    f'echo "{END}"'
)


@dataclass
class NodeDaemonJson:
    """What the job found on one node."""

    node: str
    daemon_json: str = ""
    mirrors: list[str] = field(default_factory=list)
    error: str = ""

    def account(self) -> dict[str, object]:
        """The node's row for the per-node table."""
        row: dict[str, object] = {"daemon_json_bytes": len(self.daemon_json.encode())}
        row["effective_mirrors_by_global_job"] = self.mirrors
        if self.error:
            row["global_job_error"] = self.error
        return row


def parse_job_log(log: str) -> dict[str, NodeDaemonJson]:
    """The job's log (every task's) -> one ``NodeDaemonJson`` per node name."""
    found: dict[str, NodeDaemonJson] = {}
    current: NodeDaemonJson | None = None
    part = ""
    lines: list[str] = []
    for line in [*log.splitlines(), END]:
        if line.startswith((BEGIN, MIRRORS, END)) and current is not None:
            text = "\n".join(lines).strip()
            if part == "daemon_json":
                current.daemon_json = text
            elif part == "mirrors":
                try:
                    current.mirrors = list(json.loads(text) or [])
                except (json.JSONDecodeError, TypeError):
                    current.error = text[:300]
            lines = []
        if line.startswith(BEGIN):
            name = line[len(BEGIN) :].strip()
            current = found.setdefault(name, NodeDaemonJson(name))
            part = "daemon_json"
        elif line.startswith(MIRRORS):
            part = "mirrors"
        elif line.startswith(END):
            part = ""
        elif part:
            lines.append(line)
    return found


def read_daemon_json(swarm: Swarm, image: str, nodes: int) -> dict[str, NodeDaemonJson]:
    """Run the global job on every node of ``swarm`` (``image`` must be on each); its findings.

    ``nodes`` is how many tasks must complete. Raises SwarmError when the
    job cannot be created, WaitTimeout when it does not finish in 30 s.
    """
    swarm.run(
        "env", OFFLINE,
        "docker", "service", "create", "--detach", "--quiet", "--name", JOB_NAME,
        "--mode", "global-job", "--hostname", "{{.Node.Hostname}}",
        # the image is the one loaded on every node: no digest lookup at Docker Hub's name
        "--no-resolve-image",
        # the lab's own job: a log driver every lab node runs, whatever daemon.json says
        "--log-driver", "json-file",
        "--mount", "type=bind,source=/etc/docker,target=/host/etc/docker,readonly",
        "--mount", "type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock",
        "--mount", "type=bind,source=/usr/bin/docker,target=/usr/local/bin/docker,readonly",
        "--entrypoint", "sh", image, "-c", SCRIPT,
    )  # fmt: skip
    try:
        wait_until(
            lambda: sum(t.completed for t in swarm.tasks(JOB_NAME)) >= nodes,
            timeout=JOB_TIMEOUT,
            interval=0.3,
            what=f"the global job {JOB_NAME} to complete on {nodes} nodes",
            give_up=lambda: "\n".join(failures(swarm.tasks(JOB_NAME))) or None,
        )
        return parse_job_log(swarm.service_logs(JOB_NAME))
    finally:
        with contextlib.suppress(SwarmError):
            swarm.run("docker", "service", "rm", JOB_NAME)

"""A node's Engine API asked with curl on its socket: what ``docker pull``, ``docker image rm``,
``docker image inspect`` and ``docker info`` send, without starting the docker CLI.

The daemon does the same work either way: ``docker pull NAME:TAG`` is
``POST /images/create?fromImage=NAME&tag=TAG`` (docker/cli
``cli/command/image/pull.go``, through ``client.ImagePull``; a digest goes in
``tag`` too), ``docker image rm --force REF`` is ``DELETE /images/REF?force=1``,
``docker image inspect REF`` is ``GET /images/REF/json`` and ``docker info``
is ``GET /info``. What differs is the client: Engine 28.5's docker CLI costs
70-90 ms of CPU at each start before it sends anything (measured on 2 cores:
``docker --version`` in a node, 10 runs), curl 2-3 ms. A lab node runs about
thirty such commands in a run, so the CLI was most of a node's cost.

Results read as the CLI prints them without a terminal: a pull's status
lines (``<id>: Pull complete``, ``Digest: sha256:...``), and a daemon's
refusal as ``Error response from daemon: <message>``, exit code 1.

Usage::

    argv = pull_argv("mirror.test/team/app:v1")     # run it on the node
    outcome = read_pull(result.exit_code, result.output)
    outcome.ok, outcome.output, outcome.digest
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from docker.utils import parse_repository_tag

SOCKET = "/var/run/docker.sock"  # dockerd's default -H, where the CLI looks without DOCKER_HOST
# curl writes the HTTP status on a line of its own after the body ("000": no answer).
STATUS_FORMAT = "\n%{http_code}"
DAEMON_ERROR = "Error response from daemon: "
TIMED_OUT = (124, 143)  # the command's time limit (``exec_shell.bounded_argv``): coreutils, busybox


@dataclass(frozen=True)
class Answer:
    """One request's outcome: ``status`` the HTTP status (0: the daemon did not answer),
    ``body`` what it sent, ``problem`` why curl got no answer ("" when it did)."""

    status: int
    body: str
    problem: str = ""
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def daemon_message(self) -> str:
        """The daemon's refusal as the CLI prints it, or curl's reason when nothing answered."""
        if not self.status and self.exit_code in TIMED_OUT:
            return f"no answer from the Docker daemon within the time limit: {self.problem}"
        if not self.status:
            return f"Cannot connect to the Docker daemon at unix://{SOCKET}: {self.problem}"
        try:
            message = json.loads(self.body).get("message", "")
        except (ValueError, AttributeError):
            message = ""
        return DAEMON_ERROR + (message or self.body.strip() or f"HTTP {self.status}")


@dataclass(frozen=True)
class PullOutcome:
    """A pull as ``docker pull`` reports it: ``ok``, its output lines, the digest it printed."""

    ok: bool
    output: str
    digest: str


def request_argv(method: str, path: str, socket: str = SOCKET) -> list[str]:
    """curl's argv for one Engine API request (``path`` quoted, with its query): the body, then
    the HTTP status on the last line; curl's own complaint, if any, on stderr."""
    return [
        "curl", "-sS", "--unix-socket", socket, "-X", method,
        "-w", STATUS_FORMAT, f"http://docker{path}",
    ]  # fmt: skip


def pull_argv(reference: str, socket: str = SOCKET) -> list[str]:
    """The request ``docker pull reference`` sends: the name, and the tag (``latest`` when
    none is given) or the digest in ``tag``, as the CLI splits them."""
    name, tag = parse_repository_tag(reference)
    query = urlencode({"fromImage": name, "tag": tag or "latest"})
    return request_argv("POST", f"/images/create?{query}", socket)


def image_path(reference: str) -> str:
    """``/images/<reference>`` with the reference quoted as a path (``/``, ``:`` and ``@`` kept)."""
    return "/images/" + quote(reference, safe="/:@")


def remove_argv(references: tuple[str, ...], socket: str = SOCKET) -> list[str]:
    """One shell that sends ``DELETE /images/<ref>?force=1`` for each reference (what
    ``docker image rm --force`` sends), ignoring what is not there."""
    paths = [f"http://docker{image_path(r)}?force=1" for r in references]
    script = 'for url; do curl -sS -o /dev/null --unix-socket "$0" -X DELETE "$url"; done; true'
    return ["sh", "-c", script, socket, *paths]


def read_answer(exit_code: int, output: str) -> Answer:
    """The status and body of a ``request_argv`` run: its output's last line is the status.

    No answer (status 0) when curl failed (``exit_code``) or printed no status;
    ``problem`` then holds curl's words.
    """
    body, _, last = output.rpartition("\n")
    status = int(last) if last.strip().isdigit() else 0
    if exit_code or not status:
        return Answer(0, "", output.strip()[-300:] or f"curl exited {exit_code}", exit_code)
    return Answer(status, body)


def read_pull(exit_code: int, output: str) -> PullOutcome:
    """A ``pull_argv`` run as ``docker pull`` reports it.

    The daemon streams JSON messages (``{"status": ..., "id": ...}``, progress,
    and ``{"error": ...}`` when the pull fails midway); each status becomes a
    line as the CLI prints it without a terminal (progress lines are left
    out), a midway error its message and a failure. A refusal before the
    stream (HTTP 4xx/5xx) reads ``Error response from daemon: <message>``.
    """
    answer = read_answer(exit_code, output)
    if not answer.ok:
        return PullOutcome(False, answer.daemon_message(), "")
    lines: list[str] = []
    digest, failed = "", False
    for raw in answer.body.splitlines():
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        if message.get("error") or message.get("errorDetail"):
            detail = message.get("errorDetail") or {}
            lines.append(str(detail.get("message") or message.get("error")))
            failed = True
            continue
        status = str(message.get("status") or "")
        if not status or message.get("progress"):
            continue
        if status.startswith("Digest: "):
            digest = status.split(" ", 1)[1].strip()
        lines.append(f"{message['id']}: {status}" if message.get("id") else status)
    return PullOutcome(not failed, "\n".join(lines) + "\n", "" if failed else digest)

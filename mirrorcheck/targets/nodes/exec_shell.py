"""Commands run through a shell kept open in a container: one ``docker exec`` for many commands.

Each ``docker exec`` costs about 65 ms of CPU on the engine's host (exec
create, start and inspect, ``runc exec``; measured here on Engine 20.10 with
``true`` in a Debian container, where the command itself costs nothing). A
lab of ten nodes runs about 400 commands in them. A shell started by one
exec, fed commands on its stdin, forks each command inside the container
instead.

Protocol: each command is one line for ``sh``: the argv POSIX-quoted (a
newline inside an argument stays inside its quotes), stdin from /dev/null,
stderr merged into stdout, then a marker with a random token and the exit
status, ``\\x1e<token> <status>\\x1e``. The engine frames an exec's output
without a TTY (moby's stdcopy: an 8-byte header per frame, stream 1 or 2,
then a big-endian length); both streams are kept, in the order they came.

Usage::

    shell = ExecShell.open(container)          # ShellUnavailable: use exec_run
    exit_code, output = shell.run(["docker", "info"], timeout=30)
    shell.close()
"""

from __future__ import annotations

import contextlib
import re
import select
import shlex
import socket
import struct
import time
import uuid
from collections.abc import Sequence

from docker.models.containers import Container

HEADER = struct.Struct(">BxxxI")  # stream (1 stdout, 2 stderr), length
OPEN_TIMEOUT = 10.0
# Beyond the command's own bound: `timeout -k 5` kills it 5 s after, then the marker follows.
GRACE = 15.0


def bounded_argv(argv: Sequence[str], timeout: float) -> list[str]:
    """``argv`` under the container's own ``timeout``: the Engine API has no exec timeout.

    ``-k 5`` kills it 5 s after ``timeout`` seconds if it ignores the TERM
    (``-k``, not ``--kill-after``: busybox's timeout, as in the official
    registry:2, knows only the former).
    """
    return ["timeout", "-k", "5", str(int(timeout)), *argv]


class ShellUnavailable(Exception):
    """No shell could be kept in the container: run the command with its own exec instead.

    ``lasting``: True when no shell ever will be (no ``sh`` that answers, an
    engine transport without a socket); False when the exec itself could not
    start (a container not running), which the command's own exec reports.
    """

    def __init__(self, message: str, lasting: bool = True) -> None:
        super().__init__(message)
        self.lasting = lasting


class ShellLost(Exception):
    """The shell ended, or did not answer in time, while a command ran: whether the command
    finished is not known."""


class ExecShell:
    """One ``sh`` in a container, started by one exec, running one command at a time."""

    def __init__(self, sock: socket.socket, response: object) -> None:
        self._sock = sock
        self._response = response  # keeps the hijacked connection open
        self._pending = bytearray()

    @classmethod
    def open(cls, container: Container, timeout: float = OPEN_TIMEOUT) -> ExecShell:
        """Start ``sh`` in ``container`` and check that it answers.

        Raises ShellUnavailable when the exec cannot start, the engine's
        transport gives no socket, or the shell does not answer within
        ``timeout`` seconds.
        """
        api = container.client.api
        try:
            exec_id = api.exec_create(container.id, ["sh"], stdin=True, stdout=True, stderr=True)
            raw = api.exec_start(exec_id["Id"], socket=True)
        except Exception as error:  # the engine's own errors vary by transport
            raise ShellUnavailable(f"cannot start sh: {error}", lasting=False) from None
        sock = getattr(raw, "_sock", raw)
        if not isinstance(sock, socket.socket):
            raise ShellUnavailable(f"the engine's transport gives no socket ({type(raw).__name__})")
        shell = cls(sock, raw)
        try:
            code, output = shell.run([":"], timeout=timeout, bounded=False)
        except ShellLost as error:
            shell.close()
            raise ShellUnavailable(f"sh did not answer: {error}") from None
        if code != 0 or output:
            shell.close()
            raise ShellUnavailable(f"sh answered {code}: {output[:200]!r}")
        return shell

    def alive(self) -> bool:
        """False once the shell's connection is closed (its container stopped or removed)."""
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return False
        if not readable:
            return True
        try:
            return bool(self._sock.recv(1, socket.MSG_PEEK))
        except ValueError:  # a TLS socket (an engine over tcp+TLS) cannot peek: a read tells
            return True
        except OSError:
            return False

    def run(self, argv: Sequence[str], timeout: float, bounded: bool = True) -> tuple[int, bytes]:
        """Run ``argv`` (through ``timeout -k 5 <timeout>`` when ``bounded``); its exit
        status and its stdout and stderr, merged.

        Waits at most ``timeout`` + 15 seconds. Raises ShellLost when the shell
        ends or does not answer by then (the shell is closed).
        """
        command = bounded_argv(argv, timeout) if bounded else list(argv)
        token = uuid.uuid4().hex
        line = f"{shlex.join(command)} </dev/null 2>&1; printf '\\036{token} %d\\036' \"$?\"\n"
        marker = re.compile(rb"\x1e" + token.encode() + rb" (\d+)\x1e")
        deadline = time.monotonic() + timeout + GRACE
        output = bytearray()
        searched = 0  # the marker (at most 40 bytes) cannot end before here
        try:
            self._discard_stray(deadline)
            self._sock.settimeout(max(0.1, deadline - time.monotonic()))
            self._sock.sendall(line.encode())
            while True:
                found = marker.search(output, searched)
                if found:
                    return int(found.group(1)), bytes(output[: found.start()])
                searched = max(0, len(output) - 40)
                output += self._frame(deadline)
        except (OSError, ShellLost) as error:
            self.close()
            raise ShellLost(f"{error or type(error).__name__}") from None

    def _discard_stray(self, deadline: float) -> None:
        """Drop output that came after the last command's marker (a process it left running
        in the background), whole frames at a time, so that it is not taken for the next's."""
        while self._pending or select.select([self._sock], [], [], 0)[0]:
            self._frame(deadline)

    def _frame(self, deadline: float) -> bytes:
        """The payload of the next frame (either stream)."""
        header = self._read(HEADER.size, deadline)
        _, length = HEADER.unpack(header)
        return self._read(length, deadline)

    def _read(self, size: int, deadline: float) -> bytes:
        while len(self._pending) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ShellLost("no answer in time")
            self._sock.settimeout(remaining)
            chunk = self._sock.recv(max(65536, size - len(self._pending)))
            if not chunk:
                raise ShellLost("the shell ended")
            self._pending += chunk
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data

    def close(self) -> None:
        """Close the connection; the shell reads end of input and exits."""
        with contextlib.suppress(OSError):
            self._sock.close()
        close = getattr(self._response, "close", None)
        if close is not None:
            with contextlib.suppress(OSError):
                close()

"""Who owns a lab resource, and when its owner counts as gone (the stale sweep's judgement)."""

from __future__ import annotations

import os
import subprocess
import sys

from mirrorcheck.targets.lab.labels import owner_of
from mirrorcheck.targets.lab.sweeper import _owner_alive


def test_this_process_is_alive():
    assert _owner_alive(owner_of(os.getpid()))


def test_an_exited_process_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = owner_of(child.pid)
    child.wait()
    assert not _owner_alive(owner)


def test_a_reused_pid_with_another_start_time_is_gone():
    host, namespace, pid, _ = owner_of(os.getpid()).split("/")
    assert not _owner_alive(f"{host}/{namespace}/{pid}/1")


def test_owners_in_another_pid_namespace_or_host_are_never_judged():
    host, namespace, _, _ = owner_of(os.getpid()).split("/")
    assert _owner_alive(f"{host}/999/4194303/1")  # a container sharing the engine
    assert _owner_alive(f"elsewhere/{namespace}/4194303/1")  # another machine
    assert _owner_alive("host:123")  # a label format this version does not write

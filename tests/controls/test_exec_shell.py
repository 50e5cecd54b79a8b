"""Commands through a shell kept open in a container answer as their own ``docker exec`` would.

Run in the lab's two kinds of shell: the node image's (Debian: dash,
coreutils' timeout) and the registry image's (Alpine: busybox).
"""

from __future__ import annotations

import time

import pytest

from mirrorcheck.at_once import at_once
from mirrorcheck.targets.lab.images.supply import ImageSupply
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.nodes.docker_exec import DockerExecNode
from mirrorcheck.targets.nodes.exec_shell import GRACE
from mirrorcheck.targets.nodes.node import NodeError

pytestmark = [pytest.mark.docker]


@pytest.fixture(scope="module", params=["node", "registry"])
def container(request, engine):
    image = ImageSupply(engine).resolve(request.param).image
    labels = RunLabels.for_this_process().as_dict("exec-shell")
    running = engine.containers.run(
        image, entrypoint=["sleep", "600"], detach=True, labels=labels, network_mode="none"
    )
    yield running
    running.remove(force=True)


@pytest.fixture
def node(container):
    node = DockerExecNode(container, name="shell-control")
    yield node
    node.close()


def _own_exec(container, *argv: str) -> tuple[int, str]:
    code, output = container.exec_run(["timeout", "-k", "5", "30", *argv])
    return code, output.decode()


def test_a_command_answers_with_the_exit_code_and_output_its_own_exec_gives(node, container):
    script = "echo out; echo err >&2; printf 'no newline'; exit 3"
    result = node.run("sh", "-c", script, timeout=30)
    own_code, own_output = _own_exec(container, "sh", "-c", script)
    # An exec's own stdout and stderr are two pipes, merged in no set order; the shell's
    # are one, in the order written.
    assert result.exit_code == own_code == 3
    assert sorted(result.output) == sorted(own_output)
    assert result.output == "out\nerr\nno newline"


def test_arguments_keep_newlines_quotes_and_the_marker_byte(node):
    argument = "a\nb 'c' \"d\" $HOME \\ \x1e end"
    assert node.run("printf", "%s", argument, timeout=30).output == argument


def test_a_command_reads_no_input_meant_for_the_shell(node):
    assert node.run("cat", timeout=30).output == ""
    assert node.run("echo", "still here", timeout=30).output == "still here\n"


def test_a_command_past_its_bound_ends_as_under_its_own_exec(node, container):
    started = time.monotonic()
    result = node.run("sleep", "30", timeout=1)
    assert time.monotonic() - started < 1 + GRACE
    # coreutils' timeout exits 124; busybox's passes on the signal's status (143)
    code, _ = container.exec_run(["timeout", "-k", "5", "1", "sleep", "30"])
    assert result.exit_code == code and code in (124, 143)


def test_commands_run_at_once_each_get_their_own_output(node):
    outputs = at_once(
        lambda i: node.run("sh", "-c", f"sleep 0.5; echo {i}", timeout=30).output, range(6)
    )
    assert outputs == [f"{i}\n" for i in range(6)]


def test_megabytes_of_output_arrive_whole(node):
    result = node.run("sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x", timeout=30)
    assert result.ok and result.output == "x" * 3_000_000


def test_a_removed_container_fails_the_next_command_at_once(engine):
    image = ImageSupply(engine).resolve("node").image
    labels = RunLabels.for_this_process().as_dict("exec-shell")
    doomed = engine.containers.run(
        image, entrypoint=["sleep", "600"], detach=True, labels=labels, network_mode="none"
    )
    node = DockerExecNode(doomed, name="doomed")
    assert node.run("true", timeout=30).ok  # a shell is kept open now
    doomed.remove(force=True)
    started = time.monotonic()
    with pytest.raises(NodeError, match="doomed"):
        node.run("true", timeout=30)
    assert time.monotonic() - started < 5


def test_output_of_a_process_left_running_is_not_taken_for_the_next_commands(node):
    assert node.run("sh", "-c", "(sleep 0.3; echo stray) &", timeout=30).ok
    time.sleep(0.8)
    assert node.run("echo", "next", timeout=30).output == "next\n"

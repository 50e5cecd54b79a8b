"""A node's clock: read with ``date`` on the node, or this process's where the two are one."""

from __future__ import annotations

import time

from mirrorcheck.targets.nodes.node import CommandResult, Node


class ClockNode(Node):
    """A node whose ``date`` prints ``printed``; it counts the commands it was asked to run."""

    def __init__(self, printed: str, shares_clock: bool = False) -> None:
        self.name = "node-1"
        self.printed = printed
        self.shares_clock = shares_clock
        self.commands: list[tuple[str, ...]] = []

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        self.commands.append(argv)
        return CommandResult(0, self.printed)

    def read_file(self, path: str) -> bytes:
        raise AssertionError("not read")

    def daemon_log(self, since: float | None = None) -> str:
        return ""


def test_a_node_of_its_own_clock_is_asked_with_date():
    node = ClockNode("1796100411.458800951\n")
    assert node.clock() == 1796100411.458800951
    assert node.commands == [("date", "+%s.%N")]


def test_a_date_without_nanoseconds_still_gives_the_seconds():
    # busybox's date prints %N as is
    assert ClockNode("1796100411.%N\n").clock() == 1796100411.0


def test_a_date_that_prints_no_number_gives_none():
    assert ClockNode("date: not found\n").clock() is None


def test_a_node_sharing_this_clock_runs_no_command():
    node = ClockNode("never read", shares_clock=True)
    before = time.time()
    assert before <= node.clock() <= time.time()
    assert node.commands == []

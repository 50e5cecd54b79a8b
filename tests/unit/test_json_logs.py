"""A service's logs from json-file log files: in order, oldest container first, or not at all."""

from __future__ import annotations

import json

import pytest

from mirrorcheck.targets.lab.swarm.json_logs import (
    INCOMPLETE,
    SECTION,
    join_sections,
    label_needle,
    read_service_log,
)
from mirrorcheck.targets.nodes.node import CommandResult


def _entries(*texts: str, stream: str = "stdout") -> str:
    return "".join(json.dumps({"log": t, "stream": stream, "time": "x"}) + "\n" for t in texts)


def _section(created: str, body: str) -> str:
    return f'{SECTION}"Created":"{created}"\n{body}'


def test_each_containers_lines_come_in_the_order_written_oldest_container_first():
    newer = _section("2026-11-30T21:08:00.5Z", _entries("new 1\n", "new 2\n"))
    older = _section(
        "2026-11-30T21:07:40.123456789Z", _entries("old 1\n", "old 2\n", stream="stderr")
    )
    assert join_sections(newer + older) == "old 1\nold 2\nnew 1\nnew 2\n"


def test_fractions_of_a_second_are_compared_as_numbers_not_as_text():
    # Go drops trailing zeros: as text .123 sorts before .12, as time after it.
    first = _section("2026-11-30T21:07:40.12Z", _entries("a\n"))
    second = _section("2026-11-30T21:07:40.123Z", _entries("b\n"))
    assert join_sections(second + first) == "a\nb\n"


def test_a_line_split_over_entries_is_joined():
    body = _entries("a long ", "line\n")
    assert join_sections(_section("2026-11-30T21:07:40Z", body)) == "a long line\n"


def test_no_container_is_an_empty_log():
    assert join_sections("") == ""


def test_a_line_that_is_no_json_file_entry_is_refused():
    with pytest.raises(ValueError, match="not a json-file log entry"):
        join_sections(_section("2026-11-30T21:07:40Z", "plain text\n"))


class _Node:
    name = "node-1"

    def __init__(self, result: CommandResult) -> None:
        self.result = result
        self.argv: tuple[str, ...] = ()

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        self.argv = argv
        return self.result


def test_a_rotated_or_other_driver_log_is_left_to_docker_logs():
    assert read_service_log(_Node(CommandResult(3, INCOMPLETE + "\n")), "traefik_traefik") is None
    assert read_service_log(_Node(CommandResult(1, "")), "traefik_traefik") is None


def test_the_service_is_found_by_its_swarm_label():
    node = _Node(CommandResult(0, _section("2026-11-30T21:07:40Z", _entries("x\n"))))
    assert read_service_log(node, "traefik_traefik") == "x\n"
    assert label_needle("traefik_traefik") in node.argv

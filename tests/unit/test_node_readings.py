"""Every node's configuration read at once: each node's readings its own, keyed by name."""

from __future__ import annotations

import json
import threading

import pytest

from mirrorcheck.rules.hosts_toml.lint import NODE_PATHS
from mirrorcheck.targets.nodes.node import (
    DAEMON_JSON_PATH,
    CommandResult,
    Node,
    NodeError,
    hosts_toml_problem,
)
from mirrorcheck.targets.nodes.readings import on_each_node, read_node, read_nodes

MIRROR_HOST = "mirror.test"
DAEMON_JSON = b'{\n    "registry-mirrors": ["https://mirror.test"]\n}\n'
HOSTS_TOML = b'server = "https://registry-1.docker.io"\n'


class FakeNode(Node):
    """A node answering from canned ``docker info``, files and lookups; records what it ran."""

    def __init__(
        self,
        name: str,
        version: str = "20.10.24",
        files: dict[str, bytes] | None = None,
        info_error: str = "",
        startup_error: str = "",
        barrier: threading.Barrier | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.files = {DAEMON_JSON_PATH: DAEMON_JSON} if files is None else files
        self.info_error = info_error
        self.startup_error = startup_error
        self.barrier = barrier
        self.ran: list[tuple[str, ...]] = []

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        self.ran.append(argv)
        if argv[:2] == ("docker", "info"):
            if self.barrier is not None:
                self.barrier.wait(timeout=5)  # every node's docker info at the same time
            if self.info_error:
                raise NodeError(f"{self.name}: {self.info_error}")
            mirrors = [f"https://{MIRROR_HOST}/"]
            info = {"ServerVersion": self.version, "RegistryConfig": {"Mirrors": mirrors}}
            return CommandResult(0, json.dumps(info))
        if argv[:2] == ("sh", "-c") and argv[3:4] == ("-",):  # Node.present: the paths there
            return CommandResult(0, "".join(f"{p}\n" for p in argv[4:] if p in self.files))
        if argv[0] == "getent":
            return CommandResult(0, "10.0.0.5 STREAM mirror.test\n10.0.0.5 DGRAM\n")
        if argv[0] == "dockerd":
            return CommandResult(0, "configuration OK\n")
        return CommandResult(127, f"{argv[0]}: command not found")

    def read_file(self, path: str) -> bytes:
        if path not in self.files:
            raise NodeError(f"{self.name}: {path} does not exist")
        return self.files[path]

    def daemon_log(self, since: float | None = None) -> str:
        return ""


def test_every_node_is_read_at_the_same_time_and_keyed_by_its_name():
    barrier = threading.Barrier(3)
    nodes = [FakeNode(f"node-{i}", barrier=barrier) for i in (1, 2, 3)]
    readings = read_nodes(nodes, MIRROR_HOST)
    assert sorted(readings) == ["node-1", "node-2", "node-3"]
    for name, reading in readings.items():
        assert reading.name == name
        assert reading.running_mirrors() == ["https://mirror.test/"]
        assert reading.mirror_addresses.get() == ["10.0.0.5"]


def test_one_node_failing_leaves_the_others_readings_whole():
    nodes = [FakeNode("node-1"), FakeNode("node-2", info_error="docker info failed: gone")]
    readings = read_nodes(nodes, MIRROR_HOST)
    with pytest.raises(NodeError, match="node-2: docker info failed: gone"):
        readings["node-2"].info.get()
    with pytest.raises(NodeError, match="node-2: docker info failed"):
        readings["node-2"].daemon_json()
    assert readings["node-2"].validate is None
    assert readings["node-1"].running_mirrors() == ["https://mirror.test/"]
    assert readings["node-1"].daemon_json().document == {
        "registry-mirrors": ["https://mirror.test"]
    }


def test_a_failure_is_raised_again_to_each_check_that_asks():
    reading = read_node(FakeNode("node-1", files={}), MIRROR_HOST)
    for _ in range(2):
        with pytest.raises(NodeError, match=f"node-1: {DAEMON_JSON_PATH} does not exist"):
            reading.daemon_json()
    assert reading.validate is None  # nothing to validate


def test_the_daemon_json_is_placed_on_its_node_and_read_as_its_engine():
    doc = read_node(FakeNode("node-7", version="28.5.2"), MIRROR_HOST).daemon_json()
    assert doc.path == f"node-7:{DAEMON_JSON_PATH}"
    assert str(doc.engine).startswith("28.5")


def test_dockerd_validate_runs_from_engine_23_only():
    old, new = FakeNode("old", version="20.10.24"), FakeNode("new", version="28.5.2")
    assert read_node(old, MIRROR_HOST).validate is None
    assert not any(argv[0] == "dockerd" for argv in old.ran)
    validated = read_node(new, MIRROR_HOST).validate
    assert validated is not None and validated.get().ok


def test_hosts_toml_files_present_are_read_and_absent_ones_are_not():
    files = {DAEMON_JSON_PATH: DAEMON_JSON, NODE_PATHS[0]: HOSTS_TOML}
    reading = read_node(FakeNode("node-1", files=files), MIRROR_HOST)
    first, second = reading.hosts_toml
    assert (first.path, first.present.get(), first.content.get()) == (
        NODE_PATHS[0],
        True,
        HOSTS_TOML,
    )
    assert (second.path, second.present.get(), second.content) == (NODE_PATHS[1], False, None)


def test_one_command_tells_which_hosts_toml_files_are_there():
    node = FakeNode("node-1", files={DAEMON_JSON_PATH: DAEMON_JSON, NODE_PATHS[1]: HOSTS_TOML})
    read_node(node, MIRROR_HOST)
    asked = [argv for argv in node.ran if any(path in argv for path in NODE_PATHS)]
    assert asked == [("sh", "-c", asked[0][2], "-", *NODE_PATHS)]


def test_a_node_that_cannot_list_its_files_says_so_for_each_hosts_toml():
    node = FakeNode("node-1")

    def refused(paths, timeout=10.0):
        raise NodeError("exec refused")

    node.present = refused
    for file in read_node(node, MIRROR_HOST).hosts_toml:
        with pytest.raises(NodeError, match="exec refused"):
            file.present.get()


def test_the_known_cause_names_a_hosts_toml_that_takes_docker_hub_away():
    overriding = b'[host."https://other.example"]\n  capabilities = ["pull", "resolve"]\n'
    node = FakeNode("node-1", files={NODE_PATHS[0]: overriding})
    problem = hosts_toml_problem(
        node, {"DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]]}
    )
    assert problem is not None and f"{NODE_PATHS[0]}:1:1" in problem
    assert hosts_toml_problem(FakeNode("node-2", files={}), {}) is None


def test_a_node_that_did_not_start_is_not_asked():
    node = FakeNode("node-1", startup_error="node-1: dockerd did not start")
    reading = read_nodes([node], MIRROR_HOST)["node-1"]
    assert node.ran == []
    with pytest.raises(NodeError, match="dockerd did not start"):
        reading.info.get()
    with pytest.raises(NodeError, match="dockerd did not start"):
        reading.hosts_toml[0].present.get()


def test_what_one_node_raises_is_that_nodes_answer_alone():
    def read(node: Node) -> str:
        if node.name == "node-2":
            raise ValueError("not JSON")
        return node.name.upper()

    answers = on_each_node([FakeNode("node-1"), FakeNode("node-2")], read)
    assert answers["node-1"].get() == "NODE-1"
    with pytest.raises(ValueError, match="not JSON"):
        answers["node-2"].get()
    assert on_each_node([], read) == {}

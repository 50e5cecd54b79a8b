"""The distinct causes of a run's failures and a node's known cause, from recorded data."""

from __future__ import annotations

import json

from mirrorcheck.report.causes import KNOWN_CAUSE_MARK, group_causes, known_cause_message
from mirrorcheck.targets.nodes.node import CommandResult, Node, mirror_problem_of

# Recorded: the reader on a daemon.json whose mirror is plain HTTP, the file under test and
# the node's copy of it.
HTTP_FINDING = (
    "{path}:3:5: error [daemon-json/mirror-missing] the expected mirror 'https://mirror.test/' "
    "is not in registry-mirrors (found 'http://mirror.test': same host, other scheme, port or "
    'path)\n    3 |     "registry-mirrors": ["http://mirror.test"]\n      |     ^\n'
    '  fix: add "registry-mirrors": ["https://mirror.test"]'
)
FILE = HTTP_FINDING.format(path="/tmp/x/daemon.json")
NODE_COPY = HTTP_FINDING.format(path="node-1:/etc/docker/daemon.json")
NOT_LISTED = (
    "the running daemon does not list https://mirror.test/ in registry-mirrors "
    "(docker info, RegistryConfig.Mirrors: ['http://mirror.test/'])"
)
READER = "suites/test_daemon_json.py::test_daemon_json_passes_the_reader"
NODE_READER = "suites/test_daemon_json.py::test_node_daemon_json_passes_the_reader[node-1]"
LISTS = "suites/test_smoke.py::test_node_daemon_lists_the_mirror[node-1]"
BYPASS = "suites/test_bypass.py::test_node_pull_goes_through_the_mirror[node-1]"
MIRROR_URL = "https://mirror.test"
SERIAL = "suites/test_single_fetch.py::test_nodes_pulling_one_after_another"


def stopped(problems: dict[str, str]) -> str:
    return known_cause_message(problems)


def test_one_cause_for_a_file_its_node_copy_and_every_check_stopped_by_it():
    node_cause = f"{NOT_LISTED}; its daemon.json:\n{NODE_COPY}"
    causes = group_causes(
        [
            (READER, f"Failed: {FILE}", None),
            (NODE_READER, NODE_COPY, "node-1"),
            (LISTS, "node-1: docker info lists mirrors ['http://mirror.test/'], not ...", "node-1"),
            (BYPASS, stopped({"node-1": node_cause}), "node-1"),
            (SERIAL, stopped({"node-1": node_cause}), None),
        ]
    )
    assert len(causes) == 1, causes
    (cause,) = causes
    assert "http://mirror.test" in cause["cause"]
    assert cause["cause"].startswith("[daemon-json/mirror-missing]")
    assert cause["checks"] == [READER, NODE_READER, BYPASS, SERIAL, LISTS]
    assert cause["where"][0] == "/tmp/x/daemon.json:3:5"
    assert "node-1:/etc/docker/daemon.json:3:5" in cause["where"]


def test_the_errors_of_one_message_are_one_cause():
    duplicate = (
        "d.json:4:5: error [daemon-json/duplicate-key] the key 'registry-mirrors' appears again\n"
        "d.json:4:5: error [daemon-json/mirror-missing] the expected mirror is not listed"
    )
    (cause,) = group_causes([(READER, duplicate, None)])
    assert cause["cause"].splitlines() == [
        "[daemon-json/duplicate-key] the key 'registry-mirrors' appears again",
        "[daemon-json/mirror-missing] the expected mirror is not listed",
    ]


def test_a_warning_is_not_a_cause():
    warning = "d.json:3:26: warning [daemon-json/mirror-http] the mirror is plain HTTP"
    (cause,) = group_causes([(READER, f"something else failed\n{warning}", None)])
    assert cause["cause"] == "something else failed"


def test_nodes_stopped_by_the_same_cause_share_it_with_each_node_named():
    text = "the running daemon does not list {m} in registry-mirrors"
    causes = group_causes(
        [(f"{BYPASS[:-8]}[node-{i}]", stopped({f"node-{i}": text}), f"node-{i}") for i in (1, 2, 3)]
    )
    assert len(causes) == 1 and causes[0]["where"] == ["node-1", "node-2", "node-3"]


def test_a_node_that_did_not_start_is_its_cause_and_the_mark_is_not():
    message = stopped({"node-2": "node-2: dockerd exited: unknown key 'x'"})
    assert message.splitlines()[0].startswith("node-2 is not known to use the mirror:")
    assert message.splitlines()[-1] == KNOWN_CAUSE_MARK
    (cause,) = group_causes([(BYPASS, message, "node-2")])
    assert cause == {
        "cause": "node-2: dockerd exited: unknown key 'x'",
        "where": ["node-2"],
        "checks": [BYPASS],
    }


def test_a_mirror_that_does_not_answer_is_one_cause_for_every_check_that_needed_it():
    down = "https://mirror.test: connection refused. Fix: start the mirror"
    causes = group_causes(
        [(BYPASS, stopped({"mirror": down}), "node-1"), (SERIAL, stopped({"mirror": down}), None)]
    )
    assert causes == [{"cause": down, "where": ["mirror"], "checks": [BYPASS, SERIAL]}]


def test_without_anything_to_group_by_each_message_is_its_own_cause_most_checks_first():
    causes = group_causes(
        [
            ("a::one", "pull fell back to Docker Hub\ndetails", None),
            ("a::two", "AssertionError: upstream saw 2 GETs of sha256:x", None),
            ("a::three", "upstream saw 2 GETs of sha256:x", None),
        ]
    )
    assert [c["cause"] for c in causes] == [
        "upstream saw 2 GETs of sha256:x",
        "pull fell back to Docker Hub",
    ]
    assert causes[0]["checks"] == ["a::two", "a::three"] and causes[0]["where"] == ["a"]


def test_a_failure_on_a_node_with_no_known_cause_stays_its_own():
    causes = group_causes(
        [
            (BYPASS, stopped({"node-1": "dockerd did not start"}), "node-1"),
            (LISTS, "node-2: docker info lists mirrors [], not https://mirror.test/", "node-2"),
        ]
    )
    assert len(causes) == 2


def test_no_failures_no_causes():
    assert group_causes([]) == []


def test_a_message_that_starts_with_a_stopped_node_counts_under_its_cause():
    kept = "suites/test_single_fetch_kept.py::test_mirror_catalog_lists_the_probe_image"
    causes = group_causes(
        [
            (BYPASS, stopped({"node-1": "dockerd did not start"}), "node-1"),
            (kept, "node-1 could not pull library/busybox:latest through the mirror", None),
        ]
    )
    assert len(causes) == 1 and causes[0]["checks"] == [BYPASS, kept]


# ---------------------------------------------------------- the node's known cause


class RecordedNode(Node):
    """A node answering from recorded ``docker info`` and daemon.json, no Docker."""

    def __init__(
        self,
        mirrors: list[str] | None,
        daemon_json: str,
        startup_error: str = "",
        files: dict[str, str] | None = None,
    ):
        self.name = "node-1"
        self.startup_error = startup_error
        self.mirrors = mirrors
        self.daemon_json = daemon_json
        self.files = files or {}  # other files on the node (hosts.toml), by path

    def run(self, *argv: str, timeout: float = 120.0) -> CommandResult:
        if argv[:2] == ("sh", "-c"):  # which of the paths exist
            return CommandResult(0, "".join(f"{p}\n" for p in argv[4:] if p in self.files))
        if self.mirrors is None:
            return CommandResult(1, "Cannot connect to the Docker daemon")
        info = {
            "ServerVersion": "28.5.2",
            "RegistryConfig": {"Mirrors": self.mirrors},
            "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]],
        }
        return CommandResult(0, json.dumps(info))

    def read_file(self, path: str) -> bytes:
        return self.files.get(path, self.daemon_json).encode()

    def daemon_log(self, since: float | None = None) -> str:
        return ""


HTTP_JSON = '{\n    "log-driver": "journald",\n    "registry-mirrors": ["http://mirror.test"]\n}\n'


def test_a_node_that_lists_the_mirror_has_no_known_cause():
    node = RecordedNode(["https://mirror.test/"], HTTP_JSON.replace("http:", "https:"))
    assert mirror_problem_of(node, "https://mirror.test") is None


def test_a_node_whose_hosts_toml_overrides_the_listed_mirror_is_known_naming_the_file():
    hosts = 'server = "https://registry-1.docker.io"\n\n[host."https://other.example"]\n'
    path = "/etc/docker/certs.d/docker.io/hosts.toml"
    node = RecordedNode(["https://mirror.test/"], HTTP_JSON, files={path: hosts})
    problem = mirror_problem_of(node, MIRROR_URL)
    assert problem is not None and "ignores registry-mirrors because of hosts.toml" in problem
    assert f"{path}:3:1" in problem and "hosts-toml/overrides-mirrors" in problem, problem
    # Only the server, no host of its own: the mirrors stay in force.
    kept = RecordedNode(["https://mirror.test/"], HTTP_JSON, files={path: hosts.split("[")[0]})
    assert mirror_problem_of(kept, MIRROR_URL) is None


def test_a_node_that_does_not_list_the_mirror_names_its_file_line_and_column():
    problem = mirror_problem_of(RecordedNode(["http://mirror.test/"], HTTP_JSON), MIRROR_URL)
    assert problem is not None
    assert problem.startswith("the running daemon does not list https://mirror.test/")
    assert "node-1:/etc/docker/daemon.json:3:5: error [daemon-json/mirror-missing]" in problem
    (cause,) = group_causes([(BYPASS, stopped({"node-1": problem}), "node-1")])
    assert cause["where"] == ["node-1:/etc/docker/daemon.json:3:5"]


def test_a_node_whose_daemon_did_not_start_or_does_not_answer_is_known():
    assert mirror_problem_of(RecordedNode([], "", "node-1: dockerd exited"), MIRROR_URL) == (
        "node-1: dockerd exited"
    )
    assert "docker info failed" in (mirror_problem_of(RecordedNode(None, ""), MIRROR_URL) or "")


def test_a_stopped_check_whose_message_was_cut_short_still_counts_under_its_cause():
    per_node = {f"node-{i}": f"dockerd did not start\n{NODE_COPY}" for i in (1, 2, 3)}
    cut = stopped(per_node)[:300]
    assert KNOWN_CAUSE_MARK not in cut
    causes = group_causes([(READER, FILE, None), (SERIAL, f"Failed: {cut}", None)])
    assert len(causes) == 1 and causes[0]["checks"] == [READER, SERIAL], causes


# ---------------------------------------------------------- one cause, said once


def test_a_fixture_failure_naming_the_node_it_pulled_on_is_one_cause_for_every_node():
    # Recorded: a module fixture warms an image on node-1; its failure is reported for every
    # check that uses it, whichever node the check is for.
    bypassed = (
        "node-1 asked Docker Hub itself ({'GET blob': 4, 'HEAD manifest-by-tag': 1}): the pull "
        "bypassed the mirror, so its cache cannot be judged; see the bypass checks"
    )
    warm = "suites/test_cache_hits.py::test_warm_pull_by_tag_fetches_nothing_upstream"
    causes = group_causes(
        [(f"{warm}[node-{i}]", f"AssertionError: {bypassed}", f"node-{i}") for i in (1, 2, 3)]
    )
    assert len(causes) == 1, causes
    assert causes[0]["where"] == ["node-1"] and len(causes[0]["checks"]) == 3


def test_a_fixture_failure_naming_a_stopped_node_counts_under_that_nodes_cause():
    causes = group_causes(
        [
            (BYPASS, stopped({"node-1": "dockerd did not start"}), "node-1"),
            (f"{LISTS[:-8]}[node-2]", "node-1's pull of busybox:latest failed", "node-2"),
        ]
    )
    assert len(causes) == 1 and causes[0]["where"] == ["node-1"], causes


def test_findings_that_share_an_error_are_one_cause():
    # The reader finds two errors in the file under test; the node's known cause, read with
    # other mirrors allowed, only the duplicate key: one cause, both errors said once.
    duplicate = "{path}:4:3: error [daemon-json/duplicate-key] 'registry-mirrors' appears again"
    missing = "{path}:2:3: error [daemon-json/mirror-missing] the expected mirror is not listed"
    in_file = f"{duplicate}\n{missing}".format(path="/tmp/x/daemon.json")
    on_node = duplicate.format(path="node-1:/etc/docker/daemon.json")
    node_cause = (
        f"the running daemon does not list https://mirror.test/; its daemon.json:\n{on_node}"
    )
    causes = group_causes(
        [
            (BYPASS, stopped({"node-1": node_cause}), "node-1"),
            (READER, f"Failed: {in_file}", None),
        ]
    )
    assert len(causes) == 1, causes
    (cause,) = causes
    assert cause["checks"] == [BYPASS, READER]
    assert cause["cause"].splitlines() == [
        "[daemon-json/duplicate-key] 'registry-mirrors' appears again",
        "[daemon-json/mirror-missing] the expected mirror is not listed",
    ]
    assert "/tmp/x/daemon.json:4:3" in cause["where"]


# ---------------------------------------------------------- a mirror that is not a cache

# Recorded: the lint check's failure on the example config with 'remoteUrl', and the
# mirror's known cause from the same run (the lab asked the mirror for an image of Docker
# Hub's and the registry answered 404).
CAMEL = (
    "{path}:22:3: error [registry-config/proxy-remoteurl-case] proxy.remoteUrl: distribution "
    "reads only the lower-case 'remoteurl' and ignores 'remoteUrl', so proxy.remoteurl is "
    "empty and the registry starts as a plain registry, NOT a mirror (nodes fall back to "
    "Docker Hub silently)\n      remoteUrl: https://registry-1.docker.io\n"
    "  fix: rename 'remoteUrl' to 'remoteurl'"
).format(path="/tmp/x/registry-config.yml")
NOT_SERVED = (
    "it did not serve an image Docker Hub holds (the lab pushed it to Docker Hub's stand-in): "
    "GET https://mirror.test/v2/mirrorcheck/hub-image/manifests/v1 answered HTTP 404 "
    "MANIFEST_UNKNOWN; it is not a pull-through cache of Docker Hub, so every node's pull "
    "falls back to Docker Hub"
)
LINT = "suites/test_registry_config.py::test_registry_config_passes_the_lint"
SMOKE = "suites/test_smoke.py::test_node_pulls_a_test_image_by_tag_through_the_mirror"
COUNTERS = "suites/test_mirror_counters.py::test_manifest_counters_agree_with_upstream"


def test_a_mirror_that_is_not_a_cache_is_one_cause_with_the_lint_check_under_it():
    mirror = f"{NOT_SERVED}; the registry config says why:\n{CAMEL}"
    message = stopped({"mirror": mirror})
    assert message.splitlines()[0] == f"the mirror cannot serve the nodes: {mirror.splitlines()[0]}"
    causes = group_causes(
        [
            (LINT, f"Failed: {CAMEL}", None),
            (BYPASS, message, "node-1"),
            (f"{BYPASS[:-8]}[node-2]", message, "node-2"),
            (SMOKE, message, None),
            (COUNTERS, message, None),
        ]
    )
    assert len(causes) == 1, causes
    (cause,) = causes
    assert cause["cause"].startswith("[registry-config/proxy-remoteurl-case] proxy.remoteUrl")
    assert cause["checks"] == [LINT, BYPASS, f"{BYPASS[:-8]}[node-2]", SMOKE, COUNTERS]
    assert cause["where"] == [
        "/tmp/x/registry-config.yml:22:3",
        "mirror: /tmp/x/registry-config.yml:22:3",
    ]


def test_a_mirror_that_is_not_a_cache_for_no_reason_found_is_its_answer():
    causes = group_causes(
        [(SMOKE, stopped({"mirror": NOT_SERVED}), None), (LINT, "some other finding", None)]
    )
    assert [c["cause"] for c in causes] == [NOT_SERVED, "some other finding"]
    assert causes[0]["where"] == ["mirror"]


def test_a_node_and_the_mirror_both_known_are_two_causes_of_one_check():
    message = stopped({"node-1": "dockerd did not start", "mirror": NOT_SERVED})
    causes = group_causes(
        [(BYPASS, message, "node-1"), (SMOKE, stopped({"mirror": NOT_SERVED}), None)]
    )
    assert {c["cause"]: c["checks"] for c in causes} == {
        NOT_SERVED: [BYPASS, SMOKE],
        "dockerd did not start": [BYPASS],
    }

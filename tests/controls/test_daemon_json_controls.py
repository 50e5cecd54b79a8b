"""Negative controls for the daemon.json suite: broken files must fail the right checks, by name.

Each runs suites/test_daemon_json.py in a child pytest, as a user would, with
one node where a node is needed: a missing comma (file:line:column, and each
node failing by name), the guide's verbatim after-file (signature-verification,
refused by upstream dockerd even when the reader is told to allow it), a
baseline change, and the reference files, which must pass. Beside the file,
containerd's hosts.toml: an Engine 28.5 node (containerd store) with hosts of
its own for Docker Hub (lab fault ``node-hosts-toml``) fails the hosts.toml
check, naming the file and the fix. The child runs start together, three at a
time.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from mirrorcheck.options import EXAMPLES
from mirrorcheck.rules.daemon_json.catalog import (
    BASELINE_CHANGED,
    FORK_KEY,
    INVALID_JSON,
    PLACEHOLDER,
)
from mirrorcheck.rules.hosts_toml.catalog import OVERRIDES_MIRRORS
from mirrorcheck.targets.lab.nodes import HOSTS_TOML_PATH
from mirrorcheck.versions import DEFAULT_ENGINE
from tests.suite_runner import SuiteRun, suites_together

pytestmark = [pytest.mark.docker]

SUITE = "suites/test_daemon_json.py"
FILE_CHECK = "test_daemon_json_passes_the_reader"
NODE_CHECK = "test_node_daemon_json_passes_the_reader"
MIRRORS_CHECK = "test_node_daemon_runs_the_mirrors_its_daemon_json_lists"
ORACLE_CHECK = "test_dockerd_and_the_reader_agree_on_the_file"
GUIDE_AFTER = EXAMPLES / "guide" / "daemon.after.json"
GUIDE_BEFORE = EXAMPLES / "guide" / "daemon.before.json"
# The reference guide's file with the classic mistake: no comma after `false`.
MISSING_COMMA = (
    "{\n"
    '    "log-driver": "journald",\n'
    '    "signature-verification": false\n'
    f'    "registry-mirrors": ["https://{PLACEHOLDER}"]\n'
    "}\n"
)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _control_args(tmp: Path) -> dict[str, list[str]]:
    """Each control's child run, by name: its arguments."""
    changed = (EXAMPLES / "daemon.after.json").read_text().replace("journald", "json-file")
    return {
        "missing-comma": [
            SUITE, "--daemon-json", write(tmp, "daemon.json", MISSING_COMMA), "--nodes", "2",
        ],
        "guide-after": [SUITE, "-k", FILE_CHECK, "--daemon-json", str(GUIDE_AFTER)],
        "guide-after-allowed": [
            SUITE, "--daemon-json", str(GUIDE_AFTER), "--daemon-json-baseline",
            str(GUIDE_BEFORE), "--allow-daemon-key", "signature-verification", "--nodes", "1",
        ],
        "reference": [SUITE, "--nodes", "2"],
        "baseline-change": [
            SUITE, "-k", f"{FILE_CHECK} or {NODE_CHECK}",
            "--daemon-json", write(tmp, "changed.json", changed), "--nodes", "1",
        ],
        "hosts-toml": [
            "suites/test_hosts_toml.py", "--engine", "28.5", "--lab-fault", "node-hosts-toml",
            "--nodes", "1",
        ],
    }  # fmt: skip


@pytest.fixture(scope="module")
def control_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("daemon-json-controls")


@pytest.fixture(scope="module")
def runs(engine, control_dir) -> Iterator[dict[str, Future[SuiteRun]]]:
    """Every control's child run, three at a time; each test waits for its own."""
    with suites_together(_control_args(control_dir), control_dir) as started:
        yield started


def test_missing_comma_fails_at_its_line_and_column_and_on_every_node_by_name(runs, control_dir):
    broken = str(control_dir / "daemon.json")
    run = runs["missing-comma"].result()
    assert run.exit_code == 1, run.output[-3000:]
    assert run.outcome(FILE_CHECK) == "failed"
    message = run.message(FILE_CHECK)
    assert f"{broken}:4:5: error [{INVALID_JSON.code}]" in message, message
    assert "missing ',' before the key 'registry-mirrors'" in message
    assert "add ',' after the value of 'signature-verification'" in message
    # Per node: dockerd's own words, then the reader's, under the node's own test id.
    for name in ("node-1", "node-2"):
        for check in (NODE_CHECK, MIRRORS_CHECK):
            (outcome,) = [o for o in run.find(check) if o.name.endswith(f"[{name}]")]
            assert outcome.outcome in ("failed", "error"), outcome
            assert f"{name}: dockerd did not start with {broken}" in outcome.message
            assert "invalid character '\"' after object key:value pair" in outcome.message
            assert f"{broken}:4:5: error [{INVALID_JSON.code}]" in outcome.message
    # dockerd refuses what the reader refuses: the oracle agrees, and says both.
    assert run.outcome(ORACLE_CHECK) == "passed"
    properties = run.find(ORACLE_CHECK)[0].properties
    assert properties["reader_verdict"] == f"refuses: {INVALID_JSON.code}"
    assert properties["dockerd_verdict"].startswith("refused: unable to configure the Docker")


def test_guide_after_file_fails_on_signature_verification_unless_allowed(runs):
    plain = runs["guide-after"].result()
    assert plain.outcome(FILE_CHECK) == "failed"
    message = plain.message(FILE_CHECK)
    assert f"{GUIDE_AFTER}:3:5: error [{FORK_KEY.code}]" in message, message
    assert "--allow-daemon-key signature-verification" in message

    allowed = runs["guide-after-allowed"].result()
    # The reader is told the nodes run a fork that knows the key...
    assert allowed.outcome(FILE_CHECK) == "passed", allowed.message(FILE_CHECK)
    # ...but the lab's nodes run upstream dockerd 20.10, which refuses it.
    assert allowed.outcome(NODE_CHECK) in ("failed", "error")
    node_message = allowed.message(NODE_CHECK)
    assert "node-1: dockerd did not start" in node_message
    assert "don't match any configuration option: signature-verification" in node_message
    # That leniency is documented, so reader and dockerd still agree.
    assert allowed.outcome(ORACLE_CHECK) == "passed", allowed.message(ORACLE_CHECK)
    properties = allowed.find(ORACLE_CHECK)[0].properties
    assert properties["reader_verdict"] == "accepts"
    assert "signature-verification" in properties["dockerd_verdict"]


def test_reference_files_pass_the_daemon_json_suite(runs):
    run = runs["reference"].result()
    assert run.exit_code == 0, run.output[-3000:]
    assert not run.failed()
    assert len(run.find(NODE_CHECK)) == 2 and len(run.find(MIRRORS_CHECK)) == 2
    # The per-node table of the reports, from the node_status figure.
    rows = {row["name"]: row for row in run.summary()["nodes"]}
    assert sorted(rows) == ["node-1", "node-2"]
    for row in rows.values():
        assert row["daemon_json_verdict"] == "ok" and row["mirror_configured"] is True
        assert row["effective_mirrors"] == ["https://mirror.test/"]
        assert row["engine_version"].startswith(f"{DEFAULT_ENGINE}.")


def test_baseline_change_besides_registry_mirrors_fails_the_baseline_check(runs):
    run = runs["baseline-change"].result()
    for check in (FILE_CHECK, NODE_CHECK):
        assert run.outcome(check) == "failed", run.output[-3000:]
        message = run.message(check)
        assert f"[{BASELINE_CHANGED.code}] 'log-driver' changed from \"journald\"" in message
        assert "daemon.before.json" in message


def test_hosts_toml_with_hosts_of_its_own_fails_the_hosts_toml_check(runs):
    run = runs["hosts-toml"].result()
    check = "test_node_hosts_toml_keeps_the_daemon_json_mirrors"
    assert run.exit_code == 1, run.output[-3000:]
    assert run.outcome(check) == "failed"
    message = run.message(check)
    assert "node-1 (containerd image store)" in message, message
    assert f"{HOSTS_TOML_PATH}:3:1: error [{OVERRIDES_MIRRORS.code}]" in message, message
    assert "fix: remove the [host] sections" in message

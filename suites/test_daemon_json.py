"""daemon.json: the file under test, every node's copy of it, and dockerd itself as the judge.

- The file under test passes the strict reader. This needs no lab, so a broken
  file fails in a second, with file:line:column and a caret under the error.
- On every node (``[node-1]``, ``[node-2]``, ...), /etc/docker/daemon.json
  passes the reader and the running daemon's mirrors (``docker info``,
  ``RegistryConfig.Mirrors``) are the file's, normalised as dockerd does: the
  daemon really runs this file. A node whose dockerd never came up fails by
  name, with dockerd's words and the reader's account of the file.
- On every node with Engine 23.0 or later, the node's own ``dockerd --validate
  --config-file /etc/docker/daemon.json`` judges the file beside the reader.
- Hermetic only: a throwaway node is started with the file under test, and
  dockerd's verdict is set beside the reader's. They must agree, except where
  ``DOCKERD_DIFFERENCES`` in mirrorcheck/rules/daemon_json/codes.py documents why.

Options: --daemon-json, --daemon-json-baseline (the file before the change:
only registry-mirrors may differ), --allow-daemon-key KEY (a fork's key, e.g.
signature-verification), --allow-other-mirrors, --mirror-fqdn.
"""

from __future__ import annotations

import pytest

from mirrorcheck.findings import Severity, render_all
from mirrorcheck.options import SettingsError
from mirrorcheck.rules.daemon_json.assess import (
    Assessment,
    DaemonJson,
    assess,
    effective_mirrors,
    parse_daemon_json,
    read_daemon_json,
)
from mirrorcheck.rules.daemon_json.engine import VALIDATE_FROM
from mirrorcheck.rules.daemon_json.oracle import (
    compare_with_dockerd,
    compare_with_validate,
    dockerd_fatal_line,
    reader_verdict,
)
from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab.throwaway_nodes import ORACLE, oracle_spec
from mirrorcheck.targets.lab.topology import fill_fqdn
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH, Node, NodeError
from mirrorcheck.targets.nodes.readings import NodeReadings, validate_on


def expected_mirror_url(settings: Settings) -> str:
    """The mirror every node must list: --mirror-url when live, else https://<--mirror-fqdn>."""
    return settings.mirror_url or f"https://{settings.mirror_fqdn}"


def file_under_test(settings: Settings) -> bytes:
    """The --daemon-json bytes; in the lab the guide's placeholder is filled, as on the nodes."""
    try:
        data = settings.daemon_json_bytes()
    except SettingsError as error:
        pytest.fail(str(error), pytrace=False)
    return data if settings.live else fill_fqdn(data, settings.mirror_fqdn)


def judge(doc: DaemonJson, settings: Settings, mirror_url: str) -> Assessment:
    """The reader on ``doc`` with what the options tell it: mirror, baseline, what is allowed."""
    baseline: DaemonJson | None = None
    path = settings.daemon_json_baseline_path
    # The project's example baseline describes the example file, not a live fleet.
    if not settings.file_to_check("daemon-json-baseline"):
        path = None
    # A file that is not a JSON object has its own finding; a failed comparison adds nothing.
    if path is not None and doc.document is not None:
        baseline = read_daemon_json(str(path), doc.engine)
    return assess(
        doc,
        mirror_url=mirror_url,
        baseline=baseline,
        allow_keys=settings.allow_daemon_keys,
        allow_other_mirrors=settings.allow_other_mirrors,
    )


def verdict_text(result: Assessment) -> str:
    """``ok``, or ``error: place: message; ...`` for the per-node report table."""
    if result.accepted:
        return "ok"
    return "error: " + "; ".join(f"{f.location}: {f.message}" for f in result.errors)


def fail_with_findings(result: Assessment) -> None:
    if result.accepted:
        return
    others = [f for f in result.findings if f.severity is not Severity.ERROR]
    text = render_all(result.errors)
    if others:
        text += "\nalso:\n" + render_all(others)
    pytest.fail(text, pytrace=False)


# -- the file under test (no lab) ----------------------------------------------


def test_daemon_json_passes_the_reader(settings, record_property):
    """The file as given, before any node runs it: the reader's findings, file:line:column."""
    if not settings.file_to_check("daemon-json"):
        pytest.skip(
            "live mode checks each node's own /etc/docker/daemon.json; give --daemon-json FILE "
            "to also check the file you deploy"
        )
    doc = parse_daemon_json(file_under_test(settings), path=str(settings.daemon_json_path))
    result = judge(doc, settings, expected_mirror_url(settings))
    record_property("daemon_json_findings", [f.render() for f in result.findings])
    record_property("reader_verdict", reader_verdict(result))
    fail_with_findings(result)


# -- every node ------------------------------------------------------------------


def _node_file(node: Node, reading: NodeReadings) -> DaemonJson:
    try:
        return reading.daemon_json()
    except NodeError as error:
        pytest.fail(
            f"{error}. Fix: create {DAEMON_JSON_PATH} on {node.name} with registry-mirrors",
            pytrace=False,
        )


@pytest.mark.own_evidence
def test_node_daemon_json_passes_the_reader(
    node, node_readings, deployment, settings, record_property
):
    """The node's own copy, read as its dockerd reads it."""
    reading = node_readings[node.name]
    info = reading.info.get()
    version = str(info.get("ServerVersion") or "")
    result = judge(_node_file(node, reading), settings, deployment.mirror_url)
    mirrors = reading.running_mirrors()
    record_property(
        "node_status",
        {
            "name": node.name,
            "mirror_configured": deployment.mirror_url.rstrip("/") + "/" in mirrors,
            "effective_mirrors": mirrors,
            "daemon_json_verdict": verdict_text(result),
            "engine_version": version,
        },
    )
    fail_with_findings(result)


@pytest.mark.own_evidence
def test_node_daemon_runs_the_mirrors_its_daemon_json_lists(node, node_readings, record_property):
    """docker info's mirrors are the file's, normalised: the daemon was restarted (or reloaded)."""
    reading = node_readings[node.name]
    running = reading.running_mirrors()
    doc = _node_file(node, reading)
    listed = effective_mirrors(doc)
    record_property("effective_mirrors", running)
    assert running == listed, (
        f"{node.name}: the running dockerd uses the mirrors {running} (docker info, "
        f"RegistryConfig.Mirrors), but {doc.path} lists {listed} (as dockerd normalises them): "
        "the daemon has not loaded this file. Fix: `systemctl reload docker` (registry-mirrors "
        "is reloadable) or restart dockerd, then check again"
    )


@pytest.mark.own_evidence
def test_node_dockerd_validate_agrees_with_the_reader(
    node, node_readings, deployment, settings, record_property
):
    """Engine 23.0 and later: the node's dockerd judges its own file, without restarting."""
    reading = node_readings[node.name]
    reading.info.get()
    doc = _node_file(node, reading)
    if doc.engine < VALIDATE_FROM:
        pytest.skip(f"{node.name}: dockerd {doc.engine} has no --validate (it came with 23.0)")
    ran = reading.validate.get() if reading.validate else validate_on(node)
    if ran.exit_code == 127:
        pytest.fail(
            f"{node.name}: dockerd is not on the PATH of the checking user ({ran.output.strip()}). "
            "Fix: add /usr/sbin (or where dockerd lives) to that user's PATH",
            pytrace=False,
        )
    said = "" if ran.ok else (ran.output.strip().splitlines() or [""])[-1]
    comparison = compare_with_validate(
        judge(doc, settings, deployment.mirror_url), ran.ok, said.replace(DAEMON_JSON_PATH, "FILE")
    )
    record_property("dockerd_validate_verdict", comparison.dockerd_verdict)
    assert comparison.agree, (
        f"{node.name}: the reader and `dockerd --validate` disagree on {DAEMON_JSON_PATH}.\n"
        f"{comparison.describe()}\nFix: the reader (mirrorcheck/rules/daemon_json) is wrong "
        "about this file, or the difference belongs in DOCKERD_DIFFERENCES with its reason"
    )


# -- dockerd as the oracle (hermetic) --------------------------------------------


@pytest.mark.hermetic_only
@pytest.mark.lab_node(ORACLE)
def test_dockerd_and_the_reader_agree_on_the_file(lab, settings, record_property):
    """A throwaway node runs the file under test: dockerd's verdict beside the reader's."""
    data = file_under_test(settings)
    result = judge(
        parse_daemon_json(data, path=str(settings.daemon_json_path)), settings, lab.mirror_url
    )
    (oracle,) = lab.add_nodes([oracle_spec(data)])  # started by the lab ahead of this check
    try:
        started = not oracle.startup_error
        said = "" if started else dockerd_fatal_line(oracle.daemon_log()) or oracle.startup_error
        running = oracle.effective_mirrors() if started else None
    finally:
        lab.remove_node(oracle)
    comparison = compare_with_dockerd(result, started, said)
    record_property("reader_verdict", comparison.reader_verdict)
    record_property("reader_predicts_dockerd_starts", result.dockerd_starts)
    record_property("dockerd_verdict", comparison.dockerd_verdict)
    if running is not None:
        record_property("oracle_effective_mirrors", running)
    assert comparison.agree, (
        f"{settings.daemon_json_path}: the reader and dockerd disagree.\n{comparison.describe()}\n"
        "Fix: the reader (mirrorcheck/rules/daemon_json/assess.py) is wrong about this file, "
        "or the difference belongs in DOCKERD_DIFFERENCES with its reason"
    )
    if running is not None:
        assert running == effective_mirrors(parse_daemon_json(data)), (
            f"dockerd started with {settings.daemon_json_path} and uses the mirrors {running}; "
            f"the reader expected {effective_mirrors(parse_daemon_json(data))}"
        )

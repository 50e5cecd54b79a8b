"""The engine as the oracle: every corpus daemon.json goes into a real dockerd of each engine.

tests/corpus/daemon_json/cases.json records what dockerd 20.10 did with each
file on the host (``dockerd_20_10_starts``). Here each file is copied into a
throwaway node of the lab's node image (Debian's docker.io, the nodes the
suites run) and the node's dockerd either answers ``docker info`` or exits.
It must start exactly when the corpus says, show the mirrors the corpus
recorded, and the reader must agree with it except where DOCKERD_DIFFERENCES
documents why.

The host measurement started dockerd with flags (cases.json ``default_options``);
the nodes get the ones that mean the same in a node, and the reader is told
the same flags, so a key given both as a flag and in the file
(``flag-conflict-bridge``) is refused in both places.

Engines with ``dockerd --validate`` (23.0 and later: 26.1 and 28.5 here) judge
every corpus file in one node container per engine, without starting a
daemon: its answer must be the one cases.json recorded
(``dockerd_validate[engine]``), and the reader's prediction
(``Assessment.validate_accepts``) must agree, except where
DOCKERD_DIFFERENCES documents why or, before 28.3, where ``--validate`` does
not check the mirrors (``Assessment.validate_skips``).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from testcontainers.core.network import Network

from mirrorcheck.rules.daemon_json.assess import assess, effective_mirrors, read_daemon_json
from mirrorcheck.rules.daemon_json.oracle import (
    compare_with_dockerd,
    compare_with_validate,
    dockerd_fatal_line,
)
from mirrorcheck.targets.lab.images.supply import ImageSupply, ImageSupplyError, node_key
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.nodes import NodeSpec, start_node
from mirrorcheck.targets.lab.sweeper import sweep_run
from mirrorcheck.targets.nodes.node import DAEMON_JSON_PATH
from mirrorcheck.versions import ENGINES, engine_has

pytestmark = [pytest.mark.docker]

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "daemon_json"
_SPEC = importlib.util.spec_from_file_location("measure_dockerd", CORPUS / "measure_dockerd.py")
MEASURE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(MEASURE)  # the corpus's own measurement, run here as the oracle
INDEX = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = INDEX["cases"]
FILES = sorted({case["file"] for case in CASES})
STARTED = [case for case in CASES if case["dockerd_20_10_starts"]]
REFUSED = [case for case in CASES if not case["dockerd_20_10_starts"]]

# Of the measurement's flags, those that keep their meaning inside a node: the
# rest only kept the host's own dockerd out of the way (paths, socket, namespace).
NODE_DOCKERD_FLAGS = MEASURE.VALIDATE_FLAGS  # --bridge=none --iptables=false
# Two cores: four nodes at a time keeps every core busy while others wait on I/O.
PARALLEL_NODES = 4
ORACLE_ENGINE = "20.10"  # the engine whose daemon starts with each file (no --validate)
VALIDATING = [engine for engine in ENGINES if engine_has(engine, "validate_flag")]
VALIDATE_CASES = [(engine, case) for engine in VALIDATING for case in CASES]
# One line per corpus file: name, exit code, dockerd's last line (its verdict).


@dataclass(frozen=True)
class EngineAnswer:
    """What one node's dockerd did with one corpus file."""

    started: bool
    said: str = ""  # the fatal log line, path shown as FILE
    mirrors: tuple[str, ...] | None = None  # RegistryConfig.Mirrors when it started
    engine_version: str = ""


def _ask_dockerd(client, image: str, network, labels: RunLabels, file: str) -> EngineAnswer:
    name = "oracle-" + re.sub(r"[^a-z0-9]+", "-", file.removesuffix(".json").lower())
    node = start_node(
        client,
        image,
        NodeSpec(name, (CORPUS / file).read_bytes(), dockerd_args=NODE_DOCKERD_FLAGS),
        network=network,
        labels=labels,
        container_name=f"mirrorcheck-{labels.run_id}-{name}",
    )
    try:
        if node.startup_error:
            said = dockerd_fatal_line(node.daemon_log()) or node.startup_error
            return EngineAnswer(False, said.replace(DAEMON_JSON_PATH, "FILE"))
        info = node.docker_info()
        mirrors = (info.get("RegistryConfig") or {}).get("Mirrors") or []
        return EngineAnswer(True, "", tuple(mirrors), str(info.get("ServerVersion", "")))
    finally:
        node.container.remove(force=True, v=True)


@pytest.fixture(scope="module")
def dockerd_answers(engine) -> Iterator[dict[str, EngineAnswer]]:
    """Every corpus file through a real dockerd 20.10, in parallel throwaway nodes."""
    try:
        image = ImageSupply(engine).resolve(node_key(ORACLE_ENGINE)).image
    except ImageSupplyError as error:
        pytest.fail(str(error), pytrace=False)
    labels = RunLabels.for_this_process()
    network = Network(docker_network_kw={"internal": True, "labels": labels.as_dict("network")})
    network.name = f"mirrorcheck-{labels.run_id}-oracle-net"
    network.create()
    try:
        with ThreadPoolExecutor(max_workers=PARALLEL_NODES) as pool:
            answers = list(
                pool.map(lambda file: _ask_dockerd(engine, image, network, labels, file), FILES)
            )
        yield dict(zip(FILES, answers, strict=True))
    finally:
        sweep_run(engine, labels.run_id)


def run_case(case: dict[str, Any], engine: str | None = None):
    """The reader on a corpus case (on ``engine``, else the corpus's), told the node's flags."""
    options = {**INDEX["default_options"], **case["options"]}
    engine = engine or options.pop("engine_version")
    options.pop("engine_version", None)
    baseline = options.pop("baseline", None)
    options["allow_keys"] = options.pop("allow_daemon_keys", ())
    options["dockerd_flags"] = NODE_DOCKERD_FLAGS
    doc = read_daemon_json(str(CORPUS / case["file"]), engine)
    if baseline:
        options["baseline"] = read_daemon_json(str(CORPUS / baseline), engine)
    return assess(doc, **options)


def test_nodes_run_the_engine_the_corpus_was_measured_with(dockerd_answers):
    versions = {a.engine_version for a in dockerd_answers.values() if a.started}
    measured = INDEX["measured_with"]["dockerd"]
    assert versions, "no corpus file started a node"
    for version in versions:
        assert version.startswith("20.10.") and version.split("+")[0] in measured, (
            f"the nodes run dockerd {version}; the corpus was measured with {measured}"
        )


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_dockerd_in_a_node_starts_exactly_when_the_corpus_says(case, dockerd_answers):
    answer = dockerd_answers[case["file"]]
    expected = case["dockerd_20_10_starts"]
    assert answer.started is expected, (
        f"{case['file']}: dockerd in a node {'started' if answer.started else 'refused'} "
        f"({answer.said or 'no error'}); cases.json says it "
        f"{'starts' if expected else 'refuses: ' + case['dockerd_20_10_error']}. "
        "Fix: re-measure with tests/corpus/daemon_json/measure_dockerd.py and update cases.json"
    )


@pytest.mark.parametrize("case", REFUSED, ids=[case["id"] for case in REFUSED])
def test_dockerd_in_a_node_refuses_with_the_recorded_words(case, dockerd_answers):
    answer = dockerd_answers[case["file"]]
    if answer.started:
        pytest.fail(f"{case['file']}: dockerd started; see the start test", pytrace=False)
    assert answer.said == case["dockerd_20_10_error"]


@pytest.mark.parametrize("case", STARTED, ids=[case["id"] for case in STARTED])
def test_started_node_shows_the_mirrors_the_reader_expects(case, dockerd_answers):
    answer = dockerd_answers[case["file"]]
    if not answer.started:
        pytest.fail(f"{case['file']}: dockerd refused: {answer.said}", pytrace=False)
    doc = read_daemon_json(str(CORPUS / case["file"]), ORACLE_ENGINE)
    assert list(answer.mirrors or ()) == case["dockerd_20_10_mirrors"] == effective_mirrors(doc)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_reader_agrees_with_dockerd_except_where_documented(case, dockerd_answers):
    answer = dockerd_answers[case["file"]]
    comparison = compare_with_dockerd(run_case(case), answer.started, answer.said)
    assert comparison.agree, f"{case['file']} ({case['id']}):\n{comparison.describe()}"


# -- dockerd --validate, one node container per engine ------------------------------


def _validate_all(client, image: str, labels: RunLabels, engine: str) -> dict[str, EngineAnswer]:
    """Every corpus file through ``dockerd --validate`` in one container of ``image``."""
    version, answers = MEASURE.validate_in_image(
        client,
        image,
        FILES,
        labels.as_dict("oracle"),
        f"mirrorcheck-{labels.run_id}-validate-{engine.replace('.', '-')}",
    )
    return {
        file: EngineAnswer(answer["ok"], answer["said"], None, version)
        for file, answer in answers.items()
    }


@pytest.fixture(scope="module")
def validate_answers(engine) -> Iterator[dict[str, dict[str, EngineAnswer]]]:
    """``{engine: {file: answer}}`` for every engine with ``--validate``."""
    try:
        images = {e: ImageSupply(engine).resolve(node_key(e)).image for e in VALIDATING}
    except ImageSupplyError as error:
        pytest.fail(str(error), pytrace=False)
    labels = RunLabels.for_this_process()
    try:
        with ThreadPoolExecutor(max_workers=len(VALIDATING)) as pool:
            found = pool.map(lambda e: _validate_all(engine, images[e], labels, e), VALIDATING)
            yield dict(zip(VALIDATING, found, strict=True))
    finally:
        sweep_run(engine, labels.run_id)


@pytest.mark.parametrize("engine_version", VALIDATING)
def test_validate_runs_the_engine_the_corpus_recorded(engine_version, validate_answers):
    versions = {a.engine_version for a in validate_answers[engine_version].values()}
    measured = INDEX["measured_with"]["validate"][engine_version]
    assert versions == {measured}, f"the node image runs {versions}; cases.json has {measured}"


@pytest.mark.parametrize(
    ("engine_version", "case"),
    VALIDATE_CASES,
    ids=[f"{engine}-{case['id']}" for engine, case in VALIDATE_CASES],
)
def test_validate_answers_as_recorded_and_the_reader_agrees(engine_version, case, validate_answers):
    answer = validate_answers[engine_version][case["file"]]
    recorded = case["dockerd_validate"][engine_version]
    assert [answer.started, answer.said] == [recorded["ok"], recorded["said"]], (
        f"{case['file']}: dockerd {engine_version} --validate answered "
        f"{'OK' if answer.started else answer.said}; cases.json recorded {recorded}. "
        "Fix: re-measure (tests/corpus/daemon_json/measure_dockerd.py --validate) and update "
        "cases.json"
    )
    comparison = compare_with_validate(run_case(case, engine_version), answer.started, answer.said)
    assert comparison.agree, f"{case['file']} ({case['id']}):\n{comparison.describe()}"

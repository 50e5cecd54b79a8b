"""The benchmark's broken deployments are those of the controls, and each is really broken:
every edit still applies to its ``examples/`` file, so none runs a healthy deployment."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from mirrorcheck.options import EXAMPLES, LAB_FAULTS, TOPOLOGIES

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _broken():
    spec = importlib.util.spec_from_file_location("bench_broken", BENCH / "broken.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


broken = _broken()


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_every_broken_file_differs_from_the_reference_deployment(topology, tmp_path):
    # The reference deployment's files; the guide's own (examples/guide/) are broken as
    # written, and the baseline daemon.json is a node without the mirror.
    reference = ("registry-config.yml", "registry-stack.yml", "daemon.after.json")
    examples = {name: (EXAMPLES / name).read_text() for name in reference}
    for deployment in broken.deployments(topology):
        arguments = deployment.arguments(tmp_path)
        if not deployment.file_option:
            assert arguments[0] == "--lab-fault" and arguments[1] in LAB_FAULTS
            continue
        written = Path(arguments[arguments.index(deployment.file_option) + 1])
        assert written.read_text() not in examples.values(), deployment.name


def test_an_unknown_or_misplaced_name_is_refused_naming_it():
    with pytest.raises(ValueError, match="no-such-thing"):
        broken.deployments("swarm", ["no-such-thing"])

"""bench.py --repeat: a row's figure is its median run, every run's seconds beside it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench():
    sys.path.insert(0, str(BENCH))  # bench.py imports its sibling broken.py
    try:
        spec = importlib.util.spec_from_file_location("bench_main", BENCH / "bench.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def test_one_run_is_the_figure_as_it_is():
    run = {"seconds": 41.2, "exit_code": 0}
    assert _bench().median_run([run]) == run


def test_three_runs_give_the_middle_one_with_every_run_in_order():
    runs = [{"seconds": 80.1, "exit_code": 0}, {"seconds": 61.9}, {"seconds": 64.0}]
    figure = _bench().median_run(runs)
    assert figure["seconds"] == 64.0
    assert figure["runs"] == [80.1, 61.9, 64.0]


def test_an_even_count_gives_the_lower_middle_run():
    assert _bench().median_run([{"seconds": s} for s in (4, 1, 3, 2)])["seconds"] == 2

"""The suites pass under pytest-xdist, each worker with a lab of its own.

A session fixture lives once per xdist worker, so two workers that run lab
checks build two labs (``mirrorcheck-<run>-gw0-*`` and ``-gw1-*``). The
evidence: in the verbose output each result names its worker, and the summary
marks every check that used the lab with its ``mirror_url`` figure. The
checks that count requests exactly (single fetch, cache hits) pass on both
workers: one lab's traffic does not leak into the other's counts.
"""

from __future__ import annotations

import re

import pytest

from tests.suite_runner import run_suites

pytestmark = [pytest.mark.docker]

# xdist's verbose result line: "[gw1] [ 42%] PASSED suites/test_x.py::test_y[node-1] "
WORKER_RESULT = re.compile(r"^\[(gw\d+)\] \[\s*\d+%\] [A-Z]+ (\S+)", re.MULTILINE)


def test_suites_pass_with_two_workers_each_on_its_own_lab(engine, tmp_path):
    run = run_suites("suites/", "-n", "2", "-v", tmp_path=tmp_path, timeout=2400)
    assert run.exit_code == 0, run.output[-4000:]
    assert not run.failed()
    run.expect("test_nodes_pulling_after_the_first_fetch_no_blob_upstream", "passed")
    run.expect("test_warm_pull_by_tag_fetches_nothing_upstream_but_a_tag_head", "passed")

    worker_of = {test_id: worker for worker, test_id in WORKER_RESULT.findall(run.output)}
    lab_checks = [c["id"] for c in run.summary()["checks"] if "mirror_url" in c["figures"]]
    assert lab_checks, "no check recorded the lab's mirror_url: did any check use the lab?"
    lab_workers = {worker_of[c] for c in lab_checks if c in worker_of}
    assert len(lab_workers) == 2, (
        f"lab checks ran on workers {sorted(lab_workers)}, not on two labs;\n{run.output[-4000:]}"
    )

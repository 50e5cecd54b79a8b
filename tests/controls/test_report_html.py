"""report.html as a reader sees it: opened offline in headless Chromium.

Two runs feed it: recorded figures (no Docker, under xdist, a failing check on
purpose) and a real lab run of the smoke and single-fetch suites.
For each, the verdict comes first, the per-node table and the per-pull chart
render, the console stays free of errors and nothing is fetched from outside
the file. The screenshot is kept next to the report (``report.png``).
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from mirrorcheck.pytest_plugin.options import fail_or_skip
from tests.browser import BrowserError, chromium_path, open_page
from tests.suite_runner import SuiteRun, run_suites

CANNED_SUITE = "tests/controls/canned/figures_suite.py"
LAB_SUITES = (
    "suites/test_smoke.py",
    "suites/test_single_fetch.py",
    "suites/test_single_fetch_kept.py",
)
NODES = ["node-1", "node-2", "node-3"]

# What the page must show, read back from the rendered DOM.
RENDERED = """(() => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
                        return {top: r.top, width: r.width, height: r.height}; };
  const rows = Array.from(document.querySelectorAll('#mc-nodes tbody tr'));
  const bars = Array.from(document.querySelectorAll('#mc-charts svg.mc-chart rect.mc-bar'));
  return {
    title: document.title,
    verdict: box(document.getElementById('mc-verdict')),
    verdictText: (document.getElementById('mc-verdict') || {}).textContent || '',
    environment: box(document.getElementById('environment-header')),
    resultsRows: document.querySelectorAll('#results-table tbody.results-table-row').length,
    nodes: rows.map((r) => ({name: r.cells[0].textContent, bad: r.classList.contains('mc-bad'),
                             height: r.getBoundingClientRect().height})),
    causes: Array.from(document.querySelectorAll('#mc-causes li.mc-cause')).map((li) => ({
      text: li.textContent, top: li.getBoundingClientRect().top})),
    failedTop: box(document.getElementById('mc-failed-checks')),
    charts: document.querySelectorAll('#mc-charts svg.mc-chart').length,
    bars: bars.map((b) => ({first: b.classList.contains('mc-bar-first'),
                            width: b.getBoundingClientRect().width,
                            height: b.getBoundingClientRect().height})),
  };
})()"""


@pytest.fixture(scope="session")
def browser_ready() -> None:
    if chromium_path() is None:
        fail_or_skip("chromium is not installed. Fix: apt-get install -y chromium")
    try:
        import websocket  # noqa: F401
    except ImportError:
        fail_or_skip("websocket-client is not installed. Fix: pip install websocket-client")


def kept_reports(settings, name: str) -> Path:
    folder = settings.report_dir / "controls" / name
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def view(run: SuiteRun) -> tuple[dict, list[str], list[str], Path]:
    """Open the run's report.html; keep report.png beside it."""
    assert run.report_dir is not None
    page_file = run.report_dir / "report.html"
    assert page_file.is_file(), f"no report.html:\n{run.output[-3000:]}"
    screenshot = run.report_dir / "report.png"
    try:
        with open_page(page_file) as page:
            rendered = page.evaluate(RENDERED)
            page.screenshot(screenshot)
            return rendered, page.console_errors, page.outside_requests, screenshot
    except BrowserError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="module")
def canned(browser_ready, settings, tmp_path_factory):
    run = run_suites(
        CANNED_SUITE,
        "-n",
        "2",
        tmp_path=tmp_path_factory.mktemp("canned"),
        report_dir=kept_reports(settings, "html-recorded-figures"),
        timeout=120,
    )
    return run, *view(run)


@pytest.fixture(scope="module")
def lab_run(browser_ready, engine, settings, tmp_path_factory):
    run = run_suites(
        *LAB_SUITES,
        tmp_path=tmp_path_factory.mktemp("lab-run"),
        report_dir=kept_reports(settings, "html-lab-run"),
    )
    return run, *view(run)


def test_recorded_figures_run_fails_on_its_planted_failure(canned):
    run, *_ = canned
    assert run.exit_code == 1, run.output[-3000:]
    assert run.failed() == ["test_node_daemon_json_keeps_the_mirror[node-3]"]


def test_verdict_comes_before_everything_else(canned):
    _, rendered, *_ = canned
    assert rendered["title"].startswith("FAILED: mirrorcheck mirror.test")
    assert rendered["verdictText"].startswith("FAILED: mirror.test (hermetic lab)")
    assert rendered["verdict"]["top"] < rendered["environment"]["top"]


def test_the_cause_shows_on_top_before_the_failed_checks(canned):
    _, rendered, *_ = canned
    (cause,) = rendered["causes"]
    assert "test_node_daemon_json_keeps_the_mirror[node-3]" in cause["text"]
    assert rendered["verdict"]["top"] < cause["top"] < rendered["failedTop"]["top"]


def test_node_table_renders_a_row_per_node_and_marks_the_failing_one(canned):
    _, rendered, *_ = canned
    assert [n["name"] for n in rendered["nodes"]] == NODES
    assert [n["bad"] for n in rendered["nodes"]] == [False, False, True]
    assert all(n["height"] > 0 for n in rendered["nodes"])


def test_chart_renders_a_bar_per_pull_with_the_first_pull_marked(canned):
    _, rendered, *_ = canned
    assert rendered["charts"] == 1
    bars = rendered["bars"]
    assert [b["first"] for b in bars] == [True, False, False]
    assert all(b["width"] > 0 and b["height"] > 0 for b in bars)
    assert bars[0]["height"] > bars[1]["height"]  # 9 requests against 1


def test_results_table_lists_every_check(canned):
    _, rendered, *_ = canned
    assert rendered["resultsRows"] == 7


def test_recorded_figures_report_has_no_console_errors_and_fetches_nothing(canned):
    _, _, errors, outside, _ = canned
    assert errors == []
    assert outside == []


def test_screenshot_is_kept_beside_the_report(canned):
    *_, screenshot = canned
    width, height = png_size(screenshot)
    assert width >= 800 and height >= 600


@pytest.mark.docker
def test_lab_run_of_the_reference_deployment_reports_passed(lab_run):
    run, rendered, *_ = lab_run
    assert run.exit_code == 0, run.output[-3000:]
    assert run.summary()["verdict"] == "passed"
    assert rendered["verdictText"].startswith("PASSED: mirror.test (hermetic lab)")


@pytest.mark.docker
def test_lab_run_report_renders_nodes_and_chart_without_console_errors(lab_run):
    _, rendered, errors, outside, screenshot = lab_run
    assert [n["name"] for n in rendered["nodes"]] == NODES
    assert rendered["charts"] >= 1, "the single-fetch suite recorded no per-pull figures"
    assert rendered["bars"][0]["first"] and all(b["height"] > 0 for b in rendered["bars"])
    assert errors == [] and outside == []
    assert png_size(screenshot)[0] >= 800

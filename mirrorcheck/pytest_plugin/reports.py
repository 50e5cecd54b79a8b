"""The reports of a run: junit.xml, summary.json, report.html and the terminal's last block.

Registered through the ``pytest11`` entry point ``mirrorcheck_reports``. A run of
the suites (their ``conftest.py`` calls ``write_reports``), or any run given
``--report-dir``, writes into the report dir (default ``reports/`` under pytest's
rootdir) unless the command line names its own paths:

- ``junit.xml``: xunit2, the suite named after the target, each test's figures
  as properties (JSON text for anything not a string), the target as suite properties;
- ``summary.json``: ``mirrorcheck.report.summary``'s document, valid against
  ``summary.schema.json``;
- ``report.html``: pytest-html (self-contained) with the verdict, the per-node
  table and the per-pull chart on top (``mirrorcheck.report.html``).

Figures travel in ``report.user_properties``, so they reach the controller
under xdist too; what the target says about itself (``record_target``) travels
in xdist's ``workeroutput``.

No secret leaves through a report: every test and collection report is
redacted (``mirrorcheck.report.redaction``) before any other plugin sees it,
and so are the target's account and the summary document.

A gate that checked nothing does not pass: a run that would exit 0 although
no check passed (every one skipped) exits 5, and its reports say so.

API for fixtures::

    from mirrorcheck.pytest_plugin.reports import record_target

    record_target(request.config, lab.describe())   # mode, mirror_url, registry_version, nodes
    record_target(request.config, {"nodes": [{"name": "node-1", "engine_version": "20.10.24"}]})
    record_target(request.config, live.describe)     # asked now, and again when the run ends
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mirrorcheck.options import OPTIONS_BY_NAME
from mirrorcheck.pytest_plugin.options import configure_settings, redactor_of
from mirrorcheck.pytest_plugin.reasons import reason_lines
from mirrorcheck.report import html, terminal
from mirrorcheck.report.redaction import redact_report
from mirrorcheck.report.summary import RunRecord, build_summary, jsonable, target_name
from mirrorcheck.settings import Settings

RUN_KEY = pytest.StashKey[RunRecord]()
LATER_KEY = pytest.StashKey[list]()
WORKER_OUTPUT_KEY = "mirrorcheck_targets"
SUMMARY_FILE = "summary.json"
XUNIT2_PROPERTY_WARNING = "record_property is incompatible with junit_family 'xunit2'"
# Properties the plugin adds to every lab test; the results table shows them in their own column.
AUTOMATIC_PROPERTIES = frozenset({"node", "mirror_url"})


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def record_target(
    config: pytest.Config, info: Mapping[str, object] | Callable[[], Mapping[str, object]]
) -> None:
    """Tell the reports about the target: ``Lab.describe()``, or any part of it.

    Keys replace earlier ones, except ``nodes`` (names, or dicts with ``name``
    and per-node fields such as ``engine_version``, ``effective_mirrors``,
    ``startup_error``), which merge by name. Call it from a fixture, any process.
    Given a callable (``live.describe``), it is asked now and again when the
    session ends, so what the run did since (the pulls made) is in the reports.
    """
    if callable(info):
        config.stash.setdefault(LATER_KEY, []).append(info)
        info = info()
    _tell(config, info)


def _tell(config: pytest.Config, info: Mapping[str, object]) -> None:
    """Hand the target's account, redacted, to this process's run and to xdist's controller."""
    info = jsonable(redactor_of(config).value(dict(info)))
    if _is_worker(config):
        output = getattr(config, "workeroutput", None)
        if output is not None:
            output.setdefault(WORKER_OUTPUT_KEY, []).append(info)
    if RUN_KEY in config.stash:
        config.stash[RUN_KEY].add_target(info)


def _record_targets_again(config: pytest.Config) -> None:
    """Ask the callables given to ``record_target`` once more, at the session's end."""
    for describe in config.stash.get(LATER_KEY, []):
        try:
            info = describe()
        except Exception:  # a target gone by the end keeps the account it gave first
            continue
        _tell(config, info)
    config.stash[LATER_KEY] = []


# -- configuration: defaults for junitxml and pytest-html ---------------------


def initial_target(settings: Settings) -> dict[str, object]:
    """What is known about the target before anything starts: the files under test.

    A run without --mirror-url is named "files only" until the lab describes
    itself (mode "hermetic"): a run of the file checks alone starts no lab.
    """
    if settings.live:
        mirror_url = settings.mirror_url or ""
        fqdn = urlsplit(mirror_url).hostname or mirror_url
    else:
        fqdn = settings.mirror_fqdn
        mirror_url = f"https://{fqdn}"
    target: dict[str, object] = {
        "mode": "live" if settings.live else "files",
        "fqdn": fqdn,
        "mirror_url": mirror_url,
        "files": {
            "registry_config": str(settings.registry_config_path),
            "daemon_json": str(settings.daemon_json_path),
            "daemon_json_baseline": _path_or_none(settings.daemon_json_baseline_path),
            "stack_file": _path_or_none(settings.stack_file_path),
        },
    }
    target["name"] = target_name(target)
    return target


def _path_or_none(path: Path | None) -> str | None:
    return str(path) if path else None


def write_reports(config: pytest.Config) -> None:
    """Make this run write junit.xml, summary.json and report.html into the report dir.

    Called by the suites' ``conftest.py`` (a run of the suites is a gate), and
    by this plugin when ``--report-dir`` is given; other pytest runs in the same
    environment (a project's own tests) write nothing. Idempotent.
    """
    if RUN_KEY in config.stash:
        return
    settings = configure_settings(config)
    target = redactor_of(config).value(initial_target(settings))
    run = RunRecord(target=target if isinstance(target, dict) else {})
    config.stash[RUN_KEY] = run
    # Figures are testcase properties, which the strict xunit2 schema lacks; pytest still
    # writes them and CI junit readers show them, so its per-test warning is noise here.
    config.addinivalue_line("filterwarnings", f"ignore:{XUNIT2_PROPERTY_WARNING}")
    if config.option.help or config.option.collectonly or _is_worker(config):
        return
    report_dir = settings.report_dir
    if not config.option.xmlpath:
        config.option.xmlpath = str(report_dir / "junit.xml")
    if config.pluginmanager.hasplugin("html") and not config.option.htmlpath:
        config.option.htmlpath = str(report_dir / "report.html")
        config.option.self_contained_html = True
    config.pluginmanager.register(ReportWriter(config, run, report_dir), "mirrorcheck-reports")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Before junitxml and pytest-html read their options: an explicit --report-dir writes.

    Every run gets its reports redacted, whether or not it writes the report files.
    """
    configure_settings(config)
    config.pluginmanager.register(Redaction(config), "mirrorcheck-redaction")
    if config.getoption(OPTIONS_BY_NAME["report-dir"].dest) or os.environ.get(
        OPTIONS_BY_NAME["report-dir"].env
    ):
        write_reports(config)


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session):
    """A worker asks the targets again before xdist sends its output to the controller."""
    if _is_worker(session.config):
        _record_targets_again(session.config)
    return (yield)


class Redaction:
    """Takes the secrets out of every report before the terminal, junit and pytest-html see it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport):
        redact_report(report, redactor_of(self.config))
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_collectreport(self, report: pytest.CollectReport):
        redact_report(report, redactor_of(self.config))
        return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests per node carry the node's name; lab tests carry the mirror URL (junit properties)."""
    present = {name for name, _ in item.user_properties}
    callspec = getattr(item, "callspec", None)
    node_name = callspec.params.get("node_name") if callspec is not None else None
    if isinstance(node_name, str) and "node" not in present:
        item.user_properties.append(("node", node_name))
    if RUN_KEY not in item.config.stash:
        return
    mirror_url = item.config.stash[RUN_KEY].target.get("mirror_url")
    if "lab" in getattr(item, "fixturenames", ()) and mirror_url and "mirror_url" not in present:
        item.user_properties.append(("mirror_url", mirror_url))


def _short_message(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return str(report.wasxfail or "expected failure")
    if report.passed:
        return ""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else report.longreprtext
    return text[:2000]


def _tools() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for package in ("mirrorcheck", "pytest", "pytest-html", "pytest-xdist"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def _junit(config: pytest.Config):
    """pytest's junit writer (``LogXML``) when junit.xml is written, else None.

    Reached through ``_pytest.junitxml.xml_key``, the key ``record_testsuite_property``
    uses: the one private name this plugin relies on.
    """
    try:
        from _pytest.junitxml import xml_key
    except ImportError:
        return None
    return config.stash.get(xml_key, None)


class ReportWriter:
    """The controller's half: collects every phase, then writes the reports at the end."""

    def __init__(self, config: pytest.Config, run: RunRecord, report_dir: Path) -> None:
        self.config = config
        self.run = run
        self.report_dir = report_dir
        self.summary: dict | None = None
        self.html_report: object | None = None

    # -- collecting --------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect a phase with its figures, then give junit JSON text for non-string values."""
        self.run.add_phase(
            report.nodeid,
            report.when,
            report.outcome,
            xfail=hasattr(report, "wasxfail"),
            duration=report.duration,
            message=_short_message(report),
            properties=report.user_properties,
        )
        report.user_properties = [
            (name, value if isinstance(value, str) else json.dumps(jsonable(value)))
            for name, value in report.user_properties
        ]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        """xdist: merge what each worker's mirrorcheck told about the target."""
        for info in (getattr(node, "workeroutput", None) or {}).get(WORKER_OUTPUT_KEY, []):
            self.run.add_target(info)

    # -- writing -----------------------------------------------------------------

    def _report_paths(self) -> dict[str, str]:
        option = self.config.option
        paths = {"summary": str(self.report_dir / SUMMARY_FILE)}
        if option.xmlpath:
            paths["junit"] = str(Path(option.xmlpath).resolve())
        if getattr(option, "htmlpath", None):
            paths["html"] = str(Path(option.htmlpath).resolve())
        return paths

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write summary.json and give junit its suite properties, before junit and html write.

        A run about to exit 0 with no check passed (all skipped) checked nothing: exit 5.
        """
        _record_targets_again(self.config)
        exit_code = int(exitstatus)
        if exit_code == pytest.ExitCode.OK and not self.run.checked_something():
            exit_code = session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
        document = build_summary(
            self.run,
            exit_code=exit_code,
            generated_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            tools=_tools(),
            reports=self._report_paths(),
        )
        self.summary = redactor_of(self.config).value(document)  # type: ignore[assignment]
        self.report_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.summary, indent=2) + "\n"
        (self.report_dir / SUMMARY_FILE).write_text(text, encoding="utf-8")
        self._junit_suite_properties(self.summary)

    def _junit_suite_properties(self, document: dict) -> None:
        """junit's suite is named after the target (unless junit_suite_name is set) and carries
        the target's mode, URL, versions and verdict as properties."""
        xml = _junit(self.config)
        if xml is None:
            return
        target = document["target"]
        if self.config.getini("junit_suite_name") == "pytest":
            # named at the end: the mode is known once the lab (if any) has described itself
            xml.suite_name = str(target.get("name", "mirrorcheck"))
        xml.add_global_property("target", target["name"])
        for name in ("mode", "mirror_url", "fqdn", "registry_version", "ssh_host_keys"):
            if target.get(name):
                xml.add_global_property(name, target[name])
        for fact in html.topology_facts(target):  # "topology: ...", "changed by the lab: ..."
            name, _, value = fact.partition(": ")
            xml.add_global_property(name.replace(" ", "_"), value)
        for node, version in document["versions"]["engine"].items():
            xml.add_global_property(f"engine_version_{node}", version)
        xml.add_global_property("verdict", document["verdict"])

    # -- pytest-html ---------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report) -> None:
        """The title names the target now and gets the verdict in front when the run ends."""
        report.title = f"mirrorcheck: {self.run.target.get('name', 'mirror')}"
        self.html_report = report

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list) -> None:
        if self.summary is None:
            return
        prefix.extend(html.summary_fragments(self.summary))
        if self.html_report is not None:
            self.html_report.title = html.title(self.summary)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="node">Node</th>')
        cells.insert(4, "<th>Figures</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report, cells: list) -> None:
        check = self.run.checks.get(report.nodeid)
        figures = check.figures if check is not None else {}
        cells.insert(2, html.node_cell(str(figures.get("node") or "")))
        cells.insert(4, html.figures_cell(figures, hidden=AUTOMATIC_PROPERTIES))

    # -- terminal ------------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.summary is None:
            return
        terminalreporter.write_sep("=", "mirrorcheck summary")
        for line, colour in terminal.summary_block(self.summary):
            terminalreporter.write_line(line, **({colour: True} if colour else {}))
        # Why a check neither passed nor failed, unless pytest's -r lists that kind already.
        reportchars = getattr(terminalreporter, "reportchars", "")
        for line in reason_lines(terminalreporter.stats, reportchars):
            terminalreporter.write_line(line, yellow=True)

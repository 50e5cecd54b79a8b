"""The pytest wiring: options, the run's settings and id, collection order, the final sweep.

Registered through the ``pytest11`` entry point ``mirrorcheck``. It defines no
fixtures: those live in the checkout's ``fixtures/`` folder and read what this
module stashes (``settings_of(config)``, ``run_id_of(config)``).
"""

from __future__ import annotations

import datetime
import json
import os
import signal
from pathlib import Path
from typing import NoReturn

import pytest

from mirrorcheck.options import OPTIONS, OPTIONS_BY_NAME, REPORT_DIR_NAME, Option
from mirrorcheck.report.summary import usage_error_summary
from mirrorcheck.settings import Settings, report_dir_problem
from mirrorcheck.targets.lab.images.supply import ImageSupplyError, engine_or_explain
from mirrorcheck.targets.lab.labels import new_run_id
from mirrorcheck.targets.lab.sweeper import sweep_run
from mirrorcheck.targets.lab.throwaway_nodes import MARKER as THROWAWAY_MARKER
from mirrorcheck.text.redact import Redactor, secrets_in_text

SETTINGS_KEY = pytest.StashKey[Settings]()
REDACTOR_KEY = pytest.StashKey[Redactor]()
# The reports a run of the suites writes by default; a usage error leaves none of an older run.
DEFAULT_REPORT_FILES = ("junit.xml", "report.html")
LAB_USED_KEY = pytest.StashKey[bool]()
RUN_ID_KEY = pytest.StashKey[str]()
OWN_EVIDENCE = (
    "own_evidence: the check's claim is the node's own configuration (its files, the mirrors "
    "its daemon lists): it gets the node even when the node is known not to use the mirror"
)
HERMETIC_ONLY = (
    "hermetic_only: proves something only the hermetic lab can show; skipped in live mode"
)

# A check that uses none of these reads the files under test only (lints, the daemon.json reader).
DEPLOYMENT_FIXTURES = frozenset({"deployment", "lab", "docker_client"})


def in_ci() -> bool:
    """Whether this run is a CI job (``CI`` set to 1/true/yes, as CI services do)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def fail_or_skip(message: str) -> None:
    """In CI a missing prerequisite is a failure; elsewhere the project's own tests may skip."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def settings_of(config: pytest.Config) -> Settings:
    """The run's ``Settings``, built once in ``pytest_configure``."""
    return config.stash[SETTINGS_KEY]


def run_id_of(config: pytest.Config) -> str:
    """The run's id, shared by xdist's controller and workers (labels, sweeps)."""
    return config.stash[RUN_ID_KEY]


# What each option's value is, as ``pytest --help`` shows it (``--nodes=N``); by kind otherwise.
METAVARS = {
    "registry-config": "FILE",
    "daemon-json": "FILE",
    "daemon-json-baseline": "FILE",
    "stack-file": "FILE",
    "mirror-fqdn": "HOST",
    "engine": "V[,V...]",
    "image-store": "containerd|classic",
    "topology": "swarm|plain",
    "mirror-url": "URL",
    "node": "URL",
    "ca-file": "PEM",
    "mirror-address": "HOST:PORT",
    "mirror-debug-url": "URL",
    "mirror-storage": "URL",
    "mirror-access-log": "URL",
    "registry-version": "V",
    "probe-image": "IMAGE",
    "registry-image": "IMAGE",
    "node-image": "IMAGE",
    "proxy-image": "IMAGE",
    "allow-daemon-key": "KEY",
    "min-cert-days": "DAYS",
    "lab-fault": "FAULT",
    "report-dir": "DIR",
}
_METAVARS_BY_KIND = {"int": "N", "float": "X"}


def metavar_of(option: Option) -> str:
    """The placeholder ``pytest --help`` shows for the option's value (never its env var)."""
    return getattr(option, "metavar", None) or METAVARS.get(
        option.name, _METAVARS_BY_KIND.get(option.kind, "VALUE")
    )


def help_of(option: Option) -> str:
    """The option's help, with its environment variable and its default."""
    help_text = f"{option.help} (env {option.env}"
    if option.default not in (None, False):
        help_text += f"; default: {option.default}"
    return help_text + ")"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mirrorcheck", "mirrorcheck: registry mirror verification")
    for option in OPTIONS:
        flag, help_text = f"--{option.name}", help_of(option)
        if option.kind == "flag":
            group.addoption(flag, dest=option.dest, action="store_true", help=help_text)
            continue
        action = "append" if option.kind == "list" else "store"
        group.addoption(
            flag, dest=option.dest, action=action, metavar=metavar_of(option), help=help_text
        )


def redactor_of(config: pytest.Config) -> Redactor:
    """The run's ``Redactor``: knows the secrets of the options and of the files under test."""
    if REDACTOR_KEY not in config.stash:
        settings = config.stash.get(SETTINGS_KEY, None)
        config.stash[REDACTOR_KEY] = Redactor(settings.known_secrets() if settings else ())
    return config.stash[REDACTOR_KEY]


def configure_settings(config: pytest.Config) -> Settings:
    """The run's ``Settings`` from its options, built once; a usage error names each fix.

    After a usage error no report of an older run is left in the report dir to
    pass for this one: its summary.json says "usage_error" with the problems,
    its junit.xml and report.html are removed (see ``replace_stale_reports``).
    """
    if SETTINGS_KEY in config.stash:
        return config.stash[SETTINGS_KEY]
    given = {option.name: config.getoption(option.dest) for option in OPTIONS}
    try:
        settings = Settings.from_mapping(given, rootdir=config.rootpath)
    except (ValueError, TypeError) as error:
        _usage_error(config, given, Redactor(_given_secrets(given)), [str(error)])
    problems = settings.problems()
    if problems:
        _usage_error(config, given, Redactor(settings.known_secrets()), problems)
    config.stash[SETTINGS_KEY] = settings
    return settings


def _given_secrets(given: dict[str, object]) -> set[str]:
    found: set[str] = set()
    for value in given.values():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                found.update(secrets_in_text(text))
    return found


def _usage_error(
    config: pytest.Config, given: dict[str, object], redactor: Redactor, problems: list[str]
) -> NoReturn:
    problems = [redactor.text(p) for p in problems]
    option = OPTIONS_BY_NAME["report-dir"]
    explicit = given.get(option.name) or os.environ.get(option.env)
    report_dir = Path(str(explicit)).resolve() if explicit else config.rootpath / REPORT_DIR_NAME
    if not getattr(config, "workerinput", None):
        replace_stale_reports(report_dir, problems, written_anyway=bool(explicit))
    raise pytest.UsageError("mirrorcheck: " + "\nmirrorcheck: ".join(problems))


def replace_stale_reports(report_dir: Path, problems: list[str], written_anyway: bool) -> None:
    """A usage error's summary.json in ``report_dir``, without an older run's junit and html.

    Written when the run would have written reports (``written_anyway``: an
    explicit --report-dir) or when the folder holds an older summary.json,
    which would otherwise pass for this run's. Nothing when the folder is unusable.
    """
    summary = report_dir / "summary.json"
    if not (written_anyway or summary.is_file()) or report_dir_problem(report_dir):
        return
    for name in DEFAULT_REPORT_FILES:
        (report_dir / name).unlink(missing_ok=True)
    document = usage_error_summary(
        problems,
        generated_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        summary_path=str(summary),
    )
    summary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", HERMETIC_ONLY)
    config.addinivalue_line("markers", OWN_EVIDENCE)
    config.addinivalue_line("markers", THROWAWAY_MARKER)
    configure_settings(config)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.stash[RUN_ID_KEY] = workerinput["testrunuid"]
        return
    # xdist hands its --testrunuid to every worker: one id labels the whole run.
    run_id = getattr(config.option, "testrunuid", None) or new_run_id()
    if hasattr(config.option, "testrunuid"):
        config.option.testrunuid = run_id
    config.stash[RUN_ID_KEY] = run_id
    # CI runners stop jobs with SIGTERM: turn it into the Ctrl-C path, which
    # tears the lab down, instead of dying with containers left running.
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Backstop after the fixtures' own teardown: nothing of this run may remain."""
    if getattr(config, "workerinput", None) is not None or RUN_ID_KEY not in config.stash:
        return
    if not config.stash.get(LAB_USED_KEY, False):
        return
    try:
        client = engine_or_explain()
    except ImageSupplyError:
        return
    sweep_run(client, config.stash[RUN_ID_KEY])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test id per node: ``[node-1]``, ``[node-2]``, ... so a report shows which is wrong."""
    if "node_name" in metafunc.fixturenames:
        settings = settings_of(metafunc.config)
        # Live mode without --node stopped earlier, in Settings.problems().
        if settings.live:
            names = settings.live_nodes
        else:
            names = [f"node-{i}" for i in range(1, settings.node_count + 1)]
        # A node URL's secrets stay out of the test ids (every report names them).
        redactor = redactor_of(metafunc.config)
        ids = [redactor.text(name) for name in names]
        metafunc.parametrize("node_name", names, ids=ids, scope="session")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Checks of the files alone run first: a broken file fails in a second, before the lab.

    In live mode a check marked ``hermetic_only`` is skipped, saying why.
    """
    items.sort(key=lambda item: bool(DEPLOYMENT_FIXTURES & set(getattr(item, "fixturenames", ()))))
    if settings_of(config).live:
        skip = pytest.mark.skip(
            reason="needs the hermetic lab (its upstream and the mirror's internals): live mode "
            "cannot see them; run without --mirror-url to check this against your files"
        )
        for item in items:
            if item.get_closest_marker("hermetic_only"):
                item.add_marker(skip)

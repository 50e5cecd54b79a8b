"""mirrorcheck installs next to PyPI's ``fixtures`` package, in either order, and works
from any directory: the pytest plugin loads from its entry point alone and the
reference example ships inside the package.

No Docker; needs pip's index (PyPI or its configured mirror). One virtualenv per
install order, both made at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The checkout is copied before pip builds it, so the build leaves nothing in it.
NOT_PACKAGED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "reports", ".*_cache"
)

SHOW_SETTINGS = (
    "from mirrorcheck.settings import Settings; s = Settings.from_mapping({}); "
    "print(s.daemon_json_path); print(s.report_dir)"
)


def _clean_environment() -> dict[str, str]:
    """This process's environment without what would leak the checkout or its settings."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MIRRORCHECK_", "PYTEST_", "VIRTUAL_ENV", "PYTHONPATH"))
    }


def _run(args: list[str | Path], cwd: Path, timeout: float = 600) -> str:
    """Runs a command; fails the test with its output when it exits non-zero."""
    run = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_clean_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert run.returncode == 0, (
        f"{' '.join(str(a) for a in args)} exited {run.returncode} in {cwd}:\n"
        f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    )
    return run.stdout


def _source_copy(folder: Path) -> Path:
    """The checkout's packaged files under ``folder``: pip's build writes into its source."""
    copy = folder / "mirrorcheck"
    shutil.copytree(PROJECT_ROOT, copy, symlinks=True, ignore=NOT_PACKAGED)
    return copy


def _install(fixtures_first: bool, tmp_path: Path) -> None:
    """A fresh virtualenv with both packages in that order; mirrorcheck works from elsewhere."""
    source_copy = _source_copy(tmp_path)  # one each: two builds in one source would collide
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    installs = [["fixtures"], [source_copy]]
    for packages in installs if fixtures_first else reversed(installs):
        _run([python, "-m", "pip", "install", "--quiet", *packages], cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run([python, "-c", "import fixtures; fixtures.Fixture"], cwd=elsewhere)
    _run([python, "-c", "import mirrorcheck"], cwd=elsewhere)
    _run([python, "-m", "pip", "check"], cwd=elsewhere)

    help_text = _run([python, "-m", "pytest", "--help"], cwd=elsewhere)
    assert "--mirror-url" in help_text, f"pytest --help lists no --mirror-url:\n{help_text}"

    daemon_json, report_dir = _run([python, "-c", SHOW_SETTINGS], cwd=elsewhere).split()
    assert Path(daemon_json).is_file(), f"the packaged example {daemon_json} is missing"
    assert Path(daemon_json).is_relative_to(venv), f"{daemon_json} is not the installed copy"
    assert Path(report_dir).is_relative_to(elsewhere.resolve()), (
        f"the report dir {report_dir} is not under the current directory {elsewhere}"
    )


@pytest.fixture(scope="module")
def installs(tmp_path_factory) -> Iterator[dict[bool, Future[None]]]:
    """Both install orders, started together (pip waits on its index most of the time)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {
            first: pool.submit(_install, first, tmp_path_factory.mktemp("install"))
            for first in (True, False)
        }


@pytest.mark.parametrize("fixtures_first", [True, False], ids=["fixtures-first", "checkout-first"])
def test_installs_beside_pypi_fixtures(fixtures_first: bool, installs) -> None:
    installs[fixtures_first].result()  # raises what failed, with the command's output

"""The house rules: import layers, module sizes, top-level imports, rules gated by suite checks.

These read the checkout, not a deployment: no Docker, a second or two.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from mirrorcheck.findings import Rule

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LIBRARY = PROJECT_ROOT / "mirrorcheck"
SUITES = PROJECT_ROOT / "suites"

MAX_LIBRARY_MODULE_LINES = 420
MAX_SUITE_FILE_LINES = 260


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _oversized(paths: list[Path], limit: int) -> list[str]:
    return [
        f"{path.relative_to(PROJECT_ROOT)}: {lines} lines"
        for path in sorted(paths)
        if (lines := _line_count(path)) > limit
    ]


def test_import_layers_hold() -> None:
    """The contracts in pyproject.toml's [tool.importlinter] are kept."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.fail(f"{lint_imports} is missing: pip install -e '.[dev]' installs import-linter")
    run = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = run.stdout[run.stdout.find("Contracts") :]  # from its results, past the banner
    assert run.returncode == 0, f"lint-imports failed:\n{report}\n{run.stderr}"


def test_library_modules_stay_small() -> None:
    offenders = _oversized(list(LIBRARY.rglob("*.py")), MAX_LIBRARY_MODULE_LINES)
    assert not offenders, (
        f"modules of mirrorcheck/ over {MAX_LIBRARY_MODULE_LINES} lines; split each by job:\n"
        + "\n".join(offenders)
    )


def test_suite_files_stay_small() -> None:
    offenders = _oversized(list(SUITES.rglob("*.py")), MAX_SUITE_FILE_LINES)
    assert not offenders, (
        f"suite files over {MAX_SUITE_FILE_LINES} lines; split each by concern:\n"
        + "\n".join(offenders)
    )


def _local_imports(path: Path) -> list[str]:
    """``path:line module`` for each import of our own code inside a function body."""
    found = []
    for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found.extend(
                f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in ("mirrorcheck", "fixtures")
            )
    return found


def test_no_function_local_imports_of_our_modules() -> None:
    """A function-local import hides a cycle between layers; the code moves instead."""
    places = [LIBRARY, PROJECT_ROOT / "fixtures", SUITES]
    offenders = sorted(
        {hit for place in places for path in place.rglob("*.py") for hit in _local_imports(path)}
    )
    assert not offenders, (
        "imports of mirrorcheck/fixtures inside functions; import at the top of the module "
        "(move the code if that makes a cycle):\n" + "\n".join(offenders)
    )


def _catalog_modules() -> list[str]:
    """Dotted names of every ``mirrorcheck/rules/**/catalog.py``."""
    return sorted(
        ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        for path in (LIBRARY / "rules").rglob("catalog.py")
    )


def _declared_rules() -> list[tuple[str, Rule]]:
    """(catalog module, rule) for every rule in a catalog's module-level ``RULES``."""
    declared: list[tuple[str, Rule]] = []
    for name in _catalog_modules():
        table = getattr(importlib.import_module(name), "RULES", None)
        assert isinstance(table, dict), f"{name} declares no module-level RULES dict"
        for rule in table.values():
            assert isinstance(rule, Rule), f"{name}.RULES holds {rule!r}, not a Rule"
            declared.append((name, rule))
    return declared


def _test_names(path: Path) -> set[str]:
    """``name`` and ``Class::name`` for each test function defined in a suite file."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return {name for name in names if name.split("::")[-1].startswith("test")}


def _gate_problem(gate: str) -> str | None:
    """Why ``suites/<file>.py::<test function>`` names no suite check, or None."""
    file_part, separator, name = gate.partition("::")
    if not separator or not name or not file_part.startswith("suites/"):
        return "is not of the form suites/<file>.py::<test function>"
    path = PROJECT_ROOT / file_part
    if not path.is_file():
        return f"names {file_part}, which does not exist"
    if name.split("[")[0] not in _test_names(path):
        return f"names {name}, which is not a test function in {file_part}"
    return None


def test_rule_catalogs_exist() -> None:
    assert _catalog_modules(), (
        "no mirrorcheck/rules/**/catalog.py: each rules package declares its rules once "
        "as a module-level RULES = rule_table(...) in its catalog.py"
    )


def test_every_rule_is_gated_by_a_suite_check() -> None:
    problems: list[str] = []
    for module, rule in _declared_rules():
        if not rule.gated_by:
            problems.append(f"{module}: {rule.code} is gated by no suite check")
        for gate in rule.gated_by:
            if (problem := _gate_problem(gate)) is not None:
                problems.append(f"{module}: {rule.code} gate {gate!r} {problem}")
    assert not problems, (
        "rules must name the suite checks that fail on their errors "
        "(gated_by=('suites/<file>.py::<test function>', ...)):\n" + "\n".join(problems)
    )

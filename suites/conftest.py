"""The suites are mirrorcheck's checks: a run of them is a gate and writes its reports."""

import pytest

from mirrorcheck.pytest_plugin.reports import write_reports


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    write_reports(config)

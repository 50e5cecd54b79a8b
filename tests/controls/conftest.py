"""Controls start labs of their own: they need a Docker engine and the lab's images."""

from __future__ import annotations

import pytest

from mirrorcheck.pytest_plugin.options import fail_or_skip
from mirrorcheck.targets.lab.images.supply import ImageSupplyError, engine_or_explain


@pytest.fixture(scope="session")
def engine():
    """A Docker engine; in CI its absence fails, elsewhere these controls skip."""
    try:
        return engine_or_explain()
    except ImageSupplyError as error:
        fail_or_skip(str(error))

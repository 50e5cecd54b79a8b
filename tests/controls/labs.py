"""Labs the controls start for themselves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from mirrorcheck.pytest_plugin.options import fail_or_skip
from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab.configure import lab_spec
from mirrorcheck.targets.lab.images.supply import ImageSupply, ImageSupplyError
from mirrorcheck.targets.lab.labels import RunLabels
from mirrorcheck.targets.lab.topology import Lab


@contextmanager
def one_node_lab(engine, purpose: str) -> Iterator[Lab]:
    """A started plain-topology lab with one node of the default engine, removed after;
    its containers are named ``mirrorcheck-<purpose>-<6 hex>-...``. Without the lab's
    images: a failure in CI, a skip elsewhere (``fail_or_skip``)."""
    try:
        images = ImageSupply(engine).resolve_all()
    except ImageSupplyError as error:
        fail_or_skip(str(error))
    settings = Settings.from_mapping({"nodes": "1", "topology": "plain"})
    prefix = f"mirrorcheck-{purpose}-{uuid.uuid4().hex[:6]}"
    spec = lab_spec(settings, images, RunLabels.for_this_process(), name_prefix=prefix)
    with Lab(engine, spec) as started:
        yield started

"""Docker Engine versions the lab can run, as data, with the source of each fact.

Everything that differs by engine (the Debian suite a node image is built
from, the image stores it offers, the log lines of a fallback) lives in one
table here; rules and the lab read it.
"""

from __future__ import annotations

DEFAULT_ENGINE = "20.10"
DEFAULT_IMAGE_STORE = "classic"
IMAGE_STORES = ("containerd", "classic")


def engine_problems(engines: list[str], image_store: str | None) -> list[str]:
    """What is wrong with ``--engine`` / ``--image-store``, each with its fix; [] when fine."""
    return []

"""Docker Engine release lines, as the daemon.json rules compare them.

Usage::

    from mirrorcheck.rules.daemon_json.engine import OLDEST, EngineVersion, engine_or_default

    EngineVersion.parse("20.10.24+dfsg1")     # EngineVersion(major=20, minor=10)
    EngineVersion.parse("25.0") >= OLDEST     # True
    engine_or_default("")                     # DEFAULT_ENGINE: docker info gave no version
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mirrorcheck.versions import DEFAULT_ENGINE as LAB_DEFAULT_ENGINE
from mirrorcheck.versions import SINCE


@dataclass(frozen=True, order=True)
class EngineVersion:
    """A Docker Engine release line, ``major.minor`` (patch releases do not change keys)."""

    major: int
    minor: int = 0

    @classmethod
    def parse(cls, text: str | EngineVersion) -> EngineVersion:
        """``"20.10"``, ``"20.10.24+dfsg1"``, ``"v25.0.3"`` or ``"27"``; ValueError otherwise."""
        if isinstance(text, EngineVersion):
            return text
        match = re.fullmatch(r"\s*v?(\d+)(?:\.(\d+))?(?:\.\d+)?(?:[-+~].*)?\s*", str(text))
        if not match:
            raise ValueError(f"not a Docker Engine version: {text!r} (expected e.g. 20.10 or 25.0)")
        return cls(int(match.group(1)), int(match.group(2) or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


OLDEST = EngineVersion(20, 10)
"""The oldest engine the key table covers; ``since=OLDEST`` means "20.10 or earlier"."""

CONTAINERD_STORE_SINCE = EngineVersion(24, 0)
"""The first engine with the containerd image store (Docker Engine 24.0 release notes)."""

VALIDATE_FROM = EngineVersion.parse(SINCE["validate_flag"].version)
"""The first engine with ``dockerd --validate`` (``mirrorcheck.versions.SINCE``)."""

MIRROR_VALIDATION_FROM = EngineVersion.parse(SINCE["mirror_validation"].version)
"""From here ``dockerd --validate`` checks ``registry-mirrors`` too (moby#50233, 28.3);
before, it answers ``configuration OK`` for a mirror dockerd then refuses to start with
(measured here on 26.1.5: no scheme, userinfo, query, fragment, the guide's placeholder)."""

DEFAULT_ENGINE = EngineVersion.parse(LAB_DEFAULT_ENGINE)
"""The engine of the lab's nodes unless ``--engine`` says otherwise (``mirrorcheck.versions``).

``mirrorcheck lint daemon-json`` judges a file as this engine reads it unless
``--engine-version`` names another; a node that reports no version is judged so too.
"""


def engine_or_default(server_version: object) -> EngineVersion:
    """The engine a node reports (``docker info`` ServerVersion), or :data:`DEFAULT_ENGINE`.

    A missing or unparsable version falls back rather than failing: the file is
    then judged as the lab's engine would read it.
    """
    try:
        return EngineVersion.parse(str(server_version or ""))
    except ValueError:
        return DEFAULT_ENGINE

"""Distribution (registry) versions: parsed, compared, ranged, and read from the registry's log.

Usage::

    from mirrorcheck.rules.registry_version import parse_version, version_from_log, version_range

    version = version_from_log('time="..." level=info msg="listening" version=2.8.2+ds1')
    version == parse_version("2.8.2")                           # True: build metadata ignored
    version in version_range(until="3.0.0-alpha.1")            # True
    str(version_range(since="3.0.0"))                           # '>= 3.0.0'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import total_ordering

_VERSION_RE = re.compile(
    r"""^\s*v?
    (?P<major>\d+)
    (?:\.(?P<minor>\d+))?
    (?:\.(?P<patch>\d+))?
    (?:-(?P<pre>[0-9A-Za-z.-]+))?
    (?:\+(?P<build>[0-9A-Za-z.~-]+))?
    \s*$""",
    re.VERBOSE,
)


def _prerelease_key(pre: tuple[str, ...]) -> tuple:
    # Semver ordering: a release sorts after its pre-releases; numeric
    # identifiers compare as numbers and before alphanumeric ones.
    if not pre:
        return (1,)
    return (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre))


@total_ordering
@dataclass(frozen=True)
class RegistryVersion:
    """A distribution version: ``2.8.2+ds1``, ``v3.0.0``, ``3.0.0-rc.1``, ``2.8``.

    Missing minor/patch parts read as 0. Build metadata (``+ds1``, a Debian
    packaging suffix) is kept in ``text`` but ignored when comparing.
    """

    major: int
    minor: int = 0
    patch: int = 0
    prerelease: tuple[str, ...] = ()
    text: str = field(default="", compare=False)

    def _key(self) -> tuple:
        return (self.major, self.minor, self.patch, _prerelease_key(self.prerelease))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, RegistryVersion):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RegistryVersion):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text or f"{self.major}.{self.minor}.{self.patch}"


def parse_version(text: str | RegistryVersion | None) -> RegistryVersion | None:
    """``"2.8.2+ds1"`` -> RegistryVersion(2, 8, 2); ``None`` when it is not a version.

    >>> parse_version("v3.0.0") > parse_version("2.8.2+ds1")
    True
    """
    if text is None or isinstance(text, RegistryVersion):
        return text
    match = _VERSION_RE.match(str(text))
    if not match:
        return None
    pre = match.group("pre")
    return RegistryVersion(
        major=int(match.group("major")),
        minor=int(match.group("minor") or 0),
        patch=int(match.group("patch") or 0),
        prerelease=tuple(pre.split(".")) if pre else (),
        text=str(text).strip(),
    )


# ``version=2.8.2+ds1`` in logfmt lines; ``go.version=go1.19`` must not match.
_LOGFMT_VERSION_RE = re.compile(r'(?<![\w.])version="?(v?\d+\.\d+[^\s",]*)')
# ``registry github.com/docker/distribution v2.8.3`` from ``registry --version``.
_CLI_VERSION_RE = re.compile(r"\bdistribution(?:/v\d+)?\s+(v?\d+\.\d+\S*)")


def version_from_log(text: str) -> RegistryVersion | None:
    """The registry's own version from its start-up log or ``--version`` output.

    Accepts logfmt lines (``... service=registry version=2.8.2+ds1``), JSON
    lines (``{"go.version": "go1.19", ..., "version": "2.8.2+ds1"}``) and
    ``registry --version`` output. The first version found wins; ``None``
    when the text names none.
    """
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                record = json.loads(stripped)
            except ValueError:
                record = None
            if isinstance(record, dict) and isinstance(record.get("version"), str):
                version = parse_version(record["version"])
                if version is not None:
                    return version
                continue
        for pattern in (_LOGFMT_VERSION_RE, _CLI_VERSION_RE):
            match = pattern.search(line)
            if match:
                version = parse_version(match.group(1))
                if version is not None:
                    return version
    return None


@dataclass(frozen=True)
class VersionRange:
    """``since <= version < until``; ``None`` bounds are open."""

    since: RegistryVersion | None = None
    until: RegistryVersion | None = None

    def __contains__(self, version: RegistryVersion) -> bool:
        above = self.since is None or version >= self.since
        below = self.until is None or version < self.until
        return above and below

    def __str__(self) -> str:
        low = f">= {self.since}" if self.since else ""
        high = f"< {self.until}" if self.until else ""
        return ", ".join(p for p in (low, high) if p) or "all versions"


def version_range(since: str | None = None, until: str | None = None) -> VersionRange:
    """``since <= version < until`` from version text; a ``None`` bound is open."""
    return VersionRange(parse_version(since), parse_version(until))

"""Where the daemon.json reader's verdict and dockerd's differ, rule by rule.

:data:`DOCKERD_DIFFERENCES` says, code by code, where the reader refuses a
file dockerd starts with (it is stricter on purpose: a setting that silently
does nothing is a finding) or accepts one dockerd refuses. The rules
themselves are declared in :mod:`mirrorcheck.rules.daemon_json.catalog`.

Usage::

    from mirrorcheck.rules.daemon_json.codes import DOCKERD_DIFFERENCES
    from mirrorcheck.rules.daemon_json.keys import EngineVersion

    difference = DOCKERD_DIFFERENCES["daemon-json/trailing-data"]
    difference.dockerd_starts, difference.dockerd
    # (True, 'reads the first JSON value and ignores the rest (json.Decoder)')
    difference.applies_to(EngineVersion(23, 0))   # False: 23.0 refuses it too

Measured against dockerd 20.10 (tests/corpus/daemon_json/cases.json); the
later engines' behaviour is from moby/moby ``daemon/config/config.go``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mirrorcheck.findings import Rule
from mirrorcheck.rules.daemon_json import catalog
from mirrorcheck.rules.daemon_json.engine import EngineVersion
from mirrorcheck.rules.daemon_json.reader import STRICT_FROM


@dataclass(frozen=True)
class DockerdDifference:
    """A place where the reader and dockerd disagree on whether the file is fine.

    ``dockerd_starts``: what dockerd does while the reader reports an error
    (True: the reader is stricter), or starts while the reader accepts
    (False: the reader is more lenient). ``until``: the first engine where
    dockerd agrees with the reader, if any.
    """

    rule: Rule
    dockerd_starts: bool
    dockerd: str
    reader: str
    until: EngineVersion | None = None

    @property
    def code(self) -> str:
        """The code of the rule whose findings differ from dockerd's verdict."""
        return self.rule.code

    def applies_to(self, engine: EngineVersion) -> bool:
        """True when ``engine`` still behaves as :attr:`dockerd` says."""
        return self.until is None or engine < self.until


_DIFFERENCES = (
    DockerdDifference(
        catalog.DUPLICATE_KEY,
        True,
        "keeps the last value (Go's encoding/json)",
        "refuses: one of the two values is silently lost",
    ),
    DockerdDifference(
        catalog.TRAILING_DATA,
        True,
        "reads the first JSON value and ignores the rest (json.Decoder)",
        "refuses: the rest was meant to be read",
        until=STRICT_FROM,
    ),
    DockerdDifference(
        catalog.TOO_DEEP,
        True,
        "reads up to 10000 levels (Go's encoding/json); it may start when the nesting sits "
        "where it ignores unknown fields",
        "refuses past 100 levels: no setting nests like this",
    ),
    DockerdDifference(
        catalog.NOT_UTF8,
        True,
        "replaces invalid bytes with U+FFFD",
        "refuses: the value is not what was written",
        until=STRICT_FROM,
    ),
    DockerdDifference(
        catalog.NULL_DOCUMENT,
        True,
        "starts with defaults",
        "refuses: a daemon.json of `null` is a mistake",
    ),
    DockerdDifference(
        catalog.FLAG_NAME_KEY,
        True,
        "accepts a flag's name (registry-mirror, insecure-registry, label, ...) and ignores it",
        "refuses: the setting silently does nothing",
    ),
    DockerdDifference(
        catalog.IGNORED_KEY,
        True,
        "skips an unknown key whose value is an object of known names (it checks the inner names)",
        "refuses: the key does nothing",
    ),
    DockerdDifference(
        catalog.MIRROR_SCHEME_CASE,
        True,
        "accepts HTTPS://, then prefixes https:// again when pulling: the mirror is never reached",
        "refuses",
    ),
    DockerdDifference(
        catalog.MIRROR_NO_HOST,
        True,
        "accepts https:// without a host",
        "refuses: there is nothing to connect to",
    ),
    DockerdDifference(
        catalog.MIRROR_QUERY,
        True,
        "accepts a bare trailing '?' and keeps it (https://host?/)",
        "refuses any '?'",
    ),
    DockerdDifference(
        catalog.MIRROR_FRAGMENT,
        True,
        "accepts a bare trailing '#'",
        "refuses any '#'",
    ),
    DockerdDifference(
        catalog.MIRROR_PLACEHOLDER,
        True,
        "refuses the guide's placeholder (its spaces break the URL) but accepts one without spaces",
        "refuses every '<...>' placeholder",
    ),
    DockerdDifference(
        catalog.MIRROR_MISSING, True, "has no notion of an expected mirror", "refuses"
    ),
    DockerdDifference(
        catalog.MIRROR_NOT_FIRST, True, "tries mirrors in the listed order", "refuses"
    ),
    DockerdDifference(
        catalog.MIRROR_INSECURE,
        True,
        "skips certificate checks for the mirror",
        "refuses: a bad certificate goes unnoticed",
    ),
    DockerdDifference(catalog.BASELINE_REMOVED, True, "has no notion of a baseline", "refuses"),
    DockerdDifference(catalog.BASELINE_ADDED, True, "has no notion of a baseline", "refuses"),
    DockerdDifference(catalog.BASELINE_CHANGED, True, "has no notion of a baseline", "refuses"),
    DockerdDifference(catalog.BASELINE_INVALID, True, "has no notion of a baseline", "refuses"),
    DockerdDifference(
        catalog.ALLOWED_KEY,
        False,
        "refuses a fork's key such as signature-verification",
        "accepts it when told to with --allow-daemon-key",
    ),
)

DOCKERD_DIFFERENCES: Mapping[str, DockerdDifference] = {d.code: d for d in _DIFFERENCES}
"""Where the reader's verdict and dockerd's (20.10 unless ``until`` says) differ, by code.

An engine-oracle test may rely on this: for a file where dockerd starts but
the reader reports errors, every error's code is here with
``dockerd_starts=True``; for a file the reader accepts but dockerd refuses,
a finding's code is here with ``dockerd_starts=False``.
"""

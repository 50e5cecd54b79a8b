"""The finding codes of the daemon.json reader, and where its verdict and dockerd's differ.

:data:`FINDING_CODES` lists every code the reader emits, with what it means;
:data:`DOCKERD_DIFFERENCES` says, code by code, where the reader refuses a
file dockerd starts with (it is stricter on purpose: a setting that silently
does nothing is a finding) or accepts one dockerd refuses.

Usage::

    from mirrorcheck.rules.daemon_json.codes import DOCKERD_DIFFERENCES, FINDING_CODES
    from mirrorcheck.rules.daemon_json.keys import EngineVersion

    FINDING_CODES["daemon-json/flag-name-key"]
    # "a command-line flag's name used as a key; dockerd ignores it"
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

from mirrorcheck.rules.daemon_json.keys import EngineVersion
from mirrorcheck.rules.daemon_json.reader import STRICT_FROM

FINDING_CODES: Mapping[str, str] = {
    "daemon-json/unreadable": "the file cannot be read (missing, a directory, no permission)",
    "daemon-json/empty": "the file is empty or only whitespace",
    "daemon-json/bom": "the file starts with a UTF-8 byte-order mark",
    "daemon-json/utf16": "the file is UTF-16",
    "daemon-json/not-utf8": "the file holds bytes that are not UTF-8",
    "daemon-json/invalid-json": "a syntax error (missing comma, trailing comma, comment, ...)",
    "daemon-json/trailing-data": "something follows the closing brace",
    "daemon-json/not-object": "the top level is not a JSON object",
    "daemon-json/null-document": "the whole file is `null`",
    "daemon-json/duplicate-key": "a key appears twice in one object",
    "daemon-json/unknown-key": "dockerd knows no such key and refuses to start",
    "daemon-json/ignored-key": "an unknown key dockerd skips without a word",
    "daemon-json/flag-name-key": "a command-line flag's name used as a key; dockerd ignores it",
    "daemon-json/fork-key": "a key from a downstream fork that upstream dockerd refuses",
    "daemon-json/allowed-key": "a key upstream refuses, allowed by --allow-daemon-key",
    "daemon-json/key-too-new": "a key from a later engine than the target one",
    "daemon-json/key-removed": "a key the target engine no longer accepts",
    "daemon-json/key-deprecated": "a key the target engine still reads but warns about",
    "daemon-json/key-no-effect": "a key the target engine accepts and ignores",
    "daemon-json/type": "a value of the wrong JSON type",
    "daemon-json/null-value": "a key set to null (dockerd keeps its default)",
    "daemon-json/flag-conflict": "a key also given as a dockerd command-line flag",
    "daemon-json/mirror-placeholder": "the guide's placeholder is still in the mirror URL",
    "daemon-json/mirror-invalid-url": "a mirror that is not a URL dockerd can parse",
    "daemon-json/mirror-scheme": "a mirror without http:// or https://",
    "daemon-json/mirror-scheme-case": "a mirror scheme not in lower case",
    "daemon-json/mirror-http": "a plain-HTTP mirror: no TLS",
    "daemon-json/mirror-userinfo": "user name or password in a mirror URL",
    "daemon-json/mirror-query": "a query (?...) in a mirror URL",
    "daemon-json/mirror-fragment": "a fragment (#...) in a mirror URL",
    "daemon-json/mirror-path": "a path in a mirror URL",
    "daemon-json/mirror-no-host": "a mirror URL without a host",
    "daemon-json/mirror-duplicate": "the same mirror twice",
    "daemon-json/mirror-missing": "the expected mirror is not configured",
    "daemon-json/mirror-not-first": "another mirror is tried before the expected one",
    "daemon-json/mirror-insecure": "the mirror is an insecure registry: TLS is not verified",
    "daemon-json/insecure-invalid": "an insecure-registries entry dockerd refuses",
    "daemon-json/insecure-scheme": "an insecure-registries entry with http:// or https://",
    "daemon-json/docker-latest-path": "a path from Red Hat's docker-latest package",
    "daemon-json/baseline-invalid": "the baseline file cannot be compared",
    "daemon-json/baseline-removed": "a key of the baseline is gone",
    "daemon-json/baseline-added": "a key other than registry-mirrors was added",
    "daemon-json/baseline-changed": "a key of the baseline has another value",
    "daemon-json/baseline-cleanup": "a key upstream refuses was removed (expected)",
}
"""Every finding code the daemon.json reader emits, with what it means."""


@dataclass(frozen=True)
class DockerdDifference:
    """A place where the reader and dockerd disagree on whether the file is fine.

    ``dockerd_starts``: what dockerd does while the reader reports an error
    (True: the reader is stricter), or starts while the reader accepts
    (False: the reader is more lenient). ``until``: the first engine where
    dockerd agrees with the reader, if any.
    """

    code: str
    dockerd_starts: bool
    dockerd: str
    reader: str
    until: EngineVersion | None = None

    def applies_to(self, engine: EngineVersion) -> bool:
        """True when ``engine`` still behaves as :attr:`dockerd` says."""
        return self.until is None or engine < self.until


_DIFFERENCES = (
    DockerdDifference(
        "daemon-json/duplicate-key",
        True,
        "keeps the last value (Go's encoding/json)",
        "refuses: one of the two values is silently lost",
    ),
    DockerdDifference(
        "daemon-json/trailing-data",
        True,
        "reads the first JSON value and ignores the rest (json.Decoder)",
        "refuses: the rest was meant to be read",
        until=STRICT_FROM,
    ),
    DockerdDifference(
        "daemon-json/not-utf8",
        True,
        "replaces invalid bytes with U+FFFD",
        "refuses: the value is not what was written",
        until=STRICT_FROM,
    ),
    DockerdDifference(
        "daemon-json/null-document",
        True,
        "starts with defaults",
        "refuses: a daemon.json of `null` is a mistake",
    ),
    DockerdDifference(
        "daemon-json/flag-name-key",
        True,
        "accepts a flag's name (registry-mirror, insecure-registry, label, ...) and ignores it",
        "refuses: the setting silently does nothing",
    ),
    DockerdDifference(
        "daemon-json/ignored-key",
        True,
        "skips an unknown key whose value is an object of known names (it checks the inner names)",
        "refuses: the key does nothing",
    ),
    DockerdDifference(
        "daemon-json/mirror-scheme-case",
        True,
        "accepts HTTPS://, then prefixes https:// again when pulling: the mirror is never reached",
        "refuses",
    ),
    DockerdDifference(
        "daemon-json/mirror-no-host",
        True,
        "accepts https:// without a host",
        "refuses: there is nothing to connect to",
    ),
    DockerdDifference(
        "daemon-json/mirror-query",
        True,
        "accepts a bare trailing '?' and keeps it (https://host?/)",
        "refuses any '?'",
    ),
    DockerdDifference(
        "daemon-json/mirror-fragment",
        True,
        "accepts a bare trailing '#'",
        "refuses any '#'",
    ),
    DockerdDifference(
        "daemon-json/mirror-placeholder",
        True,
        "refuses the guide's placeholder (its spaces break the URL) but accepts one without spaces",
        "refuses every '<...>' placeholder",
    ),
    DockerdDifference(
        "daemon-json/mirror-missing", True, "has no notion of an expected mirror", "refuses"
    ),
    DockerdDifference(
        "daemon-json/mirror-not-first", True, "tries mirrors in the listed order", "refuses"
    ),
    DockerdDifference(
        "daemon-json/mirror-insecure",
        True,
        "skips certificate checks for the mirror",
        "refuses: a bad certificate goes unnoticed",
    ),
    DockerdDifference(
        "daemon-json/baseline-removed", True, "has no notion of a baseline", "refuses"
    ),
    DockerdDifference("daemon-json/baseline-added", True, "has no notion of a baseline", "refuses"),
    DockerdDifference(
        "daemon-json/baseline-changed", True, "has no notion of a baseline", "refuses"
    ),
    DockerdDifference(
        "daemon-json/baseline-invalid", True, "has no notion of a baseline", "refuses"
    ),
    DockerdDifference(
        "daemon-json/allowed-key",
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

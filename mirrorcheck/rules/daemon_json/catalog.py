"""Every rule the daemon.json reader applies, declared once: code, severity, meaning, gate.

A rule's ``severity`` is the one it usually reports; a finding may carry
another where the engine decides (an empty file is an ERROR for 20.10 and
INFO from 23.0). ``fix`` is the rule's usual fix; most findings name a
more precise one. Every rule is gated by the suite checks that fail on any
error of the reader; the insecure-mirror rule also by the TLS suite's checks
of each node's file and running daemon.

Usage::

    from mirrorcheck.rules.daemon_json.catalog import MIRROR_HTTP, RULES

    RULES["daemon-json/mirror-http"] is MIRROR_HTTP   # True
    MIRROR_HTTP.summary                               # 'a plain-HTTP mirror: no TLS'
"""

from __future__ import annotations

from mirrorcheck.findings import Rule, Severity, rule_table
from mirrorcheck.rules import placeholder

PLACEHOLDER = placeholder.FQDN_PLACEHOLDERS[0]
"""What the reference guide writes where the mirror's host name belongs."""

_SUITE = "suites/test_daemon_json.py"
_TLS_SUITE = "suites/test_tls_nodes_verify.py"
READER_GATES = (
    f"{_SUITE}::test_daemon_json_passes_the_reader",
    f"{_SUITE}::test_node_daemon_json_passes_the_reader",
)
"""The suite checks that fail on every error finding of the reader."""

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def _rule(
    code: str,
    severity: Severity,
    summary: str,
    fix: str = "",
    gates: tuple[str, ...] = READER_GATES,
) -> Rule:
    return Rule(f"daemon-json/{code}", severity, summary, fix=fix, gated_by=tuple(gates))


# -- reading the file
UNREADABLE = _rule(
    "unreadable", ERROR, "the file cannot be read (missing, a directory, no permission)"
)
EMPTY = _rule(
    "empty", ERROR, "the file is empty or only whitespace", "write {} at least, or remove the file"
)
BOM = _rule(
    "bom",
    ERROR,
    "the file starts with a UTF-8 byte-order mark",
    "save the file as UTF-8 without BOM, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE",
)
UTF16 = _rule("utf16", ERROR, "the file is UTF-16", "save it as UTF-8 without BOM")
NOT_UTF8 = _rule(
    "not-utf8",
    ERROR,
    "the file holds bytes that are not UTF-8",
    "re-save the file as UTF-8 (iconv -f latin1 -t utf-8)",
)
INVALID_JSON = _rule(
    "invalid-json", ERROR, "a syntax error (missing comma, trailing comma, comment, ...)"
)
TOO_DEEP = _rule(
    "too-deep",
    ERROR,
    "objects and lists nest deeper than the reader reads (100 levels)",
    "flatten the value: no daemon.json setting nests more than a few levels",
)
TRAILING_DATA = _rule(
    "trailing-data",
    ERROR,
    "something follows the closing brace",
    "remove it, or move it inside the object",
)
NOT_OBJECT = _rule(
    "not-object",
    ERROR,
    "the top level is not a JSON object",
    'wrap the settings in { }, e.g. {"registry-mirrors": ["https://..."]}',
)
NULL_DOCUMENT = _rule("null-document", ERROR, "the whole file is `null`", "write an object: {}")
DUPLICATE_KEY = _rule("duplicate-key", ERROR, "a key appears twice in one object")
DOCKER_LATEST_PATH = _rule(
    "docker-latest-path",
    INFO,
    "a path from Red Hat's docker-latest package",
    "edit /etc/docker/daemon.json on nodes that run upstream Docker Engine",
)

# -- keys
UNKNOWN_KEY = _rule("unknown-key", ERROR, "dockerd knows no such key and refuses to start")
IGNORED_KEY = _rule("ignored-key", ERROR, "an unknown key dockerd skips without a word")
FLAG_NAME_KEY = _rule(
    "flag-name-key", ERROR, "a command-line flag's name used as a key; dockerd ignores it"
)
FORK_KEY = _rule("fork-key", ERROR, "a key from a downstream fork that upstream dockerd refuses")
ALLOWED_KEY = _rule(
    "allowed-key",
    INFO,
    "a key upstream refuses, allowed by --allow-daemon-key",
    "make sure this node runs the fork that reads it",
)
KEY_TOO_NEW = _rule("key-too-new", ERROR, "a key from a later engine than the target one")
KEY_REMOVED = _rule("key-removed", ERROR, "a key the target engine no longer accepts")
KEY_DEPRECATED = _rule(
    "key-deprecated", WARNING, "a key the target engine still reads but warns about"
)
KEY_NO_EFFECT = _rule(
    "key-no-effect", WARNING, "a key the target engine accepts and ignores", "remove it"
)
TYPE = _rule("type", ERROR, "a value of the wrong JSON type")
NULL_VALUE = _rule("null-value", WARNING, "a key set to null (dockerd keeps its default)")
FLAG_CONFLICT = _rule("flag-conflict", ERROR, "a key also given as a dockerd command-line flag")

# -- registry-mirrors and insecure-registries
MIRROR_PLACEHOLDER = _rule(
    "mirror-placeholder",
    ERROR,
    "the guide's placeholder is still in the mirror URL",
    placeholder.FIX,
)
MIRROR_INVALID_URL = _rule(
    "mirror-invalid-url", ERROR, "a mirror that is not a URL dockerd can parse"
)
MIRROR_SCHEME = _rule("mirror-scheme", ERROR, "a mirror without http:// or https://")
MIRROR_SCHEME_CASE = _rule("mirror-scheme-case", ERROR, "a mirror scheme not in lower case")
MIRROR_HTTP = _rule("mirror-http", WARNING, "a plain-HTTP mirror: no TLS")
MIRROR_USERINFO = _rule(
    "mirror-userinfo",
    ERROR,
    "user name or password in a mirror URL",
    "remove 'user:password@'; mirror credentials are not taken from the URL",
)
MIRROR_QUERY = _rule(
    "mirror-query", ERROR, "a query (?...) in a mirror URL", "remove everything from '?' on"
)
MIRROR_FRAGMENT = _rule(
    "mirror-fragment", ERROR, "a fragment (#...) in a mirror URL", "remove everything from '#' on"
)
MIRROR_PATH = _rule("mirror-path", ERROR, "a path in a mirror URL")
MIRROR_NO_HOST = _rule(
    "mirror-no-host",
    ERROR,
    "a mirror URL without a host",
    'write https://FQDN, e.g. "https://mirror.example.com"',
)
MIRROR_DUPLICATE = _rule(
    "mirror-duplicate", WARNING, "the same mirror twice", "remove the repeated entry"
)
MIRROR_MISSING = _rule("mirror-missing", ERROR, "the expected mirror is not configured")
MIRROR_NOT_FIRST = _rule(
    "mirror-not-first",
    ERROR,
    "another mirror is tried before the expected one",
    "move it to the front, or pass --allow-other-mirrors if that order is meant",
)
MIRROR_INSECURE = _rule(
    "mirror-insecure",
    ERROR,
    "the mirror is an insecure registry: TLS is not verified",
    gates=(
        *READER_GATES,
        f"{_TLS_SUITE}::test_node_daemon_json_does_not_list_the_mirror_as_insecure",
        f"{_TLS_SUITE}::test_node_daemon_treats_the_mirror_as_a_secure_registry",
    ),
)
INSECURE_INVALID = _rule(
    "insecure-invalid",
    ERROR,
    "an insecure-registries entry dockerd refuses",
    "write host[:port] (e.g. registry.example.com:5000) or a CIDR (10.0.0.0/8)",
)
INSECURE_SCHEME = _rule(
    "insecure-scheme", WARNING, "an insecure-registries entry with http:// or https://"
)

# -- the file before the change
BASELINE_INVALID = _rule(
    "baseline-invalid",
    ERROR,
    "the baseline file cannot be compared",
    "fix that file first, or compare against a readable copy of the original",
)
BASELINE_REMOVED = _rule("baseline-removed", ERROR, "a key of the baseline is gone")
BASELINE_ADDED = _rule("baseline-added", ERROR, "a key other than registry-mirrors was added")
BASELINE_CHANGED = _rule("baseline-changed", ERROR, "a key of the baseline has another value")
BASELINE_CLEANUP = _rule("baseline-cleanup", INFO, "a key upstream refuses was removed (expected)")

RULES = rule_table(
    UNREADABLE,
    EMPTY,
    BOM,
    UTF16,
    NOT_UTF8,
    INVALID_JSON,
    TOO_DEEP,
    TRAILING_DATA,
    NOT_OBJECT,
    NULL_DOCUMENT,
    DUPLICATE_KEY,
    UNKNOWN_KEY,
    IGNORED_KEY,
    FLAG_NAME_KEY,
    FORK_KEY,
    ALLOWED_KEY,
    KEY_TOO_NEW,
    KEY_REMOVED,
    KEY_DEPRECATED,
    KEY_NO_EFFECT,
    TYPE,
    NULL_VALUE,
    FLAG_CONFLICT,
    MIRROR_PLACEHOLDER,
    MIRROR_INVALID_URL,
    MIRROR_SCHEME,
    MIRROR_SCHEME_CASE,
    MIRROR_HTTP,
    MIRROR_USERINFO,
    MIRROR_QUERY,
    MIRROR_FRAGMENT,
    MIRROR_PATH,
    MIRROR_NO_HOST,
    MIRROR_DUPLICATE,
    MIRROR_MISSING,
    MIRROR_NOT_FIRST,
    MIRROR_INSECURE,
    INSECURE_INVALID,
    INSECURE_SCHEME,
    DOCKER_LATEST_PATH,
    BASELINE_INVALID,
    BASELINE_REMOVED,
    BASELINE_ADDED,
    BASELINE_CHANGED,
    BASELINE_CLEANUP,
)
"""Every daemon.json rule by code."""

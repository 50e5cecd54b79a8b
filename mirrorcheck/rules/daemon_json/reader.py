"""Reading a daemon.json the way dockerd does: bytes to text to a tree with positions.

:func:`read_daemon_json` and :func:`parse_daemon_json` never raise on a bad
file: what dockerd would make of the encoding (BOM, UTF-16, bytes that are not
UTF-8), an empty file, a syntax error (named as TOML or YAML when the file is
one: a containerd hosts.toml given as daemon.json), nesting past 100 levels, a
repeated key, text after the closing brace or a top level that is not an
object becomes a finding on the
:class:`DaemonJson`, placed by line and column with a caret excerpt where it
has a place, with whether dockerd refuses to start over it (which depends on
the engine: see :data:`STRICT_FROM`). The rules on keys and values build on
:class:`DocumentRules`; :func:`mirrorcheck.rules.daemon_json.assess.assess` runs them all.

Usage::

    from mirrorcheck.rules.daemon_json.reader import parse_daemon_json, read_daemon_json

    doc = read_daemon_json("/etc/docker/daemon.json", engine="20.10")
    doc.readable                  # False if the file could not be opened
    doc.document                  # {'registry-mirrors': [...]}: the last duplicate wins
    for finding in doc.findings:  # only what reading found; the rules are in assess()
        print(finding.render())

    doc = parse_daemon_json(b'{"debug": true}\\n}', engine="23.0")
    [(i.finding.code, i.dockerd_refuses) for i in doc.issues]
    # [('daemon-json/trailing-data', True)]: 23.0 and later refuse trailing data

Source (moby/moby): ``daemon/config/config.go`` (getConflictFreeConfiguration).
"""

from __future__ import annotations

from mirrorcheck.findings import Finding, Severity
from mirrorcheck.rules.daemon_json import catalog
from mirrorcheck.rules.daemon_json.document import DaemonJson, DocumentRules, Issue
from mirrorcheck.rules.daemon_json.engine import DEFAULT_ENGINE, EngineVersion
from mirrorcheck.rules.daemon_json.other_formats import recognise
from mirrorcheck.text.json_positions import (
    JsonSyntaxError,
    JsonTooDeep,
    Positions,
    describe_value,
    parse_json,
)

__all__ = [
    "DEFAULT_ENGINE",
    "STRICT_FROM",
    "DaemonJson",
    "DocumentRules",
    "Issue",
    "parse_daemon_json",
    "read_daemon_json",
]

STRICT_FROM = EngineVersion(23, 0)
"""From 23.0 dockerd decodes a BOM, validates UTF-8, accepts an empty file and
refuses trailing data (json.Unmarshal instead of one json.Decoder.Decode)."""


def parse_daemon_json(
    data: bytes | str, path: str = "daemon.json", engine: str | EngineVersion = DEFAULT_ENGINE
) -> DaemonJson:
    """Read daemon.json content (bytes as on disk, or text) the way dockerd ``engine`` would."""
    engine = EngineVersion.parse(engine)
    doc = DaemonJson(path=path, engine=engine)
    text = _decode(doc, data) if isinstance(data, bytes) else _strip_bom(doc, data)
    doc.text = text
    if "/docker-latest/" in path.replace("\\", "/"):
        doc.add_issue(
            doc.finding(
                catalog.DOCKER_LATEST_PATH,
                "/etc/docker-latest/ belongs to Red Hat's docker-latest package; "
                "upstream Docker Engine reads /etc/docker/daemon.json",
            ),
            refuses=False,
        )
    if not text.strip(" \t\r\n"):
        _empty(doc)
        return doc
    try:
        parsed = parse_json(text, doc.positions)
    except JsonTooDeep as error:
        doc.add_issue(
            doc.finding(
                catalog.TOO_DEEP,
                f"{error.message}: mirrorcheck reads no deeper, and no daemon.json setting "
                "nests like this, so dockerd refuses such a value (its JSON reader itself "
                "stops at 10000 levels)",
                error.fix,
                offset=error.offset,
            ),
            refuses=True,
        )
        return doc
    except JsonSyntaxError as error:
        _invalid_json(doc, text, error)
        return doc
    root, trailing = parsed.root, parsed.trailing
    doc.root = root
    for duplicate, first in parsed.duplicates:
        line, col = doc.line_col(first.key_start)
        doc.add_issue(
            doc.finding(
                catalog.DUPLICATE_KEY,
                f"the key {duplicate.key!r} appears again (first at {line}:{col}); dockerd "
                "silently keeps only this last value",
                f"keep one {duplicate.key!r} and merge the values into it",
                offset=duplicate.key_start,
                key=duplicate.key,
            ),
            refuses=False,
        )
    if trailing is not None:
        strict = engine >= STRICT_FROM
        doc.add_issue(
            doc.finding(
                catalog.TRAILING_DATA,
                "text after the end of the JSON object: "
                + (
                    f"dockerd {engine} refuses to start"
                    if strict
                    else f"dockerd {engine} ignores it, 23.0 and later refuse to start"
                ),
                offset=trailing,
            ),
            refuses=strict,
        )
    if root is not None and root.kind == "null":
        doc.add_issue(
            doc.finding(
                catalog.NULL_DOCUMENT,
                "the file holds only `null`: dockerd starts with defaults, nothing here applies",
                offset=root.start,
            ),
            refuses=False,
        )
    elif root is not None and root.kind != "object":
        doc.add_issue(
            doc.finding(
                catalog.NOT_OBJECT,
                f"the top level is {describe_value(root.value)}, not an object: "
                f"dockerd {engine} refuses to start",
                offset=root.start,
            ),
            refuses=True,
        )
    return doc


def _invalid_json(doc: DaemonJson, text: str, error: JsonSyntaxError) -> None:
    said = f" (dockerd: {error.go_error})" if error.go_error else ""
    other = recognise(text)
    if other is not None:
        message, fix = f"this file is {other.what}: dockerd refuses to start{said}", other.fix
    else:
        message, fix = f"invalid JSON: {error.message}{said}; dockerd refuses to start", error.fix
    doc.add_issue(
        doc.finding(
            catalog.INVALID_JSON,
            message,
            fix,
            offset=error.offset,
            context_from=error.context_from,
        ),
        refuses=True,
    )


def read_daemon_json(path: str, engine: str | EngineVersion = DEFAULT_ENGINE) -> DaemonJson:
    """Read a daemon.json from disk; an unreadable file gives a finding, not an exception."""
    engine = EngineVersion.parse(engine)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        doc = DaemonJson(path=path, engine=engine, readable=False)
        doc.add_issue(_unreadable(path, error), refuses=True)
        return doc
    return parse_daemon_json(data, path=path, engine=engine)


def _unreadable(path: str, error: OSError) -> Finding:
    reason = error.strerror or str(error)
    if isinstance(error, FileNotFoundError):
        fix = "check the path (dockerd reads /etc/docker/daemon.json unless --config-file)"
    elif isinstance(error, IsADirectoryError):
        fix = "name the file, e.g. /etc/docker/daemon.json, not its directory"
    elif isinstance(error, PermissionError):
        fix = "run as a user that may read it (e.g. with sudo) or copy it somewhere readable"
    else:
        fix = "check that the path names a readable regular file"
    return catalog.UNREADABLE.finding(f"cannot read {path}: {reason}", fix=fix, path=path)


def _strip_bom(doc: DaemonJson, text: str) -> str:
    if text.startswith("\ufeff"):
        _bom(doc)
        return text[1:]
    return text


def _bom(doc: DaemonJson) -> None:
    if doc.engine < STRICT_FROM:
        doc.add_issue(
            catalog.BOM.finding(
                f"the file starts with a UTF-8 byte-order mark: dockerd {doc.engine} "
                "refuses to start (invalid character 'ï' looking for beginning of value); "
                "23.0 and later accept it",
                path=doc.path,
                line=1,
                column=1,
            ),
            refuses=True,
        )


def _decode(doc: DaemonJson, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        strict = doc.engine < STRICT_FROM
        doc.add_issue(
            catalog.UTF16.finding(
                "the file is UTF-16: "
                + (
                    f"dockerd {doc.engine} refuses to start; 23.0 and later read it"
                    if strict
                    else f"dockerd {doc.engine} reads it, most other tools do not"
                ),
                severity=Severity.ERROR if strict else Severity.INFO,
                path=doc.path,
                line=1,
                column=1,
            ),
            refuses=strict,
        )
        return data.decode("utf-16", errors="replace")
    if data.startswith(b"\xef\xbb\xbf"):
        _bom(doc)
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", errors="replace")
        line = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", errors="replace")) + 1
        strict = doc.engine >= STRICT_FROM
        bad = data[error.start : error.end]
        positions = Positions(text)
        offset = positions.offset(line, column)
        doc.add_issue(
            catalog.NOT_UTF8.finding(
                f"byte {bad.hex(' ')} is not UTF-8 (a Latin-1 or Windows-1252 editor?): "
                + (
                    f"dockerd {doc.engine} refuses to start"
                    if strict
                    else f"dockerd {doc.engine} silently turns it into U+FFFD"
                ),
                path=doc.path,
                line=line,
                column=column,
                excerpt=positions.excerpt(offset),
            ),
            refuses=strict,
        )
        return text


def _empty(doc: DaemonJson) -> None:
    strict = doc.engine < STRICT_FROM
    doc.add_issue(
        catalog.EMPTY.finding(
            "the file is empty: "
            + (
                f"dockerd {doc.engine} refuses to start (EOF); 23.0 and later start with defaults"
                if strict
                else f"dockerd {doc.engine} starts with defaults"
            ),
            severity=Severity.ERROR if strict else Severity.INFO,
            path=doc.path,
        ),
        refuses=strict,
    )

"""Reading a daemon.json the way dockerd does: bytes to text to a tree with positions.

:func:`read_daemon_json` and :func:`parse_daemon_json` never raise on a bad
file: what dockerd would make of the encoding (BOM, UTF-16, bytes that are not
UTF-8), an empty file, a syntax error, a repeated key, text after the closing
brace or a top level that is not an object becomes a finding on the
:class:`DaemonJson`, placed by line and column with a caret excerpt where it
has a place, with whether dockerd refuses to start over it (which depends on
the engine: see :data:`STRICT_FROM`). The rules on keys and values build on
:class:`DocumentRules`; :func:`mirrorcheck.rules.daemon_json.assess.assess` runs them all.

Usage::

    from mirrorcheck.rules.daemon_json.reader import parse_daemon_json, read_daemon_json

    doc = read_daemon_json("/etc/docker/daemon.json", engine="20.10")
    doc.readable                  # False if the file could not be opened
    doc.document                  # {'registry-mirrors': [...]}: the last duplicate wins
    doc.key_position("registry-mirrors")   # (line, column), or None if absent
    for finding in doc.findings:  # only what reading found; the rules are in assess()
        print(finding.render())

    doc = parse_daemon_json(b'{"debug": true}\\n}', engine="23.0")
    [(i.finding.code, i.dockerd_refuses) for i in doc.issues]
    # [('daemon-json/trailing-data', True)]: 23.0 and later refuse trailing data

Source (moby/moby): ``daemon/config/config.go`` (getConflictFreeConfiguration).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mirrorcheck.findings import Finding, Severity
from mirrorcheck.rules.daemon_json.keys import EngineVersion
from mirrorcheck.text.json_positions import (
    JsonMember,
    JsonNode,
    JsonSyntaxError,
    Positions,
    describe_value,
    parse_json,
)

DEFAULT_ENGINE = EngineVersion(20, 10)
"""The engine of the lab nodes (Debian bookworm's docker.io)."""

STRICT_FROM = EngineVersion(23, 0)
"""From 23.0 dockerd decodes a BOM, validates UTF-8, accepts an empty file and
refuses trailing data (json.Unmarshal instead of one json.Decoder.Decode)."""


@dataclass
class Issue:
    """A finding, and whether dockerd refuses to start because of what it names."""

    finding: Finding
    dockerd_refuses: bool


@dataclass
class DaemonJson:
    """One daemon.json as read: its text, its parsed tree, and what reading it found."""

    path: str
    engine: EngineVersion
    text: str = ""
    root: JsonNode | None = None
    readable: bool = True
    _issues: list[Issue] = field(default_factory=list, repr=False)
    _positions: Positions | None = field(default=None, repr=False)

    @property
    def findings(self) -> list[Finding]:
        """What reading and parsing found (the rules are in daemon_json.assess)."""
        return [issue.finding for issue in self._issues]

    @property
    def issues(self) -> list[Issue]:
        """:attr:`findings`, each with whether dockerd refuses to start over it."""
        return list(self._issues)

    @property
    def document(self) -> dict[str, Any] | None:
        """The top-level object as dockerd sees it (last duplicate wins), or None."""
        if self.root is not None and self.root.kind == "object":
            return self.root.value
        return None

    def member(self, key: str) -> JsonMember | None:
        """The top-level member dockerd uses for ``key`` (the last one)."""
        if self.root is None or self.root.kind != "object":
            return None
        found = None
        for member in self.root.members:
            if member.key == key:
                found = member
        return found

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset in :attr:`text`."""
        return self._where().line_col(offset)

    def key_position(self, key: str) -> tuple[int, int] | None:
        """Line and column of the top-level ``key`` dockerd uses, if present."""
        member = self.member(key)
        return None if member is None else self.line_col(member.key_start)

    def finding(
        self,
        severity: Severity,
        code: str,
        message: str,
        fix: str = "",
        offset: int | None = None,
        key: str = "",
        context_from: int | None = None,
    ) -> Finding:
        """A finding on this file, placed at ``offset`` with an excerpt when given."""
        line = column = None
        excerpt = ""
        if offset is not None and self.text:
            line, column = self.line_col(offset)
            excerpt = self._where().excerpt(offset, context_from)
        return Finding(
            severity=severity,
            code=code,
            message=message,
            fix=fix,
            path=self.path,
            line=line,
            column=column,
            key=key,
            excerpt=excerpt,
        )

    def _add(self, finding: Finding, dockerd_refuses: bool) -> None:
        self._issues.append(Issue(finding, dockerd_refuses))

    def _where(self) -> Positions:
        if self._positions is None:
            self._positions = Positions(self.text)
        return self._positions


def parse_daemon_json(
    data: bytes | str, path: str = "daemon.json", engine: str | EngineVersion = DEFAULT_ENGINE
) -> DaemonJson:
    """Read daemon.json content (bytes as on disk, or text) the way dockerd ``engine`` would."""
    engine = EngineVersion.parse(engine)
    doc = DaemonJson(path=path, engine=engine)
    text = _decode(doc, data) if isinstance(data, bytes) else _strip_bom(doc, data)
    doc.text = text
    if "/docker-latest/" in path.replace("\\", "/"):
        doc._add(
            doc.finding(
                Severity.INFO,
                "daemon-json/docker-latest-path",
                "/etc/docker-latest/ belongs to Red Hat's docker-latest package; "
                "upstream Docker Engine reads /etc/docker/daemon.json",
                "edit /etc/docker/daemon.json on nodes that run upstream Docker Engine",
            ),
            False,
        )
    if not text.strip(" \t\r\n"):
        _empty(doc)
        return doc
    try:
        parsed = parse_json(text, doc._where())
    except JsonSyntaxError as error:
        said = f" (dockerd: {error.go_error})" if error.go_error else ""
        doc._add(
            doc.finding(
                Severity.ERROR,
                "daemon-json/invalid-json",
                f"invalid JSON: {error.message}{said}; dockerd refuses to start",
                error.fix,
                offset=error.offset,
                context_from=error.context_from,
            ),
            True,
        )
        return doc
    root, trailing = parsed.root, parsed.trailing
    doc.root = root
    for duplicate, first in parsed.duplicates:
        line, col = doc.line_col(first.key_start)
        doc._add(
            doc.finding(
                Severity.ERROR,
                "daemon-json/duplicate-key",
                f"the key {duplicate.key!r} appears again (first at {line}:{col}); dockerd "
                "silently keeps only this last value",
                f"keep one {duplicate.key!r} and merge the values into it",
                offset=duplicate.key_start,
                key=duplicate.key,
            ),
            False,
        )
    if trailing is not None:
        strict = engine >= STRICT_FROM
        doc._add(
            doc.finding(
                Severity.ERROR,
                "daemon-json/trailing-data",
                "text after the end of the JSON object: "
                + (
                    f"dockerd {engine} refuses to start"
                    if strict
                    else f"dockerd {engine} ignores it, 23.0 and later refuse to start"
                ),
                "remove it, or move it inside the object",
                offset=trailing,
            ),
            strict,
        )
    if root is not None and root.kind == "null":
        doc._add(
            doc.finding(
                Severity.ERROR,
                "daemon-json/null-document",
                "the file holds only `null`: dockerd starts with defaults, nothing here applies",
                "write an object: {}",
                offset=root.start,
            ),
            False,
        )
    elif root is not None and root.kind != "object":
        doc._add(
            doc.finding(
                Severity.ERROR,
                "daemon-json/not-object",
                f"the top level is {describe_value(root.value)}, not an object: "
                f"dockerd {engine} refuses to start",
                'wrap the settings in { }, e.g. {"registry-mirrors": ["https://..."]}',
                offset=root.start,
            ),
            True,
        )
    return doc


def read_daemon_json(path: str, engine: str | EngineVersion = DEFAULT_ENGINE) -> DaemonJson:
    """Read a daemon.json from disk; an unreadable file gives a finding, not an exception."""
    engine = EngineVersion.parse(engine)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        doc = DaemonJson(path=path, engine=engine, readable=False)
        doc._add(_unreadable(path, error), True)
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
    return Finding(
        severity=Severity.ERROR,
        code="daemon-json/unreadable",
        message=f"cannot read {path}: {reason}",
        fix=fix,
        path=path,
    )


def _strip_bom(doc: DaemonJson, text: str) -> str:
    if text.startswith("\ufeff"):
        _bom(doc)
        return text[1:]
    return text


def _bom(doc: DaemonJson) -> None:
    if doc.engine < STRICT_FROM:
        doc._add(
            Finding(
                severity=Severity.ERROR,
                code="daemon-json/bom",
                message=f"the file starts with a UTF-8 byte-order mark: dockerd {doc.engine} "
                "refuses to start (invalid character 'ï' looking for beginning of value); "
                "23.0 and later accept it",
                fix="save the file as UTF-8 without BOM, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE",
                path=doc.path,
                line=1,
                column=1,
            ),
            True,
        )


def _decode(doc: DaemonJson, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        strict = doc.engine < STRICT_FROM
        doc._add(
            Finding(
                severity=Severity.ERROR if strict else Severity.INFO,
                code="daemon-json/utf16",
                message="the file is UTF-16: "
                + (
                    f"dockerd {doc.engine} refuses to start; 23.0 and later read it"
                    if strict
                    else f"dockerd {doc.engine} reads it, most other tools do not"
                ),
                fix="save it as UTF-8 without BOM",
                path=doc.path,
                line=1,
                column=1,
            ),
            strict,
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
        doc._add(
            Finding(
                severity=Severity.ERROR,
                code="daemon-json/not-utf8",
                message=f"byte {bad.hex(' ')} is not UTF-8 (a Latin-1 or Windows-1252 editor?): "
                + (
                    f"dockerd {doc.engine} refuses to start"
                    if strict
                    else f"dockerd {doc.engine} silently turns it into U+FFFD"
                ),
                fix="re-save the file as UTF-8 (iconv -f latin1 -t utf-8)",
                path=doc.path,
                line=line,
                column=column,
                excerpt=positions.excerpt(offset),
            ),
            strict,
        )
        return text


def _empty(doc: DaemonJson) -> None:
    strict = doc.engine < STRICT_FROM
    doc._add(
        Finding(
            severity=Severity.ERROR if strict else Severity.INFO,
            code="daemon-json/empty",
            message="the file is empty: "
            + (
                f"dockerd {doc.engine} refuses to start (EOF); 23.0 and later start with defaults"
                if strict
                else f"dockerd {doc.engine} starts with defaults"
            ),
            fix="write {} at least, or remove the file",
            path=doc.path,
        ),
        strict,
    )


class DocumentRules:
    """A set of rules on one parsed daemon.json; each rule adds to :attr:`issues`.

    A subclass reads :attr:`doc` and :attr:`members` (the top-level members in
    file order, duplicates included) and calls :meth:`add` for what it finds.
    """

    def __init__(self, doc: DaemonJson):
        self.doc = doc
        self.engine = doc.engine
        self.issues: list[Issue] = []
        assert doc.root is not None
        self.members = doc.root.members

    def add(
        self,
        refuses: bool,
        severity: Severity,
        code: str,
        message: str,
        fix: str,
        secret: str = "",
        **where: Any,
    ) -> None:
        """A finding placed by :meth:`DaemonJson.finding`; ``secret`` is masked in its excerpt."""
        finding = self.doc.finding(severity, code, message, fix, **where)
        if secret:
            # The excerpt quotes the file; a password in it must not reach a CI log.
            finding = dataclasses.replace(finding, excerpt=finding.excerpt.replace(secret, "xxxxx"))
        self.issues.append(Issue(finding, refuses))

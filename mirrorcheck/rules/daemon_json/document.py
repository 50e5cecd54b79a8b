"""One daemon.json as read: its text, its tree with positions, and what was found in it.

:class:`DaemonJson` is what :mod:`mirrorcheck.rules.daemon_json.reader`
returns; :class:`DocumentRules` is the base of the rules on keys and values,
each finding made by a catalog rule and placed by line and column.

Usage::

    from mirrorcheck.rules.daemon_json.catalog import NULL_VALUE
    from mirrorcheck.rules.daemon_json.reader import parse_daemon_json

    doc = parse_daemon_json('{"debug": null}')
    doc.document                         # {'debug': None}: the last duplicate wins
    member = doc.member("debug")
    doc.line_col(member.key_start)       # (1, 2)
    doc.finding(NULL_VALUE, "'debug' is null", offset=member.key_start).render()
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mirrorcheck.findings import Finding, Rule, Severity
from mirrorcheck.rules.daemon_json.engine import EngineVersion
from mirrorcheck.text.json_positions import JsonMember, JsonNode, Positions


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
        return self.positions.line_col(offset)

    @property
    def positions(self) -> Positions:
        """Line and column lookups and caret excerpts over :attr:`text`."""
        if self._positions is None:
            self._positions = Positions(self.text)
        return self._positions

    def finding(
        self,
        rule: Rule,
        message: str,
        fix: str | None = None,
        *,
        severity: Severity | None = None,
        offset: int | None = None,
        key: str = "",
        context_from: int | None = None,
    ) -> Finding:
        """A finding of ``rule`` on this file, placed at ``offset`` with an excerpt when given.

        ``fix`` and ``severity`` default to the rule's.
        """
        line = column = None
        excerpt = ""
        if offset is not None and self.text:
            line, column = self.line_col(offset)
            excerpt = self.positions.excerpt(offset, context_from)
        return rule.finding(
            message,
            fix=fix,
            severity=severity,
            path=self.path,
            line=line,
            column=column,
            key=key,
            excerpt=excerpt,
        )

    def add_issue(self, finding: Finding, *, refuses: bool) -> None:
        """Record what reading the file found; ``refuses``: dockerd will not start over it."""
        self._issues.append(Issue(finding, refuses))


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
        rule: Rule,
        message: str,
        fix: str | None = None,
        *,
        refuses: bool,
        severity: Severity | None = None,
        secret: str = "",
        **where: Any,
    ) -> None:
        """A finding of ``rule`` placed by :meth:`DaemonJson.finding`.

        ``refuses``: dockerd will not start over it. ``secret`` is masked in the excerpt.
        """
        finding = self.doc.finding(rule, message, fix, severity=severity, **where)
        if secret:
            # The excerpt quotes the file; a password in it must not reach a CI log.
            finding = dataclasses.replace(finding, excerpt=finding.excerpt.replace(secret, "xxxxx"))
        self.issues.append(Issue(finding, refuses))

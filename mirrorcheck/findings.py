"""One shape for every judgement the rules make.

Usage::

    from mirrorcheck.findings import Finding, Severity

    finding = Finding(
        severity=Severity.ERROR,
        code="daemon-json/unknown-key",
        message="dockerd refuses to start on unknown key 'registry-mirror'",
        fix="rename it to 'registry-mirrors' (a list)",
        path="/etc/docker/daemon.json",
        line=3,
        column=5,
    )
    print(finding.render())
    # /etc/docker/daemon.json:3:5: error [daemon-json/unknown-key] dockerd refuses ...
    #   fix: rename it to 'registry-mirrors' (a list)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Severity(str, enum.Enum):
    """ERROR breaks the deployment; WARNING is a finding worth fixing; INFO is context."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """A single judgement on a file or a value: what is wrong, where, and how to fix it."""

    severity: Severity
    code: str
    message: str
    fix: str = ""
    path: str = ""
    line: int | None = None
    column: int | None = None
    key: str = ""
    excerpt: str = ""

    @property
    def location(self) -> str:
        """``path:line:column`` with the parts that are known."""
        parts = [self.path or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def render(self) -> str:
        """The finding as a compiler-style message, with excerpt and fix lines."""
        text = f"{self.location}: {self.severity.value} [{self.code}] {self.message}"
        if self.excerpt:
            text += "\n" + "\n".join("    " + row for row in self.excerpt.splitlines())
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that break the deployment."""
    return [f for f in findings if f.severity is Severity.ERROR]


def render_all(findings: Iterable[Finding]) -> str:
    """All findings, one block each, in the order given."""
    return "\n".join(f.render() for f in findings)


@dataclass(frozen=True)
class Rule:
    """One rule, declared once: its code, severity, what it means, its fix, what gates it.

    ``gated_by`` names the suite checks that fail when this rule finds an error,
    as ``"suites/<file>.py::<test function>"``; the project's tests prove each one
    exists. A rule makes its findings with ``rule.finding(...)``.

    Usage::

        MIRROR_HTTP = Rule(
            "daemon-json/mirror-http",
            Severity.ERROR,
            "a plain-HTTP mirror: no TLS",
            fix="use https:// and a certificate the nodes trust",
            gated_by=("suites/test_daemon_json.py::test_daemon_json_is_accepted",),
        )
        MIRROR_HTTP.finding("mirror http://m is plain HTTP", path="daemon.json", line=2)
    """

    code: str
    severity: Severity
    summary: str
    fix: str = ""
    gated_by: tuple[str, ...] = ()

    def finding(
        self,
        message: str,
        *,
        fix: str | None = None,
        severity: Severity | None = None,
        path: str = "",
        line: int | None = None,
        column: int | None = None,
        key: str = "",
        excerpt: str = "",
    ) -> Finding:
        """A finding of this rule; ``fix`` and ``severity`` default to the rule's."""
        return Finding(
            severity=severity or self.severity,
            code=self.code,
            message=message,
            fix=self.fix if fix is None else fix,
            path=path,
            line=line,
            column=column,
            key=key,
            excerpt=excerpt,
        )


def rule_table(*rules: Rule) -> dict[str, Rule]:
    """The rules of one package by code; raises ValueError for a code declared twice."""
    table: dict[str, Rule] = {}
    for rule in rules:
        if rule.code in table:
            raise ValueError(f"rule {rule.code} declared twice")
        table[rule.code] = rule
    return table

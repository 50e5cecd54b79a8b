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

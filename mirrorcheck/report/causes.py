"""The distinct causes behind a run's failed checks, each said once with where it comes from.

Pure: no pytest, no Docker. A failed check's message names its cause in one of
three ways, tried in this order:

- findings, as ``Finding.render()`` writes them
  (``path:line:column: error [code] message``): the errors of one message
  are one cause, keyed by their codes, lines and columns, so the file under
  test and each node's copy of it give the same cause;
- a known cause (``known_cause_message``): a node that does not use the
  mirror, or a mirror that cannot serve the nodes (it does not answer, or it
  is not a pull-through cache of Docker Hub), named by the fixture that
  stopped the check before it waited on its bounds; findings in its text
  (the registry config's lines that explain it) key it, so the lint check
  that reports the same findings counts under the same cause;
- neither: the message's first line is the cause. A check on a node that has a
  known cause (its ``node``, or the node its message starts with) counts under
  that node's cause instead.

Usage::

    text = known_cause_message({"node-1": "dockerd did not start: ..."})
    causes = group_causes([("suites/test_x.py::test_y[node-1]", text, "node-1")])
    causes[0]                 # {"cause": "dockerd did not start: ...", "where": ["node-1"],
                              #  "checks": ["suites/test_x.py::test_y[node-1]"]}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

KNOWN_CAUSE_MARK = "(a known cause: the check stopped here instead of waiting on its bounds)"
MIRROR = "mirror"
MAX_CAUSE_CHARS = 400

_FINDING = re.compile(r"^(?P<where>\S.*?): error \[(?P<code>[^\]\s]+)\] (?P<text>.+)$", re.M)
_NODE_CAUSE = re.compile(r"^(?P<where>\S+) is not known to use the mirror: (?P<cause>.*)$")
# What pytest puts before a failure's text: ``Failed: `` (pytest.fail), ``AssertionError: ``.
_RAISED = re.compile(r"^(?:Failed|[A-Za-z_][\w.]*(?:Error|Exception|Timeout)): ")
_MIRROR_CAUSE = re.compile(r"^the mirror cannot serve the nodes: (?P<cause>.*)$")


def known_cause_message(problems: Mapping[str, str]) -> str:
    """The failure text of a check stopped by known causes: ``{node name or "mirror": cause}``."""
    lines = []
    for where, cause in problems.items():
        if where == MIRROR:
            lines.append(f"the mirror cannot serve the nodes: {cause}")
        else:
            lines.append(f"{where} is not known to use the mirror: {cause}")
    return "\n".join([*lines, KNOWN_CAUSE_MARK])


@dataclass
class _Cause:
    text: str
    where: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    def add(self, where: str, check: str) -> None:
        if where and where not in self.where:
            self.where.append(where)
        if check not in self.checks:
            self.checks.append(check)


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_CAUSE_CHARS else text[: MAX_CAUSE_CHARS - 3] + "..."


def _findings(text: str) -> list[tuple[tuple[str, str], str, str]]:
    """The error findings rendered in ``text`` as one cause: ``[(key, cause, where)]`` or [].

    The key is each finding's code, line and column (not its path), so the file
    under test and each node's copy of it give the same cause.
    """
    found = list(_FINDING.finditer(text))
    if not found:
        return []
    key = " ".join(dict.fromkeys(f"{m['code']}@{_line_column(m['where'])}" for m in found))
    cause = "\n".join(dict.fromkeys(f"[{m['code']}] {m['text']}" for m in found))
    return [(("findings", key), cause, found[0]["where"])]


def _line_column(where: str) -> str:
    parts = where.rsplit(":", 2)
    return ":".join(p for p in parts[1:] if p.isdigit())


_Named = tuple[tuple[str, str], str, str, str]  # key, cause, where, the node it stops or ""


def _known(message: str) -> list[_Named]:
    """The causes a ``known_cause_message`` names, findings first."""
    # The mark ends the text; a report that cut a long text short still starts with a cause.
    first = message.split("\n", 1)[0]
    if KNOWN_CAUSE_MARK not in message and not (
        _NODE_CAUSE.match(first) or _MIRROR_CAUSE.match(first)
    ):
        return []
    found: list[_Named] = []
    blocks: list[tuple[str, list[str]]] = []
    for line in message.splitlines():
        if line == KNOWN_CAUSE_MARK:
            continue
        node, mirror = _NODE_CAUSE.match(line), _MIRROR_CAUSE.match(line)
        if mirror:
            blocks.append((MIRROR, [mirror["cause"]]))
        elif node:
            blocks.append((node["where"], [node["cause"]]))
        elif blocks:
            blocks[-1][1].append(line)
    for where, lines in blocks:
        text = "\n".join(lines)
        findings = _findings(text)
        owner = "" if where == MIRROR else where
        if findings:
            for key, cause, place in findings:
                place = place if place.startswith(f"{where}:") else f"{where}: {place}"
                found.append((key, cause, place, owner))
            continue
        first = lines[0].split("; its daemon.json:")[0]
        key = first.replace(where, "{node}") if owner else first
        found.append((("known", key), _short(first), where, owner))
    return found


def _leading_node(message: str, nodes: set[str]) -> str | None:
    """The node a message starts with (``node-1 ...``, ``node-1: ...``, ``node-1's ...``)."""
    first = message.split(None, 1)[0] if message.strip() else ""
    for name in (first, first.rstrip(":"), first.removesuffix("'s").rstrip(":")):
        if name in nodes:
            return name
    return None


class _Causes:
    """The causes found so far, by key; findings that share one error are one cause."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], _Cause] = {}
        self._owner: dict[str, tuple[str, str]] = {}  # one finding (code@line:column) -> key

    def key_for(self, key: tuple[str, str], text: str) -> tuple[str, str]:
        """The key ``key`` is counted under: an earlier cause sharing one of its findings."""
        if key[0] != "findings":
            self.by_key.setdefault(key, _Cause(text))
            return key
        atoms = key[1].split(" ")
        found = next((self._owner[a] for a in atoms if a in self._owner), key)
        for atom in atoms:
            self._owner.setdefault(atom, found)
        cause = self.by_key.setdefault(found, _Cause(text))
        lines = cause.text.splitlines()
        cause.text = "\n".join([*lines, *(line for line in text.splitlines() if line not in lines)])
        return found

    def add(self, key: tuple[str, str], text: str, where: str, check: str) -> tuple[str, str]:
        found = self.key_for(key, text)
        self.by_key[found].add(where, check)
        return found


def group_causes(failures: Iterable[tuple[str, str, str | None]]) -> list[dict[str, object]]:
    """The distinct causes of ``(check id, failure message, node or None)`` triples.

    Returns ``[{"cause": text, "where": [places], "checks": [check ids]}]``,
    the cause behind the most checks first. ``where`` holds ``path:line:column``
    for findings (prefixed ``<node>: `` when a stopped check named the node),
    node names, or ``mirror``. Each cause appears once: findings that share an
    error (code, line and column) are one cause, and a message is counted under
    the node it starts with (a fixture's failure names the node it pulled on,
    whichever node the check is for) before the check's own node.
    """
    failures = list(failures)
    causes = _Causes()
    by_node: dict[str, list[tuple[str, str]]] = {}
    unexplained: list[tuple[str, str, str | None]] = []
    for check, message, node in failures:
        message = _RAISED.sub("", message)
        named = _known(message) or [(*f, "") for f in _findings(message)]
        if not named:
            unexplained.append((check, message, node))
            continue
        for key, text, where, owner in named:
            found = causes.add(key, text, where, check)
            if owner:
                by_node.setdefault(owner, []).append(found)
    nodes = {node for _, _, node in failures if node} | set(by_node)
    for check, message, node in unexplained:
        subject = _leading_node(message, nodes)
        owner = next((n for n in (subject, node) if n and n in by_node), None)
        if owner:
            for key in dict.fromkeys(by_node[owner]):
                causes.add(key, causes.by_key[key].text, owner, check)
            continue
        place = subject or node
        first = next((s.strip() for s in message.splitlines() if s.strip()), "no message")
        key = ("message", first.replace(place, "{node}") if place else first)
        causes.add(key, _short(first), place or check.split("::")[0], check)
    ordered = sorted(causes.by_key.values(), key=lambda c: -len(c.checks))
    return [{"cause": c.text, "where": c.where, "checks": c.checks} for c in ordered]

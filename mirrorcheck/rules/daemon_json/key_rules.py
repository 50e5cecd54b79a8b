"""The rules on daemon.json's keys: known to the target engine, of the right type, not set twice.

Each top-level key is looked up in :mod:`mirrorcheck.rules.daemon_json.keys` for the
target engine: unknown (with a did-you-mean), a command-line flag's name
(``registry-mirror``), a downstream fork's key (``signature-verification``),
too new, removed, deprecated or without effect; a known key's value must have
the JSON type dockerd decodes into. A key also given as a flag on dockerd's
command line makes dockerd refuse to start.

Usage::

    from mirrorcheck.rules.daemon_json.key_rules import check_flag_conflicts, check_keys
    from mirrorcheck.rules.daemon_json.reader import parse_daemon_json

    doc = parse_daemon_json('{"signature-verification": false, "registry-mirror": "https://m.x"}')
    [i.finding.code for i in check_keys(doc)]
    # ['daemon-json/fork-key', 'daemon-json/flag-name-key']
    [i.finding.code for i in check_keys(doc, allow_keys=["signature-verification"])]
    # ['daemon-json/allowed-key', 'daemon-json/flag-name-key']: allowed-key is INFO
    doc = parse_daemon_json('{"debug": true}')
    check_flag_conflicts(doc, ["-H", "fd://", "--debug"])[0].dockerd_refuses   # True

Sources (moby/moby): ``daemon/config/config.go`` (getConflictFreeConfiguration,
findConfigurationConflicts).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from mirrorcheck.rules.daemon_json import catalog, keys
from mirrorcheck.rules.daemon_json.document import DaemonJson, DocumentRules, Issue
from mirrorcheck.rules.daemon_json.keys import KeyStatus
from mirrorcheck.text.json_positions import JsonMember, JsonNode, describe_value

_UNKNOWN = '("the following directives don\'t match any configuration option")'
"""How dockerd words its refusal of an unknown key."""


def check_keys(doc: DaemonJson, allow_keys: Iterable[str] = ()) -> list[Issue]:
    """Every top-level key of ``doc`` against the key table of ``doc.engine``.

    ``allow_keys``: keys a fork of dockerd accepts (e.g. ``signature-verification``).
    """
    rules = _KeyRules(doc, set(allow_keys))
    rules.keys()
    return rules.issues


class _KeyRules(DocumentRules):
    def __init__(self, doc: DaemonJson, allow_keys: set[str]):
        super().__init__(doc)
        self.allow_keys = allow_keys

    def keys(self) -> None:
        """Every top-level key dockerd uses (the last of duplicates), in file order."""
        last = {member.key: member for member in self.members}
        for member in self.members:
            if last[member.key] is member:
                self.key(member)

    def _name_refused(self, member: JsonMember) -> bool:
        names = keys.names_dockerd_checks(member.key, member.value.value, self.engine)
        return not all(keys.dockerd_accepts_name(name, self.engine) for name in names)

    def key(self, member: JsonMember) -> None:
        name, engine = member.key, self.engine
        where = {"offset": member.key_start, "key": name}
        refused = self._name_refused(member)
        refusal = f"dockerd {engine} refuses to start {_UNKNOWN}"
        if name in self.allow_keys:
            fork = keys.FORK_KEYS.get(name)
            if refused:
                self.add(
                    catalog.ALLOWED_KEY,
                    f"{name!r} is allowed by --allow-daemon-key; upstream {refusal}",
                    "make sure this node runs the fork that reads it",
                    refuses=True,
                    **where,
                )
            if fork is not None:
                self.type_check(member, fork.json_type)
            elif name in keys.DAEMON_KEYS:
                self.type_check(member, keys.DAEMON_KEYS[name].json_type)
            return
        status = keys.key_status(name, engine)
        entry = keys.DAEMON_KEYS.get(name)
        if status in (KeyStatus.VALID, KeyStatus.DEPRECATED, KeyStatus.NO_EFFECT):
            assert entry is not None or status is KeyStatus.NO_EFFECT
            if status is KeyStatus.DEPRECATED and entry is not None:
                self.add(
                    catalog.KEY_DEPRECATED,
                    f"{name!r} is deprecated in dockerd {engine}, removed in {entry.removed_from}",
                    _instead(entry),
                    refuses=False,
                    **where,
                )
            if status is KeyStatus.NO_EFFECT:
                self.add(
                    catalog.KEY_NO_EFFECT,
                    f"{name!r} has no effect in dockerd {engine}"
                    + (f": {entry.note}" if entry is not None and entry.note else ""),
                    "remove it",
                    refuses=False,
                    **where,
                )
            if entry is not None and status is not KeyStatus.NO_EFFECT:
                self.type_check(member, entry.json_type)
                self.inner_names(member)
            return
        fork = keys.FORK_KEYS.get(name)
        if fork is not None:
            self.add(
                catalog.FORK_KEY,
                f"{name!r} is not an upstream Docker Engine option: it comes from {fork.origin}; "
                f"upstream {refusal}",
                f"remove the line (and the comma that separated it), or allow it with "
                f"--allow-daemon-key {name} on nodes that run that fork",
                refuses=refused,
                **where,
            )
            return
        if status is KeyStatus.FLAG_NAME:
            self.flag_name(member, refused)
            return
        if status is KeyStatus.TOO_NEW and entry is not None:
            self.add(
                catalog.KEY_TOO_NEW,
                f"{name!r} needs Docker Engine {entry.since} or later; "
                + (refusal if refused else f"dockerd {engine} ignores it"),
                f"upgrade the engine to {entry.since}+ or remove {name!r}",
                refuses=refused,
                **where,
            )
            return
        if status is KeyStatus.REMOVED and entry is not None:
            self.add(
                catalog.KEY_REMOVED,
                f"{name!r} was removed in Docker Engine {entry.removed_from}: dockerd {engine} "
                f"refuses to start" + (f" ({entry.note})" if entry.note else ""),
                _instead(entry),
                refuses=True,
                **where,
            )
            return
        if status is KeyStatus.NEVER_ACCEPTED and entry is not None:
            self.add(
                catalog.UNKNOWN_KEY,
                f"{name!r} is a field of dockerd's configuration but not a flag, and dockerd "
                f"checks keys against its flags: {refusal}",
                f"remove it; {entry.note}",
                refuses=True,
                **where,
            )
            return
        self.unknown(member, refused)

    def inner_names(self, member: JsonMember) -> None:
        """Names inside a flattened object value (``proxies``) go through dockerd's key check."""
        if member.value.kind != "object" or not keys.is_flattened(member.key, self.engine):
            return
        for inner in member.value.members:
            if not keys.dockerd_accepts_name(inner.key, self.engine):
                self.add(
                    catalog.UNKNOWN_KEY,
                    f"unknown key {inner.key!r} inside {member.key!r}: "
                    f"dockerd {self.engine} refuses to start {_UNKNOWN}",
                    "check the spelling against the Docker documentation for "
                    f"{member.key!r}, or remove it",
                    refuses=True,
                    offset=inner.key_start,
                    key=f"{member.key}.{inner.key}",
                )

    def flag_name(self, member: JsonMember, refused: bool) -> None:
        flag = keys.FLAG_ONLY_NAMES[member.key]
        if flag.config_key:
            entry = keys.DAEMON_KEYS.get(flag.config_key)
            shape = f", {entry.json_type.value}" if entry is not None else ""
            fix = f"rename it to {flag.config_key!r}{shape}"
            if member.key == "registry-mirror":
                fix += ': "registry-mirrors": ["https://mirror.example.com"]'
        else:
            fix = "remove it; it only works on dockerd's command line"
        consequence = (
            "no mirror is configured and every pull goes to Docker Hub"
            if member.key == "registry-mirror"
            else "the setting does nothing"
        )
        self.add(
            catalog.FLAG_NAME_KEY,
            f"{member.key!r} is the name of dockerd's --{member.key} command-line flag, not a "
            f"daemon.json key: dockerd {self.engine} accepts the name and silently ignores it, "
            f"so {consequence}",
            fix,
            refuses=refused,
            offset=member.key_start,
            key=member.key,
        )

    def unknown(self, member: JsonMember, refused: bool) -> None:
        name = member.key
        candidates = keys.valid_keys(self.engine)
        same_case = [k for k in candidates if k.lower() == name.lower()]
        if same_case:
            fix = f"keys are case-sensitive: write {same_case[0]!r}"
        else:
            close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
            fix = f"did you mean {close[0]!r}? otherwise remove it" if close else "remove it"
        if refused:
            self.add(
                catalog.UNKNOWN_KEY,
                f"unknown key {name!r}: dockerd {self.engine} refuses to start {_UNKNOWN}",
                fix,
                refuses=True,
                offset=member.key_start,
                key=name,
            )
        else:
            self.add(
                catalog.IGNORED_KEY,
                f"unknown key {name!r}: dockerd {self.engine} checks only the names inside its "
                "object value, finds them known, and ignores the key silently",
                fix,
                refuses=False,
                offset=member.key_start,
                key=name,
            )

    def type_check(self, member: JsonMember, expected: keys.JsonType) -> None:
        value = member.value
        if value.kind == "null":
            self.add(
                catalog.NULL_VALUE,
                f"{member.key!r} is null: dockerd keeps its default, as if the key were absent",
                f"give {member.key!r} a value or remove it",
                refuses=False,
                offset=member.key_start,
                key=member.key,
            )
            return
        if expected.accepts(value.value):
            return
        self.add(
            catalog.TYPE,
            f"{member.key!r} must be {expected.value}, "
            f"found {describe_value(value.value, value.literal)}: "
            f"dockerd {self.engine} refuses to start (json: cannot unmarshal)",
            _type_fix(member.key, value, expected),
            refuses=True,
            offset=value.start,
            key=member.key,
        )


def check_flag_conflicts(doc: DaemonJson, flags: Sequence[str]) -> list[Issue]:
    """A key set in ``doc`` and by a flag on dockerd's command line: dockerd refuses to start.

    ``flags``: dockerd's arguments as given, e.g. ``["-H", "fd://", "--dns=1.1.1.1"]``.
    """
    rules = DocumentRules(doc)
    names: dict[str, str] = {}
    for token in flags:
        if token == "--":
            break
        if token.startswith("-") and len(token) > 1:
            conflict = keys.conflict_name(token, rules.engine)
            if conflict:
                names.setdefault(conflict, token.split("=", 1)[0])
    if not names:
        return rules.issues
    for member in rules.members:
        value = member.value
        flattened = value.kind == "object" and keys.is_flattened(member.key, rules.engine)
        inner = value.members if flattened else [member]
        for item in inner:
            if item.key in names:
                rules.add(
                    catalog.FLAG_CONFLICT,
                    f"{item.key!r} is set here and by dockerd's {names[item.key]} flag: "
                    f'dockerd {rules.engine} refuses to start ("specified both as a flag '
                    'and in the configuration file")',
                    f"remove {item.key!r} here, or drop {names[item.key]} from dockerd's "
                    "command line (systemctl cat docker)",
                    refuses=True,
                    offset=item.key_start,
                    key=item.key,
                )
    return rules.issues


def _instead(entry: keys.DaemonKey) -> str:
    return f"use {entry.replacement}" if entry.replacement else "remove it"


def _type_fix(key: str, node: JsonNode, expected: keys.JsonType) -> str:
    value = node.value
    if expected is keys.JsonType.STRING_LIST and isinstance(value, str):
        return f'make it a list: "{key}": ["{value}"]'
    if (
        expected is keys.JsonType.BOOLEAN
        and isinstance(value, str)
        and value.lower() in ("true", "false")
    ):
        return f'write {value.lower()} without quotes: "{key}": {value.lower()}'
    if expected is keys.JsonType.INTEGER and isinstance(value, str) and value.strip().isdigit():
        return f'write {value.strip()} without quotes: "{key}": {value.strip()}'
    if expected is keys.JsonType.INTEGER and isinstance(value, float) and value.is_integer():
        return f'write it as a whole number: "{key}": {int(value)}'
    return f"make {key!r} {expected.value}"

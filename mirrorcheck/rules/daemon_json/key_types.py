"""The shapes of the daemon.json key table: JSON types, key fates, and one entry per key kind.

The data is :mod:`mirrorcheck.rules.daemon_json.key_table`; the lookups over
it are :mod:`mirrorcheck.rules.daemon_json.keys`.

Usage::

    from mirrorcheck.rules.daemon_json.key_types import JsonType

    JsonType.STRING_LIST.accepts(["https://m.example.com"])   # True
    JsonType.BOOLEAN.accepts("true")                          # False: a string
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from mirrorcheck.rules.daemon_json.engine import OLDEST, EngineVersion


class JsonType(enum.Enum):
    """The JSON shape dockerd's Go decoder accepts for a key (``null`` is accepted for all)."""

    STRING = "a string"
    BOOLEAN = "true or false"
    INTEGER = "an integer"
    STRING_LIST = "a list of strings"
    OBJECT = "an object"
    STRING_MAP = "an object of strings"
    BOOLEAN_MAP = "an object of true/false values"
    OBJECT_MAP = "an object of objects"
    OBJECT_LIST = "a list of objects"

    def accepts(self, value: Any) -> bool:
        """Whether a parsed JSON value has this shape (``None`` is JSON null)."""
        if value is None:
            return True
        return _SHAPE_CHECKS[self](value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_SHAPE_CHECKS = {
    JsonType.STRING: lambda v: isinstance(v, str),
    JsonType.BOOLEAN: lambda v: isinstance(v, bool),
    JsonType.INTEGER: _is_int,
    JsonType.STRING_LIST: lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    JsonType.OBJECT: lambda v: isinstance(v, dict),
    JsonType.STRING_MAP: lambda v: (
        isinstance(v, dict) and all(isinstance(i, str) or i is None for i in v.values())
    ),
    JsonType.BOOLEAN_MAP: lambda v: (
        isinstance(v, dict) and all(isinstance(i, bool) or i is None for i in v.values())
    ),
    JsonType.OBJECT_MAP: lambda v: (
        isinstance(v, dict) and all(isinstance(i, dict) or i is None for i in v.values())
    ),
    JsonType.OBJECT_LIST: lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
}


class KeyStatus(enum.Enum):
    """What dockerd of a given version does with a top-level key."""

    VALID = "read and used"
    DEPRECATED = "read and used, with a deprecation warning"
    NO_EFFECT = "accepted and ignored"
    TOO_NEW = "not known yet: dockerd refuses to start"
    REMOVED = "removed: dockerd refuses to start"
    NEVER_ACCEPTED = "has a field but no flag: dockerd refuses to start"
    FLAG_NAME = "a command-line flag's name: accepted and silently ignored"
    UNKNOWN = "unknown: dockerd refuses to start"


@dataclass(frozen=True)
class DaemonKey:
    """One ``json:"..."`` tag of dockerd's Linux configuration.

    ``since``: first release with the key. ``deprecated_from``: dockerd warns.
    ``removed_from``: dockerd refuses to start when the key is set (an explicit
    error or, once the field is gone, the unknown-key check).
    ``no_effect_from``: accepted but ignored. ``never_accepted``: the struct has
    the field but no flag of that name exists, so the unknown-key check refuses
    it in every release (measured on 20.10 for all five such keys).
    ``replacement``: the key to use instead; ``note``: what else to know.
    """

    name: str
    json_type: JsonType
    source: str
    since: EngineVersion = OLDEST
    deprecated_from: EngineVersion | None = None
    removed_from: EngineVersion | None = None
    no_effect_from: EngineVersion | None = None
    never_accepted: bool = False
    replacement: str = ""
    note: str = ""

    def status(self, engine: EngineVersion) -> KeyStatus:
        """The key's fate on ``engine``."""
        if self.never_accepted:
            return KeyStatus.NEVER_ACCEPTED
        if engine < self.since:
            return KeyStatus.TOO_NEW
        if self.removed_from is not None and engine >= self.removed_from:
            return KeyStatus.REMOVED
        if self.no_effect_from is not None and engine >= self.no_effect_from:
            return KeyStatus.NO_EFFECT
        if self.deprecated_from is not None and engine >= self.deprecated_from:
            return KeyStatus.DEPRECATED
        return KeyStatus.VALID


@dataclass(frozen=True)
class FlagOnlyName:
    """A dockerd flag name that is not a daemon.json key of the same name.

    dockerd's unknown-key check accepts it, no field reads it: silently ignored.
    ``config_key`` is the key that does what the flag does, if there is one.
    ``named_option``: the flag's value type carries ``config_key`` as its name,
    which is the name dockerd's flag/file conflict check looks for.
    """

    name: str
    config_key: str
    source: str
    since: EngineVersion = OLDEST
    until: EngineVersion | None = None
    named_option: bool = True

    def exists_in(self, engine: EngineVersion) -> bool:
        return engine >= self.since and (self.until is None or engine < self.until)


@dataclass(frozen=True)
class ForkKey:
    """A key from a downstream fork of Docker that upstream dockerd refuses."""

    name: str
    json_type: JsonType
    origin: str
    source: str

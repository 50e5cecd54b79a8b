"""What dockerd of each engine version does with a daemon.json key: the lookups.

Why flags matter: dockerd does not reject unknown keys by its struct but by
its flags (``findConfigurationConflicts`` in moby's ``daemon/config/config.go``).
A key that names a flag passes even when no struct field reads it, so
``"registry-mirror"`` (the ``--registry-mirror`` flag) starts dockerd and is
silently ignored; a field without a flag (``resolv-conf``) is refused.

The table itself is :mod:`mirrorcheck.rules.daemon_json.key_table`.

Usage::

    from mirrorcheck.rules.daemon_json.keys import (
        DAEMON_KEYS, FLAG_ONLY_NAMES, EngineVersion, key_status, names_dockerd_checks,
    )

    engine = EngineVersion.parse("20.10")
    DAEMON_KEYS["registry-mirrors"].json_type       # JsonType.STRING_LIST
    key_status("registry-mirrors", engine)          # KeyStatus.VALID
    key_status("proxies", engine)                   # KeyStatus.TOO_NEW (23.0)
    FLAG_ONLY_NAMES["registry-mirror"].config_key   # 'registry-mirrors'
    names_dockerd_checks("proxies", {"http-proxy": "x"}, engine)  # ['http-proxy']
"""

from __future__ import annotations

from typing import Any

from mirrorcheck.rules.daemon_json.engine import OLDEST, EngineVersion
from mirrorcheck.rules.daemon_json.key_table import (
    DAEMON_KEYS,
    FLAG_ONLY_NAMES,
    FLAG_SHORTHANDS,
    FLATTENED_EXCEPT,
    FORK_KEYS,
    SKIP_VALIDATE,
)
from mirrorcheck.rules.daemon_json.key_types import (
    DaemonKey,
    FlagOnlyName,
    ForkKey,
    JsonType,
    KeyStatus,
)

__all__ = [
    "DAEMON_KEYS",
    "FLAG_ONLY_NAMES",
    "FLAG_SHORTHANDS",
    "FORK_KEYS",
    "OLDEST",
    "DaemonKey",
    "EngineVersion",
    "FlagOnlyName",
    "ForkKey",
    "JsonType",
    "KeyStatus",
    "conflict_name",
    "dockerd_accepts_name",
    "is_flattened",
    "key_status",
    "names_dockerd_checks",
    "valid_keys",
]


def key_status(name: str, engine: EngineVersion) -> KeyStatus:
    """What dockerd ``engine`` does with top-level key ``name`` (ignoring its value)."""
    key = DAEMON_KEYS.get(name)
    if key is not None:
        return key.status(engine)
    flag = FLAG_ONLY_NAMES.get(name)
    if flag is not None and flag.exists_in(engine):
        return KeyStatus.FLAG_NAME
    if _in_table(SKIP_VALIDATE, name, engine):
        return KeyStatus.NO_EFFECT
    return KeyStatus.UNKNOWN


def valid_keys(engine: EngineVersion) -> list[str]:
    """Keys dockerd ``engine`` reads and uses, sorted."""
    usable = (KeyStatus.VALID, KeyStatus.DEPRECATED)
    return sorted(name for name, key in DAEMON_KEYS.items() if key.status(engine) in usable)


def is_flattened(name: str, engine: EngineVersion) -> bool:
    """Whether dockerd flattens an object value of ``name`` before checking names."""
    return not _in_table(FLATTENED_EXCEPT, name, engine)


def dockerd_accepts_name(name: str, engine: EngineVersion) -> bool:
    """Whether dockerd ``engine`` starts with ``name`` set, judging by the name alone.

    True for keys it reads, flag names it ignores and names it skips; False for
    unknown, not-yet-known, removed and never-accepted keys.
    """
    key = DAEMON_KEYS.get(name)
    if key is not None and not key.never_accepted and engine >= key.since:
        # Removed keys that still have a flag pass this check and fail later;
        # either way dockerd stops, which key_status reports as REMOVED.
        return key.removed_from is None or engine < key.removed_from
    flag = FLAG_ONLY_NAMES.get(name)
    if flag is not None and flag.exists_in(engine):
        return True
    return _in_table(SKIP_VALIDATE, name, engine)


def names_dockerd_checks(name: str, value: Any, engine: EngineVersion) -> list[str]:
    """The names dockerd's unknown-key check examines for one top-level member.

    An object value is flattened (``configValuesSet``) unless the key is one
    of the flat options: then its members' names are checked, not its own.
    """
    if isinstance(value, dict) and is_flattened(name, engine):
        return list(value)
    return [name]


def _in_table(
    table: tuple[tuple[str, EngineVersion], ...], name: str, engine: EngineVersion
) -> bool:
    return any(entry == name and engine >= since for entry, since in table)


def conflict_name(flag: str, engine: EngineVersion) -> str:
    """The daemon.json name dockerd compares with a command-line flag (``-H`` -> ``hosts``).

    ``flag`` is written as on the command line (``--bridge=none``, ``-H``) or bare.
    Empty when the flag cannot clash with the file (``runtimes`` is merged).
    """
    name = flag.lstrip("-").split("=", 1)[0]
    if flag.startswith("-") and not flag.startswith("--") and name:
        name = FLAG_SHORTHANDS.get(name[0], name)
    only = FLAG_ONLY_NAMES.get(name)
    if only is not None and only.exists_in(engine) and only.named_option:
        name = only.config_key
    return "" if name == "runtimes" else name

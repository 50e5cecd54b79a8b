"""The daemon.json keys Docker Engine knows on Linux, per engine version.

One table, read from moby/moby at each release tag (Engine 20.10 to 29.x):
the ``json:"..."`` tags of ``Config``/``CommonConfig`` and the structs they
embed (``daemon/config/config.go``, ``config_linux.go``; before 23.0
``config_unix.go`` and ``config_common_unix.go``; ``registry/config.go`` for
``ServiceOptions``, ``daemon/pkg/registry/config.go`` from 29.0), and the
command-line flags (``cmd/dockerd/*.go``, ``daemon/command/*.go`` from 29.0).

Why flags matter: dockerd does not reject unknown keys by its struct but by
its flags (``findConfigurationConflicts`` in ``daemon/config/config.go``). A
key that names a flag passes even when no struct field reads it, so
``"registry-mirror"`` (the ``--registry-mirror`` flag) starts dockerd and is
silently ignored; a field without a flag (``resolv-conf``) is refused.

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

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MOBY = "https://github.com/moby/moby"


@dataclass(frozen=True, order=True)
class EngineVersion:
    """A Docker Engine release line, ``major.minor`` (patch releases do not change keys)."""

    major: int
    minor: int = 0

    @classmethod
    def parse(cls, text: str | EngineVersion) -> EngineVersion:
        """``"20.10"``, ``"20.10.24+dfsg1"``, ``"v25.0.3"`` or ``"27"``; ValueError otherwise."""
        if isinstance(text, EngineVersion):
            return text
        match = re.fullmatch(r"\s*v?(\d+)(?:\.(\d+))?(?:\.\d+)?(?:[-+~].*)?\s*", str(text))
        if not match:
            raise ValueError(f"not a Docker Engine version: {text!r} (expected e.g. 20.10 or 25.0)")
        return cls(int(match.group(1)), int(match.group(2) or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


V = EngineVersion.parse
OLDEST = V("20.10")
"""The oldest engine the table covers; ``since=OLDEST`` means "20.10 or earlier"."""
NEWEST = V("29.7")
"""The newest release tag the table was read from."""


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


S, B, N = JsonType.STRING, JsonType.BOOLEAN, JsonType.INTEGER
SL, OB = JsonType.STRING_LIST, JsonType.OBJECT
SM, BM, OM, OL = (
    JsonType.STRING_MAP,
    JsonType.BOOLEAN_MAP,
    JsonType.OBJECT_MAP,
    JsonType.OBJECT_LIST,
)
CFG = "daemon/config/config.go"
LNX = "daemon/config/config_linux.go (config_unix.go before 23.0)"
CUX = "daemon/config/config_linux.go (config_common_unix.go before 23.0)"
REG = "registry/config.go ServiceOptions (daemon/pkg/registry/config.go from 29.0)"

_KEYS = (
    DaemonKey("allow-direct-routing", B, LNX, since=V("28.2")),
    DaemonKey(
        "allow-nondistributable-artifacts",
        SL,
        REG,
        no_effect_from=V("28.1"),
        note="non-distributable artifacts are always pushed from 28.1",
    ),
    DaemonKey("api-cors-header", S, CFG, removed_from=V("28.0"), note="use a reverse proxy"),
    DaemonKey("authorization-plugins", SL, CFG),
    DaemonKey("bip", S, CUX),
    DaemonKey("bip6", S, LNX, since=V("28.0")),
    DaemonKey("bridge", S, CFG),
    DaemonKey("bridge-accept-fwmark", S, LNX, since=V("29.0")),
    DaemonKey("builder", OB, CFG + " BuilderConfig"),
    DaemonKey("cdi-spec-dirs", SL, CFG, since=V("25.0")),
    DaemonKey("cgroup-parent", S, LNX),
    DaemonKey("cluster-advertise", S, CFG, deprecated_from=OLDEST, removed_from=V("23.0")),
    DaemonKey("cluster-store", S, CFG, deprecated_from=OLDEST, removed_from=V("23.0")),
    DaemonKey("cluster-store-opts", SM, CFG, deprecated_from=OLDEST, removed_from=V("23.0")),
    DaemonKey("containerd", S, CFG),
    DaemonKey("containerd-namespace", S, CFG),
    DaemonKey(
        "containerd-plugin-namespace",
        S,
        CFG,
        never_accepted=True,
        note="use the --containerd-plugins-namespace command-line flag instead",
    ),
    DaemonKey("cpu-rt-period", N, LNX),
    DaemonKey("cpu-rt-runtime", N, LNX),
    DaemonKey("cri-containerd", B, CFG),
    DaemonKey("data-root", S, CFG),
    DaemonKey("debug", B, CFG),
    DaemonKey("default-address-pools", OL, CFG + " NetworkConfig (opts.PoolsOpt)"),
    DaemonKey("default-cgroupns-mode", S, LNX),
    DaemonKey("default-gateway", S, CUX),
    DaemonKey("default-gateway-v6", S, CUX),
    DaemonKey(
        "default-init",
        S,
        CUX,
        never_accepted=True,
        note="set 'init-path' instead",
    ),
    DaemonKey("default-ipc-mode", S, LNX),
    DaemonKey("default-network-opts", OM, CFG, since=V("24.0")),
    DaemonKey("default-runtime", S, CUX),
    DaemonKey("default-shm-size", S, LNX + ' (opts.MemBytes, a string such as "64M")'),
    DaemonKey("default-stop-timeout", N, CFG, since=V("29.7")),
    DaemonKey("default-ulimits", OM, LNX),
    DaemonKey("deprecated-key-path", S, CFG, no_effect_from=V("24.0")),
    DaemonKey("dns", SL, CFG + " DNSConfig"),
    DaemonKey("dns-opts", SL, CFG + " DNSConfig"),
    DaemonKey("dns-search", SL, CFG + " DNSConfig"),
    DaemonKey("exec-opts", SL, CFG),
    DaemonKey("exec-root", S, CFG),
    DaemonKey("experimental", B, CFG),
    DaemonKey("features", BM, CFG),
    DaemonKey("firewall-backend", S, CFG, since=V("29.0")),
    DaemonKey("fixed-cidr", S, CFG),
    DaemonKey("fixed-cidr-v6", S, LNX),
    DaemonKey(
        "graph",
        S,
        CFG,
        deprecated_from=OLDEST,
        removed_from=V("23.0"),
        replacement="'data-root'",
    ),
    DaemonKey("group", S, CFG),
    DaemonKey("host-gateway-ip", S, CFG + " DNSConfig"),
    DaemonKey("host-gateway-ips", SL, CFG, since=V("28.0")),
    DaemonKey("hosts", SL, CFG),
    DaemonKey("icc", B, CUX),
    DaemonKey("init", B, LNX),
    DaemonKey("init-path", S, LNX),
    DaemonKey("insecure-registries", SL, REG),
    DaemonKey("ip", S, CUX),
    DaemonKey("ip-forward", B, LNX),
    DaemonKey("ip-forward-no-drop", B, LNX, since=V("28.0")),
    DaemonKey("ip-masq", B, LNX),
    DaemonKey("ip6tables", B, LNX),
    DaemonKey("iptables", B, LNX),
    DaemonKey("ipv6", B, LNX),
    DaemonKey("labels", SL, CFG),
    DaemonKey("live-restore", B, CFG),
    DaemonKey("log-driver", S, CFG + " LogConfig"),
    DaemonKey("log-format", S, CFG, since=V("25.0")),
    DaemonKey("log-level", S, CFG),
    DaemonKey("log-opts", SM, CFG + " LogConfig"),
    DaemonKey("max-concurrent-downloads", N, CFG),
    DaemonKey("max-concurrent-uploads", N, CFG),
    DaemonKey("max-download-attempts", N, CFG),
    DaemonKey("metrics-addr", S, CFG),
    DaemonKey("min-api-version", S, CFG, since=V("29.0")),
    DaemonKey("mtu", N, CFG),
    DaemonKey("network-control-plane-mtu", N, CFG + " NetworkConfig"),
    DaemonKey("network-diagnostic-port", N, CFG),
    DaemonKey("no-new-privileges", B, LNX),
    DaemonKey("node-generic-resources", SL, CFG),
    DaemonKey("nri-opts", OB, CFG, since=V("29.2")),
    DaemonKey(
        "oom-score-adjust",
        N,
        LNX,
        deprecated_from=V("24.0"),
        removed_from=V("25.0"),
        note="25.0 refuses a non-zero value; set OOMScoreAdjust in the systemd unit",
    ),
    DaemonKey("pidfile", S, CFG),
    DaemonKey("proxies", OB, CFG + " Proxies (http-proxy, https-proxy, no-proxy)", since=V("23.0")),
    DaemonKey("raw-logs", B, CFG),
    DaemonKey("registry-mirrors", SL, REG),
    DaemonKey(
        "resolv-conf",
        S,
        LNX,
        never_accepted=True,
        note="dockerd picks the host's resolv.conf itself",
    ),
    DaemonKey("rootless", B, LNX),
    DaemonKey("runtimes", OM, CUX),
    DaemonKey("seccomp-profile", S, LNX),
    DaemonKey("selinux-enabled", B, LNX),
    DaemonKey("shutdown-timeout", N, CFG),
    DaemonKey("storage-driver", S, CFG),
    DaemonKey("storage-opts", SL, CFG),
    DaemonKey("swarm-default-advertise-addr", S, CFG),
    DaemonKey(
        "swarm-raft-election-tick",
        N,
        CFG,
        never_accepted=True,
        note="there is no flag for it either",
    ),
    DaemonKey(
        "swarm-raft-heartbeat-tick",
        N,
        CFG,
        never_accepted=True,
        note="there is no flag for it either",
    ),
    DaemonKey("tls", B, CFG),
    DaemonKey("tlscacert", S, CFG + " CommonTLSOptions"),
    DaemonKey("tlscert", S, CFG + " CommonTLSOptions"),
    DaemonKey("tlskey", S, CFG + " CommonTLSOptions"),
    DaemonKey("tlsverify", B, CFG),
    DaemonKey("userland-proxy", B, LNX),
    DaemonKey("userland-proxy-path", S, LNX),
    DaemonKey("userns-remap", S, LNX),
)

DAEMON_KEYS: Mapping[str, DaemonKey] = {key.name: key for key in _KEYS}
"""Every daemon.json key dockerd's Linux build has had from 20.10 to 29.x, by name."""

FLAGS = "cmd/dockerd/config.go, config_unix.go, options.go, docker.go (daemon/command/ from 29.0)"
_FLAG_ONLY = (
    FlagOnlyName("registry-mirror", "registry-mirrors", FLAGS),
    FlagOnlyName("insecure-registry", "insecure-registries", FLAGS),
    FlagOnlyName("label", "labels", FLAGS),
    FlagOnlyName("host", "hosts", FLAGS),
    FlagOnlyName("dns-opt", "dns-opts", FLAGS),
    FlagOnlyName("exec-opt", "exec-opts", FLAGS),
    FlagOnlyName("storage-opt", "storage-opts", FLAGS),
    FlagOnlyName("log-opt", "log-opts", FLAGS),
    FlagOnlyName("authorization-plugin", "authorization-plugins", FLAGS),
    FlagOnlyName("add-runtime", "runtimes", FLAGS),
    FlagOnlyName("default-ulimit", "default-ulimits", FLAGS),
    FlagOnlyName("default-address-pool", "default-address-pools", FLAGS),
    FlagOnlyName("node-generic-resource", "node-generic-resources", FLAGS),
    FlagOnlyName("cluster-store-opt", "cluster-store-opts", FLAGS, until=V("24.0")),
    FlagOnlyName("default-network-opt", "default-network-opts", FLAGS, since=V("24.0")),
    FlagOnlyName("cdi-spec-dir", "cdi-spec-dirs", FLAGS, since=V("25.0")),
    FlagOnlyName("feature", "features", FLAGS, since=V("28.0")),
    FlagOnlyName("http-proxy", "proxies", FLAGS, since=V("23.0"), named_option=False),
    FlagOnlyName("https-proxy", "proxies", FLAGS, since=V("23.0"), named_option=False),
    FlagOnlyName("no-proxy", "proxies", FLAGS, since=V("23.0"), named_option=False),
    FlagOnlyName("containerd-plugins-namespace", "", FLAGS, named_option=False),
    FlagOnlyName("config-file", "", FLAGS, named_option=False),
    FlagOnlyName("restart", "", FLAGS, named_option=False),
    FlagOnlyName("version", "", FLAGS, named_option=False),
    FlagOnlyName("validate", "", FLAGS, since=V("23.0"), named_option=False),
)

FLAG_ONLY_NAMES: Mapping[str, FlagOnlyName] = {flag.name: flag for flag in _FLAG_ONLY}
"""Flag names that pass dockerd's unknown-key check but set nothing (measured on 20.10)."""

FLAG_SHORTHANDS: Mapping[str, str] = {
    "D": "debug",
    "H": "host",
    "G": "group",
    "b": "bridge",
    "g": "graph",
    "l": "log-level",
    "p": "pidfile",
    "r": "restart",
    "s": "storage-driver",
    "v": "version",
}
"""dockerd's one-letter flags and their long names (same source files as FLAGS)."""

_FLATTENED_EXCEPT = (
    ("cluster-store-opts", OLDEST),
    ("log-opts", OLDEST),
    ("runtimes", OLDEST),
    ("default-ulimits", OLDEST),
    ("features", OLDEST),
    ("builder", OLDEST),
    ("default-network-opts", V("24.0")),
    ("nri-opts", V("29.2")),
)
"""``flatOptions`` in daemon/config/config.go: object values dockerd does NOT flatten.

Every other object value is flattened before the unknown-key check: its own
name is never checked, its members' names are.
"""

_SKIP_VALIDATE = (
    ("features", OLDEST),
    ("builder", OLDEST),
    ("deprecated-key-path", OLDEST),
    ("allow-nondistributable-artifacts", V("28.1")),
    ("min-api-version", V("29.0")),
)
"""``skipValidateOptions`` in daemon/config/config.go: names the unknown-key check lets pass."""

FORK_KEYS: Mapping[str, ForkKey] = {
    "signature-verification": ForkKey(
        "signature-verification",
        JsonType.BOOLEAN,
        "Red Hat's docker / docker-latest packages (projectatomic/docker), whose config "
        "lives in /etc/docker-latest/daemon.json",
        "https://github.com/projectatomic/docker daemon/config/config_unix.go (SigCheck)",
    ),
    "enable-secrets": ForkKey(
        "enable-secrets",
        JsonType.BOOLEAN,
        "Red Hat's docker / docker-latest packages (projectatomic/docker)",
        "https://github.com/projectatomic/docker daemon/config/config_unix.go (EnableSecrets)",
    ),
}
"""Keys from forks that upstream dockerd refuses (measured on 20.10 for signature-verification)."""


def key_status(name: str, engine: EngineVersion) -> KeyStatus:
    """What dockerd ``engine`` does with top-level key ``name`` (ignoring its value)."""
    key = DAEMON_KEYS.get(name)
    if key is not None:
        return key.status(engine)
    flag = FLAG_ONLY_NAMES.get(name)
    if flag is not None and flag.exists_in(engine):
        return KeyStatus.FLAG_NAME
    if _in_table(_SKIP_VALIDATE, name, engine):
        return KeyStatus.NO_EFFECT
    return KeyStatus.UNKNOWN


def valid_keys(engine: EngineVersion) -> list[str]:
    """Keys dockerd ``engine`` reads and uses, sorted."""
    usable = (KeyStatus.VALID, KeyStatus.DEPRECATED)
    return sorted(name for name, key in DAEMON_KEYS.items() if key.status(engine) in usable)


def is_flattened(name: str, engine: EngineVersion) -> bool:
    """Whether dockerd flattens an object value of ``name`` before checking names."""
    return not _in_table(_FLATTENED_EXCEPT, name, engine)


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
    return _in_table(_SKIP_VALIDATE, name, engine)


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

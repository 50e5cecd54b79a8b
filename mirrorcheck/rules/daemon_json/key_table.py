"""The daemon.json keys Docker Engine knows on Linux, per engine version: the table as data.

One table, read from moby/moby at each release tag (Engine 20.10 to 29.7):
the ``json:"..."`` tags of ``Config``/``CommonConfig`` and the structs they
embed (``daemon/config/config.go``, ``config_linux.go``; before 23.0
``config_unix.go`` and ``config_common_unix.go``; ``registry/config.go`` for
``ServiceOptions``, ``daemon/pkg/registry/config.go`` from 29.0), and the
command-line flags (``cmd/dockerd/*.go``, ``daemon/command/*.go`` from 29.0).
The lookups over it are :mod:`mirrorcheck.rules.daemon_json.keys`.

Usage::

    from mirrorcheck.rules.daemon_json.key_table import DAEMON_KEYS, FLAG_ONLY_NAMES

    DAEMON_KEYS["registry-mirrors"].json_type       # JsonType.STRING_LIST
    FLAG_ONLY_NAMES["registry-mirror"].config_key   # 'registry-mirrors'
"""

from __future__ import annotations

from collections.abc import Mapping

from mirrorcheck.rules.daemon_json.engine import OLDEST, EngineVersion
from mirrorcheck.rules.daemon_json.key_types import DaemonKey, FlagOnlyName, ForkKey, JsonType

V = EngineVersion.parse
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

NEWEST_KNOWN: EngineVersion = max(
    v for key in _KEYS for v in vars(key).values() if isinstance(v, EngineVersion)
)
"""The newest engine the table has facts for: the last release whose keys were read."""

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

FLATTENED_EXCEPT = (
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

SKIP_VALIDATE = (
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

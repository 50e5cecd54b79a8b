"""Every registry config and stack rule, declared once: code, severity, meaning, fix, gate.

The config lint (:mod:`mirrorcheck.rules.registry.config_lint` and its checks)
makes the ``registry-config/...`` findings, the stack lint
(:mod:`mirrorcheck.rules.registry.stack_lint`) the ``registry-stack/...`` ones;
the readers' ``unreadable`` and ``yaml-syntax`` findings come from
:mod:`mirrorcheck.text.yaml_source` under the same codes. Each suite check in
``suites/test_registry_config.py`` fails on every error of its family, so
``gated_by`` names that check. A rule whose severity depends on the case
(``remoteurl-path``, ``remoteurl-not-docker-hub``) is declared with the
severity of its worse case.

Usage::

    from mirrorcheck.rules.registry.catalog import PROXY_MISSING, RULES

    PROXY_MISSING.code                     # 'registry-config/proxy-missing'
    sorted(RULES)                          # every registry-config and registry-stack code
"""

from __future__ import annotations

from mirrorcheck.findings import Rule, Severity, rule_table
from mirrorcheck.rules import placeholder

_SUITE = "suites/test_registry_config.py::"
CONFIG_CHECK = _SUITE + "test_registry_config_passes_the_lint"
STACK_CHECK = _SUITE + "test_stack_file_passes_the_lint"
_REFERENCE_FIX = "start from the reference config (version: 0.1, storage, proxy.remoteurl)"


def _config(name: str, severity: Severity, summary: str, fix: str = _REFERENCE_FIX) -> Rule:
    return Rule(f"registry-config/{name}", severity, summary, fix=fix, gated_by=(CONFIG_CHECK,))


def _stack(name: str, severity: Severity, summary: str, fix: str) -> Rule:
    return Rule(f"registry-stack/{name}", severity, summary, fix=fix, gated_by=(STACK_CHECK,))


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

# --------------------------------------------------------------------------- config.yml

CONFIG_UNREADABLE = _config(
    "unreadable", E, "the config file cannot be read", "pass the path of an existing file"
)
CONFIG_YAML_SYNTAX = _config(
    "yaml-syntax", E, "the config is not valid YAML", "fix the YAML syntax at this position"
)
NOT_A_MAPPING = _config(
    "not-a-mapping",
    E,
    "the file is empty or its top level is not a mapping of keys",
    "write the config as 'key: value' lines (version: 0.1, storage:, proxy:)",
)
VERSION_MISSING = _config(
    "version-missing", E, "no 'version' key", "add 'version: 0.1' as the first line"
)
VERSION_UNSUPPORTED = _config(
    "version-unsupported",
    E,
    "version is not 0.1, the only config format distribution knows",
    "write 'version: 0.1' (the format version, not the registry's)",
)
DUPLICATE_KEY = _config(
    "duplicate-key", E, "a key written twice; the earlier one is dropped", "merge the two blocks"
)
WRONG_TYPE = _config(
    "wrong-type", E, "a value of the wrong shape", "write it as the reference config does"
)
UNKNOWN_KEY = _config(
    "unknown-key", E, "a key the registry version does not know; ignored without a word"
)
KEY_CASE = _config("key-case", E, "a key in the wrong case; keys are lower case")
KEY_NOT_IN_VERSION = _config(
    "key-not-in-version",
    E,
    "a key of another distribution version; this one ignores it",
    "remove it, or run the distribution version that has it",
)
STORAGE_UNKNOWN_KEY = _config(
    "storage-unknown-key", E, "an unknown key under storage is taken for a driver name"
)
PROXY_MISSING = _config(
    "proxy-missing",
    E,
    "no proxy.remoteurl: a plain registry, not a pull-through cache",
    "add 'proxy:' with 'remoteurl: https://registry-1.docker.io' (or set "
    "REGISTRY_PROXY_REMOTEURL in the container's environment)",
)
PROXY_REMOTEURL_CASE = _config(
    "proxy-remoteurl-case",
    E,
    "remoteurl in another case is ignored: a plain registry, NOT a mirror",
    "rename it to 'remoteurl'",
)
PROXY_TTL_UNSUPPORTED = _config(
    "proxy-ttl-unsupported",
    E,
    "proxy.ttl on a version that ignores it",
    "remove proxy.ttl, or run distribution 3 (image registry:3) where it exists",
)
PROXY_TTL_INVALID = _config(
    "proxy-ttl-invalid",
    E,
    "proxy.ttl is not a Go duration with a unit",
    "use h, m or s units (7 days is 'ttl: 168h'; there is no 'd')",
)
PROXY_TTL_DISABLED = _config(
    "proxy-ttl-disabled",
    I,
    "proxy.ttl is zero: expiry is off and the cache only grows",
    "set a duration (default 168h) unless the disk holds every image ever pulled",
)
PROXY_CACHEWRITETIMEOUT_INVALID = _config(
    "proxy-cachewritetimeout-invalid",
    E,
    "proxy.cachewritetimeout is not a Go duration with a unit",
    "write a duration with a unit (default 5m), e.g. 'cachewritetimeout: 10m'",
)
PROXY_EXEC_IGNORES_CREDENTIALS = _config(
    "proxy-exec-ignores-credentials",
    W,
    "proxy.exec is set, so proxy.username and proxy.password are ignored",
    "keep one way to log in upstream: remove username/password, or remove exec",
)
REMOTEURL_NOT_HTTPS = _config(
    "remoteurl-not-https",
    E,
    "proxy.remoteurl is not an https:// URL",
    "write the full URL: https://registry-1.docker.io",
)
REMOTEURL_NOT_DOCKER_HUB = _config(
    "remoteurl-not-docker-hub",
    E,
    "proxy.remoteurl is not Docker Hub's registry API (a legacy alias only warns)",
    "set proxy.remoteurl: https://registry-1.docker.io",
)
REMOTEURL_PATH = _config(
    "remoteurl-path",
    E,
    "proxy.remoteurl has a path (a trailing '/' only warns)",
    "use the registry's root URL: https://registry-1.docker.io",
)
REMOTEURL_UNEXPECTED = _config(
    "remoteurl-unexpected",
    E,
    "proxy.remoteurl is not the expected upstream",
    "set proxy.remoteurl to the expected upstream",
)
STORAGE_MISSING = _config(
    "storage-missing",
    E,
    "no storage driver",
    "add 'storage:' with 'filesystem: {rootdirectory: /var/lib/registry}'",
)
STORAGE_MULTIPLE_DRIVERS = _config(
    "storage-multiple-drivers",
    E,
    "more than one storage driver",
    "keep exactly one driver (filesystem for a mirror)",
)
STORAGE_INMEMORY = _config(
    "storage-inmemory",
    E,
    "the cache lives in memory: every restart empties it",
    "use 'filesystem: {rootdirectory: /var/lib/registry}' on a persistent volume",
)
ROOTDIRECTORY_RELATIVE = _config(
    "rootdirectory-relative",
    W,
    "storage.filesystem.rootdirectory is relative to the working directory",
    "use an absolute path on a volume, e.g. /var/lib/registry",
)
DELETE_DISABLED = _config(
    "delete-disabled",
    E,
    "storage.delete.enabled is not the boolean true: expired content stays",
    "add under storage: 'delete:' with 'enabled: true'",
)
DEBUG_ADDR_MISSING = _config(
    "debug-addr-missing",
    I,
    "no http.debug.addr: the mirror's own counters cannot be read",
    "add under http: 'debug: {addr: \":5001\"}' and keep that port unpublished",
)
CONFIG_PATH = _config(
    "config-path",
    E,
    "the config is mounted where this registry version does not read it",
    "mount the config file at the path the version reads",
)

# --------------------------------------------------------------------------- the stack file

STACK_UNREADABLE = _stack(
    "unreadable", E, "the stack file cannot be read", "pass the path of an existing file"
)
STACK_YAML_SYNTAX = _stack(
    "yaml-syntax", E, "the stack file is not valid YAML", "fix the YAML syntax at this position"
)
NO_REGISTRY_SERVICE = _stack(
    "no-registry-service",
    E,
    "no registry service in the stack file",
    "name the registry's service (--service NAME) or run image registry:2/registry:3",
)
IMAGE_UNPINNED = _stack(
    "image-unpinned",
    W,
    "the image follows the newest major release",
    "pin the major version: image: registry:2 or registry:3",
)
CONFIG_NOT_MOUNTED = _stack(
    "config-not-mounted",
    E,
    "no config.yml mounted: the image's built-in config runs, NOT a mirror",
    "mount the config file at the path the version reads",
)
STACK_CONFIG_PATH = _stack(
    "config-path",
    E,
    "the config is mounted where the image's version does not read it",
    "mount the config at the path the version reads",
)
STORAGE_NOT_MOUNTED = _stack(
    "storage-not-mounted",
    E,
    "the storage rootdirectory is on no volume: every redeploy starts with an empty cache",
    "mount persistent shared storage at the rootdirectory",
)
STORAGE_NOT_PERSISTENT = _stack(
    "storage-not-persistent",
    E,
    "the storage rootdirectory is on a mount that goes with the task",
    "mount a host path on shared storage at the rootdirectory",
)
STORAGE_NODE_LOCAL = _stack(
    "storage-node-local",
    W,
    "the storage rootdirectory is on a node-local volume",
    "bind-mount a directory on shared storage (e.g. /var/data/registry/data), or use a "
    "volume driver that every node shares",
)
STORAGE_READ_ONLY = _stack(
    "storage-read-only",
    E,
    "the storage rootdirectory is mounted read-only",
    "drop ':ro' from the data volume",
)
PORT_PUBLISHED = _stack(
    "port-published",
    W,
    "the registry's plaintext port is published around the TLS proxy",
    "remove the ports entry; the TLS proxy reaches the service over the shared network",
)
DEBUG_PORT_PUBLISHED = _stack(
    "debug-port-published",
    W,
    "the debug port (pprof, /debug/vars) is published",
    "remove that ports entry; read /debug/vars from inside the network",
)
TRAEFIK_PORT_MISMATCH = _stack(
    "traefik-port-mismatch",
    E,
    "a Traefik port label names another port than the registry listens on",
    "set the label to the port of http.addr",
)
PLACEHOLDER = _stack(
    "placeholder",
    E,
    "a label still holds a <placeholder>",
    placeholder.FIX,
)
ENV_OVERRIDE = _stack(
    "env-override",
    I,
    "a REGISTRY_* environment variable sets a config key over the file",
    "nothing to fix: the lint judges the config with the environment applied",
)
ENV_IGNORED = _stack(
    "env-ignored",
    E,
    "a REGISTRY_* variable that distribution maps to no config key: it is dropped",
    "write REGISTRY_ then the config keys in upper case joined by _ (REGISTRY_PROXY_REMOTEURL)",
)
ENV_BREAKS_START = _stack(
    "env-breaks-start",
    E,
    "a REGISTRY_* variable that makes the registry refuse to start",
    "name an existing driver, a list index in range, and give a YAML value",
)
CONFIG_FOLDER_UNSEEN = _stack(
    "config-folder-unseen",
    W,
    "a config folder is mounted, but the lint cannot read the config.yml in it",
    "give the config file itself (--registry-config), or mount a host folder the lint can read",
)
RESTART_GIVES_UP = _stack(
    "restart-gives-up",
    W,
    "the restart policy gives up, and a proxy registry panics while upstream is down",
    "use restart_policy condition any (or on-failure) without max_attempts",
)

RULES = rule_table(
    CONFIG_UNREADABLE,
    CONFIG_YAML_SYNTAX,
    NOT_A_MAPPING,
    VERSION_MISSING,
    VERSION_UNSUPPORTED,
    DUPLICATE_KEY,
    WRONG_TYPE,
    UNKNOWN_KEY,
    KEY_CASE,
    KEY_NOT_IN_VERSION,
    STORAGE_UNKNOWN_KEY,
    PROXY_MISSING,
    PROXY_REMOTEURL_CASE,
    PROXY_TTL_UNSUPPORTED,
    PROXY_TTL_INVALID,
    PROXY_TTL_DISABLED,
    PROXY_CACHEWRITETIMEOUT_INVALID,
    PROXY_EXEC_IGNORES_CREDENTIALS,
    REMOTEURL_NOT_HTTPS,
    REMOTEURL_NOT_DOCKER_HUB,
    REMOTEURL_PATH,
    REMOTEURL_UNEXPECTED,
    STORAGE_MISSING,
    STORAGE_MULTIPLE_DRIVERS,
    STORAGE_INMEMORY,
    ROOTDIRECTORY_RELATIVE,
    DELETE_DISABLED,
    DEBUG_ADDR_MISSING,
    CONFIG_PATH,
    STACK_UNREADABLE,
    STACK_YAML_SYNTAX,
    NO_REGISTRY_SERVICE,
    IMAGE_UNPINNED,
    CONFIG_NOT_MOUNTED,
    STACK_CONFIG_PATH,
    STORAGE_NOT_MOUNTED,
    STORAGE_NOT_PERSISTENT,
    STORAGE_NODE_LOCAL,
    STORAGE_READ_ONLY,
    PORT_PUBLISHED,
    DEBUG_PORT_PUBLISHED,
    TRAEFIK_PORT_MISMATCH,
    PLACEHOLDER,
    ENV_OVERRIDE,
    ENV_IGNORED,
    ENV_BREAKS_START,
    CONFIG_FOLDER_UNSEEN,
    RESTART_GIVES_UP,
)

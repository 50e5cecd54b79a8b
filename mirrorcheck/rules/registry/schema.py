"""The keys distribution's config.yml understands, per version, and where images read it.

distribution parses its config with non-strict ``gopkg.in/yaml.v2``
(``configuration/parser.go``): a key it does not know, or a known key in the
wrong case, is dropped without a word. These tables are what a strict lint
compares a file against. They were read from
``distribution/distribution:configuration/configuration.go`` at v2.8.2,
v3.0.0 and v3.1.1 (plus the storage drivers' factories and
``registry/handlers/app.go`` for the ``storage`` parameter maps).

Usage::

    from mirrorcheck.rules.registry.schema import config_path_for, schema_for

    row = schema_for(parse_version("2.8.2"))
    "ttl" in row.keys["proxy"]          # False: 2.8 ignores proxy.ttl
    config_path_for(parse_version("3.0.0"))   # "/etc/distribution/config.yml"

Spec language: a ``dict`` is a struct (only its keys are read), ``LEAF`` a
scalar, ``OPEN`` anything (maps read by plug-ins, header maps, log fields),
``ListOf(spec)`` a sequence, ``MapOf(spec)`` a map with free keys,
``ScalarOr(spec)`` a struct that may also be written as a bare name
(``storage: inmemory``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from mirrorcheck.rules.limitations import RegistryVersion, VersionRange, parse_version


@dataclass(frozen=True)
class Leaf:
    """A scalar: string, number, boolean or duration."""


@dataclass(frozen=True)
class Open:
    """Any value; its keys are read by a plug-in or are free."""


@dataclass(frozen=True)
class ListOf:
    item: Spec


@dataclass(frozen=True)
class MapOf:
    value: Spec


@dataclass(frozen=True)
class ScalarOr:
    struct: dict


Spec = Leaf | Open | ListOf | MapOf | ScalarOr | dict

LEAF = Leaf()
OPEN = Open()
STRINGS = ListOf(LEAF)
HEADERS = MapOf(STRINGS)  # net/http.Header: every value is a list

UPSTREAM = "distribution/distribution"

# Sections whose keys name a plug-in: an unknown key there is not ignored, the
# registry fails to start (storage: factory.Create; auth: GetAccessController).
PLUGIN_SECTIONS = {("storage",): "a storage driver", ("auth",): "an access controller"}

# Keys of ``storage`` that are not a driver (configuration.go Storage.Type).
STORAGE_SECTIONS_V2 = ("maintenance", "cache", "delete", "redirect")
STORAGE_SECTIONS_V3 = (*STORAGE_SECTIONS_V2, "tag")


def _schema_v2_8() -> dict:
    hook = {
        "disabled": LEAF,
        "type": LEAF,
        "levels": STRINGS,
        "options": {
            "smtp": {"addr": LEAF, "username": LEAF, "password": LEAF, "insecure": LEAF},
            "from": LEAF,
            "to": STRINGS,
        },
    }
    return {
        "version": LEAF,
        "log": {
            "accesslog": {"disabled": LEAF},
            "level": LEAF,
            "formatter": LEAF,
            "fields": OPEN,
            "hooks": ListOf(hook),
        },
        "loglevel": LEAF,
        "storage": ScalarOr(
            {
                "delete": {"enabled": LEAF},
                "maintenance": {
                    "uploadpurging": {
                        "enabled": LEAF,
                        "age": LEAF,
                        "interval": LEAF,
                        "dryrun": LEAF,
                    },
                    "readonly": {"enabled": LEAF},
                },
                # "layerinfo" is the old name app.go still accepts.
                "cache": {"blobdescriptor": LEAF, "layerinfo": LEAF},
                "redirect": {"disable": LEAF},
                "filesystem": {"rootdirectory": LEAF, "maxthreads": LEAF},
                "inmemory": {},
                "s3": OPEN,
                "s3aws": OPEN,
                "azure": OPEN,
                "gcs": OPEN,
                "oss": OPEN,
                "swift": OPEN,
            }
        ),
        "auth": ScalarOr({"silly": OPEN, "token": OPEN, "htpasswd": OPEN}),
        "middleware": MapOf(ListOf({"name": LEAF, "disabled": LEAF, "options": OPEN})),
        "reporting": {
            "bugsnag": {"apikey": LEAF, "releasestage": LEAF, "endpoint": LEAF},
            "newrelic": {"licensekey": LEAF, "name": LEAF, "verbose": LEAF},
        },
        "http": {
            "addr": LEAF,
            "net": LEAF,
            "host": LEAF,
            "prefix": LEAF,
            "secret": LEAF,
            "relativeurls": LEAF,
            "draintimeout": LEAF,
            "tls": {
                "certificate": LEAF,
                "key": LEAF,
                "clientcas": STRINGS,
                "minimumtls": LEAF,
                "ciphersuites": STRINGS,
                "letsencrypt": {"cachefile": LEAF, "email": LEAF, "hosts": STRINGS},
            },
            "headers": HEADERS,
            "debug": {"addr": LEAF, "prometheus": {"enabled": LEAF, "path": LEAF}},
            "http2": {"disabled": LEAF},
        },
        "notifications": {
            "events": {"includereferences": LEAF},
            "endpoints": ListOf(
                {
                    "name": LEAF,
                    "disabled": LEAF,
                    "url": LEAF,
                    "headers": HEADERS,
                    "timeout": LEAF,
                    "threshold": LEAF,
                    "backoff": LEAF,
                    "ignoredmediatypes": STRINGS,
                    "ignore": {"mediatypes": STRINGS, "actions": STRINGS},
                }
            ),
        },
        "redis": {
            "addr": LEAF,
            "password": LEAF,
            "db": LEAF,
            "dialtimeout": LEAF,
            "readtimeout": LEAF,
            "writetimeout": LEAF,
            "pool": {"maxidle": LEAF, "maxactive": LEAF, "idletimeout": LEAF},
        },
        "health": {
            "file": ListOf({"interval": LEAF, "file": LEAF, "threshold": LEAF}),
            # HTTPChecker.StatusCode has no yaml tag: yaml.v2 lowercases the field name.
            "http": ListOf(
                {
                    "timeout": LEAF,
                    "statuscode": LEAF,
                    "interval": LEAF,
                    "uri": LEAF,
                    "headers": HEADERS,
                    "threshold": LEAF,
                }
            ),
            "tcp": ListOf({"timeout": LEAF, "interval": LEAF, "addr": LEAF, "threshold": LEAF}),
            "storagedriver": {"enabled": LEAF, "interval": LEAF, "threshold": LEAF},
        },
        "catalog": {"maxentries": LEAF},
        "proxy": {"remoteurl": LEAF, "username": LEAF, "password": LEAF},
        "compatibility": {"schema1": {"signingkeyfile": LEAF, "enabled": LEAF}},
        "validation": {
            "enabled": LEAF,
            "disabled": LEAF,
            "manifests": {"urls": {"allow": STRINGS, "deny": STRINGS}},
        },
        "policy": {"repository": {"classes": STRINGS}},
    }


# redis.UniversalOptions (go-redis v9.7) as read by v3.0.0's Redis.UnmarshalYAML:
# lower-cased field names, function and *tls.Config fields left out.
_REDIS_V3_0 = (
    "addrs",
    "clientname",
    "db",
    "protocol",
    "username",
    "password",
    "sentinelusername",
    "sentinelpassword",
    "maxretries",
    "minretrybackoff",
    "maxretrybackoff",
    "dialtimeout",
    "readtimeout",
    "writetimeout",
    "contexttimeoutenabled",
    "poolfifo",
    "poolsize",
    "pooltimeout",
    "minidleconns",
    "maxidleconns",
    "maxactiveconns",
    "connmaxidletime",
    "connmaxlifetime",
    "maxredirects",
    "readonly",
    "routebylatency",
    "routerandomly",
    "mastername",
    "disableindentity",
    "disableidentity",
    "identitysuffix",
    "unstableresp3",
)


def _schema_v3_0() -> dict:
    schema = copy.deepcopy(_schema_v2_8())
    del schema["reporting"], schema["compatibility"]
    schema["log"]["reportcaller"] = LEAF
    http = schema["http"]
    http["h2c"] = {"enabled": LEAF}
    http["tls"]["clientauth"] = LEAF
    http["tls"]["letsencrypt"]["directoryurl"] = LEAF
    redis: dict = {name: LEAF for name in _REDIS_V3_0}
    redis["addrs"] = STRINGS
    redis["tls"] = {"certificate": LEAF, "key": LEAF, "clientcas": STRINGS}
    schema["redis"] = redis
    schema["proxy"].update(
        {"exec": {"command": LEAF, "lifetime": LEAF}, "ttl": LEAF},
    )
    storage = schema["storage"].struct
    del storage["oss"], storage["swift"]
    storage["tag"] = {"concurrencylimit": LEAF}
    storage["cache"]["blobdescriptorsize"] = LEAF
    schema["validation"]["manifests"]["indexes"] = {
        "platforms": LEAF,
        "platformlist": ListOf({"architecture": LEAF, "os": LEAF}),
    }
    return schema


def _schema_v3_1() -> dict:
    schema = _schema_v3_0()
    schema["tags"] = {"maxtags": LEAF}
    schema["proxy"]["cachewritetimeout"] = LEAF
    del schema["redis"]["disableindentity"]
    schema["redis"]["tls"] = {"certificate": LEAF, "key": LEAF, "rootcas": STRINGS}
    return schema


@dataclass(frozen=True)
class SchemaRow:
    """The keys one range of versions reads, and where that list was taken from."""

    name: str
    versions: VersionRange
    keys: dict
    storage_sections: tuple[str, ...]
    source: str


def _range(since: str | None, until: str | None) -> VersionRange:
    return VersionRange(parse_version(since), parse_version(until))


SCHEMAS: tuple[SchemaRow, ...] = (
    SchemaRow(
        name="distribution 2.8",
        versions=_range(None, "3.0.0-alpha.1"),
        keys=_schema_v2_8(),
        storage_sections=STORAGE_SECTIONS_V2,
        source=f"{UPSTREAM} configuration/configuration.go at v2.8.2",
    ),
    SchemaRow(
        name="distribution 3.0",
        versions=_range("3.0.0-alpha.1", "3.1.0"),
        keys=_schema_v3_0(),
        storage_sections=STORAGE_SECTIONS_V3,
        source=f"{UPSTREAM} configuration/configuration.go at v3.0.0",
    ),
    SchemaRow(
        name="distribution 3.1",
        versions=_range("3.1.0", None),
        keys=_schema_v3_1(),
        storage_sections=STORAGE_SECTIONS_V3,
        source=f"{UPSTREAM} configuration/configuration.go at v3.1.1",
    ),
)


def schema_for(version: RegistryVersion | None) -> SchemaRow:
    """The key table for ``version``; ``None`` reads as 2.8 (the ``registry:2`` default)."""
    if version is None:
        return SCHEMAS[0]
    for row in SCHEMAS:
        if version in row.versions:
            return row
    return SCHEMAS[-1]


def other_schemas(row: SchemaRow) -> tuple[SchemaRow, ...]:
    return tuple(other for other in SCHEMAS if other is not row)


def unwrap(spec: Spec) -> Spec:
    """The struct or leaf inside list and scalar-or wrappers."""
    while isinstance(spec, ListOf | ScalarOr):
        spec = spec.item if isinstance(spec, ListOf) else spec.struct
    return spec


def lookup(keys: Mapping, path: tuple[str, ...]) -> Spec | None:
    """The spec at a key path in a schema, or ``None`` when the path is not known.

    List indices are skipped: ``("health", "http", "uri")`` is the ``uri`` of
    any item of ``health.http``.
    """
    spec: Spec = dict(keys)
    for part in path:
        spec = unwrap(spec)
        if isinstance(spec, Open):
            return spec
        if isinstance(spec, MapOf):
            spec = spec.value
            continue
        if not isinstance(spec, dict) or part not in spec:
            return None
        spec = spec[part]
    return spec


# --------------------------------------------------------------------------- image paths


@dataclass(frozen=True)
class ConfigPathRow:
    versions: VersionRange
    path: str
    source: str


CONFIG_PATHS: tuple[ConfigPathRow, ...] = (
    ConfigPathRow(
        versions=_range(None, "3.0.0-alpha.1"),
        path="/etc/docker/registry/config.yml",
        source=(
            f"{UPSTREAM} Dockerfile at v2.8.2 (CMD serve /etc/docker/registry/config.yml); "
            "distribution/distribution-library-image Dockerfile (registry:2)"
        ),
    ),
    ConfigPathRow(
        versions=_range("3.0.0-alpha.1", None),
        path="/etc/distribution/config.yml",
        source=f"{UPSTREAM} Dockerfile at v3.0.0 (CMD serve /etc/distribution/config.yml)",
    ),
)


# The folders of those files: a folder mounted there is read as its config.yml.
CONFIG_FOLDERS: tuple[str, ...] = tuple(row.path.rsplit("/", 1)[0] for row in CONFIG_PATHS)


def config_path_for(version: RegistryVersion | None) -> str:
    """The config file the official image reads; ``None`` reads as ``registry:2``."""
    if version is None:
        return CONFIG_PATHS[0].path
    for row in CONFIG_PATHS:
        if version in row.versions:
            return row.path
    return CONFIG_PATHS[-1].path


DEFAULT_ROOTDIRECTORY = "/var/lib/registry"  # filesystem driver default; image VOLUME
DOCKER_HUB_REMOTEURL = "https://registry-1.docker.io"

"""Docker Engine versions the lab can run, as data, with the source of each fact.

Everything that differs by engine (the Debian suite a node image is built
from, the image stores it offers, the log lines of a fallback, the daemon.json
keys and checks that came with a release) lives in one table here; rules and
the lab read it. "measured here" means seen on this project's machines (see
FINDINGS.md); the other sources are moby's own files and pull requests.

Usage::

    from mirrorcheck.versions import ENGINES, engine_for_node, engine_has, store_for

    ENGINES["28.5"].debian_suite                   # "sid"
    engine_for_node(["28.5", "20.10"], 2)          # "20.10": node-2's engine
    store_for("28.5", None)                        # "containerd": the lab's default there
    engine_has("20.10", "validate_flag")           # False: `dockerd --validate` came with 23.0
    FALLBACK_LOG_LINES["containerd"].text          # "trying next host"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

CLASSIC = "classic"
CONTAINERD = "containerd"
IMAGE_STORES = (CONTAINERD, CLASSIC)


@dataclass(frozen=True)
class Sourced:
    """One fact and where it comes from (a moby file or pull request, or "measured here")."""

    text: str
    source: str


@dataclass(frozen=True)
class Engine:
    """One Docker Engine the lab builds nodes for, from one Debian suite's packages.

    ``version`` is the release line (``major.minor``); ``package_version`` the
    Debian package measured in that suite; ``image_stores`` the stores its
    dockerd offers, ``default_image_store`` the one the lab gives it unless
    ``--image-store`` says otherwise. ``store_flag``: whether its dockerd takes
    ``--feature containerd-snapshotter=true`` on the command line, so that the
    lab can choose the store without changing the daemon.json under test.
    """

    version: str
    debian_suite: str
    packages: tuple[str, ...]
    package_version: str
    image_stores: tuple[str, ...]
    default_image_store: str
    source: str
    store_flag: bool = False


ENGINES: Mapping[str, Engine] = {
    engine.version: engine
    for engine in (
        Engine(
            "20.10",
            "bookworm",
            ("docker.io",),
            "20.10.24",
            (CLASSIC,),
            CLASSIC,
            "measured here: bookworm docker.io 20.10.24+dfsg1; the containerd image store "
            "(features.containerd-snapshotter) came with 24.0 (Docker Engine 24.0 release notes)",
        ),
        Engine(
            "26.1",
            "trixie",
            ("docker.io", "docker-cli"),
            "26.1.5",
            (CLASSIC, CONTAINERD),
            CLASSIC,
            "measured here: trixie docker.io 26.1.5+dfsg1-9+deb13u1, CLI in docker-cli "
            "(a Recommends of docker.io); classic is 26's default store "
            "(daemon/daemon.go: containerd only with features.containerd-snapshotter)",
        ),
        Engine(
            "28.5",
            "sid",
            ("docker.io", "docker-cli"),
            "28.5.2",
            (CLASSIC, CONTAINERD),
            CONTAINERD,
            "measured here: sid docker.io 28.5.2+dfsg4, CLI in docker-cli; with "
            "features.containerd-snapshotter docker info shows Driver overlayfs, driver-type "
            "io.containerd.snapshotter.v1. The lab's default is containerd, as a fresh "
            "Engine 29 install (release notes 29.0: containerd image store by default)",
            store_flag=True,
        ),
    )
}

DEFAULT_ENGINE = "28.5"
"""The engine of the lab's nodes unless ``--engine`` says otherwise: 28.5 with the containerd store.

The closest to a fresh Engine 29 install (containerd store by default). Its
certificate checks are real in the lab because Docker Hub's names lead to the
lab's stand-in, not to loopback (``LOOPBACK_HUB_SKIPS_VERIFY``). Measured here:
the suites pass on 28.5 and on 20.10, and a node without the mirror's CA logs
``x509: certificate signed by unknown authority`` and falls back to the stand-in.
"""
DEFAULT_IMAGE_STORE = ENGINES[DEFAULT_ENGINE].default_image_store

STORE_FLAG_SOURCE = (
    "measured here: 28.5.2 runs the containerd store with `--feature "
    "containerd-snapshotter=true` beside a daemon.json without `features`, and refuses a file "
    'that sets `features` too ("specified both as a flag and in the configuration file: '
    'features", any feature); 26.1.5 stops with `unknown flag: --feature`'
)

SNAPSHOTTER_FEATURE = Sourced(
    "containerd-snapshotter",
    "daemon.json features.containerd-snapshotter (moby daemon/daemon.go, 24.0 and later)",
)

FALLBACK_LOG_LINES: Mapping[str, Sourced] = {
    CLASSIC: Sourced(
        "Attempting next endpoint",
        "moby distribution/pull.go (classic store); measured here on 20.10.24",
    ),
    CONTAINERD: Sourced(
        "trying next host",
        "containerd remotes/docker/resolver.go, one line per host while it resolves the "
        'manifest (the containerd store); measured here on 28.5.2: level=info msg="trying '
        'next host" error="failed to do request: ..." host=mirror.test on a connection or TLS '
        'error, and msg="trying next host after status: 404 Not Found" host=mirror.test on a '
        "status. A blob's move to the next host logs nothing at info level (BLOB_ANSWERS)",
    ),
}
"""The daemon log line of a move from a failing mirror to the next host, per image store."""

BLOB_FALLBACK_MEASURED = "measured here, 2026-11-30"
_BLOB_LAB = f"{BLOB_FALLBACK_MEASURED}: 28.5.2 (containerd), 20.10.24 (classic), Hub reachable"

BLOB_ANSWERS: Mapping[str, Mapping[str, Sourced]] = {
    "404": {
        CONTAINERD: Sourced(
            "next host for that blob alone: the manifest and the other blobs through the "
            "mirror, that blob from Docker Hub; the pull succeeds; no log line at info level",
            f"{_BLOB_LAB}: the mirror's proxy answered 404 for one layer; the stand-in saw one "
            "GET of that blob from the node (containerd remotes/docker/fetcher.go: a blob not "
            "found at one host is asked of the next)",
        ),
        CLASSIC: Sourced(
            "next endpoint for the whole pull: manifest and every blob again from Docker Hub; "
            "the pull succeeds",
            f'{_BLOB_LAB}: "Download failed after 1 attempts: unknown blob", then '
            '"Attempting next endpoint for pull after error: unknown blob"',
        ),
    },
    "5xx": {
        CONTAINERD: Sourced(
            "next host for that blob alone, after one answer; the pull succeeds; no log line "
            "at info level",
            f"{_BLOB_LAB}: the proxy answered 500 (an HTML body, or distribution's JSON error "
            "body), or 503, for one layer: one GET of it at the mirror, then one at the stand-in. "
            "With the stand-in down too the pull fails with the mirror's error",
        ),
        CLASSIC: Sourced(
            "6 attempts at the mirror (75 s of back-off), then the next endpoint: the whole pull",
            f'{_BLOB_LAB}: "Download failed, retrying (1/5): received unexpected HTTP status: '
            '503 ..." up to "Download failed after 6 attempts", then "Attempting next endpoint"',
        ),
    },
    "200-empty": {
        CONTAINERD: Sourced(
            "no move: 4 GETs at the mirror, then the pull fails: short read: expected N bytes "
            "but got 0: unexpected EOF",
            f"{_BLOB_LAB}: a blob's data file deleted from the mirror's storage while its "
            "inmemory blob descriptor cache still lists it (MIRROR_LOST_BLOB)",
        ),
        CLASSIC: Sourced(
            "6 attempts at the mirror, then the next endpoint for the whole pull; it succeeds",
            f'{_BLOB_LAB}: "Download failed after 6 attempts: unexpected EOF", then "Attempting '
            'next endpoint for pull after error: unexpected EOF"; manifest and every blob from '
            "the stand-in",
        ),
    },
}
"""Per answer to one blob of a manifest the mirror served (``404``, ``5xx``: 500 and 503
measured, ``200-empty``: a body that ends before Content-Length), what a node does, per store."""

MIRROR_LOST_BLOB = Sourced(
    "distribution 2.8 with a blob's data file gone: 200 with an empty body while its inmemory "
    "blob descriptor cache lists the blob; once that cache is empty (a restart), the blob is "
    "fetched again from upstream and served (200); with the upstream unreachable, 500",
    f"{BLOB_FALLBACK_MEASURED} (Debian docker-registry 2.8, the reference config's "
    "storage.cache.blobdescriptor: inmemory); distribution#2367 (unexpected EOF after a blob's "
    "TTL expiry). So a lost blob behind distribution 2.8 never makes a containerd node fetch "
    "that blob alone from Docker Hub: that takes a 404 or 5xx for the blob, e.g. from a proxy "
    "or a cache in front of the mirror",
)


def moves_on(store: str, answer: str) -> bool:
    """Whether a ``store`` node leaves the mirror for a blob answered with ``answer``.

    ``answer``: a key of BLOB_ANSWERS or an HTTP status (``503``); KeyError if not held.
    """
    key = answer if answer in BLOB_ANSWERS else ("5xx" if str(answer).startswith("5") else answer)
    return not BLOB_ANSWERS[key][store].text.startswith("no move")


MIRROR_CA_DIRECTORY: Mapping[str, Sourced] = {
    CLASSIC: Sourced(
        "/etc/docker/certs.d/<mirror host>/",
        "moby registry/registry.go (hostDir per endpoint host); measured here on 20.10.24 "
        "and 28.5.2 (classic): a CA there makes the mirror trusted",
    ),
    CONTAINERD: Sourced(
        "/etc/docker/certs.d/docker.io/",
        "moby daemon/hosts.go mergeLegacyConfig: each mirror host is a copy of the docker.io "
        "host, sharing its transport, whose TLS config is loaded from certs.d/docker.io. "
        "Measured here on 28.5.2 with Docker Hub's names not on loopback: a CA in "
        "certs.d/mirror.test/ gives `x509: certificate signed by unknown authority` and "
        '"trying next host"; the same CA in certs.d/docker.io/ pulls through the mirror',
    ),
}
"""Where a node's dockerd reads the CA that signs a mirror's certificate, per image store."""

LOOPBACK_HUB_SKIPS_VERIFY = Sourced(
    "containerd store: Docker Hub's name on 127.0.0.0/8 turns off the mirror's TLS check",
    "moby daemon/hosts.go mergeLegacyConfig sets InsecureSkipVerify on the transport it shares "
    "with the mirrors when registry-1.docker.io is an insecure registry (127.0.0.0/8 always "
    "is). Measured here on 28.5.2 with registry-1.docker.io pinned to 127.0.0.1: a node "
    "without the lab CA pulls through the mirror over HTTPS; the classic store refuses "
    "(x509: certificate signed by unknown authority). So the lab does not pin Docker Hub to "
    "loopback: its names resolve to the lab's stand-in, and with that the 28.5 node without "
    "the CA refuses the mirror (x509) and falls back to the stand-in (measured here)",
)

HOSTS_TOML = Sourced(
    "/etc/docker/certs.d/docker.io/hosts.toml with a [host] section: daemon.json mirrors ignored",
    "moby daemon/hosts.go RegistryHosts: containerd's hosts.toml is read first and the "
    "daemon.json mirrors are merged only when it yields one host. Measured here on 28.5.2 "
    '(containerd store): one [host."https://elsewhere.test"] beside server = '
    "registry-1.docker.io is already two hosts, so the pull goes to elsewhere.test and the "
    "mirror sees nothing, while docker info still lists https://mirror.test/; a hosts.toml "
    "with only `server` keeps the mirrors; the classic store ignores hosts.toml",
)

CONTAINERD_MIRROR_QUERY = Sourced(
    "?ns=docker.io",
    "containerd remotes/docker/resolver.go appends ns= for a mirror host; measured here on "
    "28.5.2: HEAD https://mirror.test/v2/library/busybox/manifests/latest?ns=docker.io",
)


@dataclass(frozen=True)
class Since:
    """An engine behaviour that starts at one release line, with its source."""

    version: str
    source: str


SINCE: Mapping[str, Since] = {
    "validate_flag": Since(
        "23.0",
        "moby#42393 (dockerd --validate, released in 23.0); measured here on 28.5.2: "
        "`configuration OK` exit 0, unknown key exit 1",
    ),
    "bom_accepted": Since(
        "23.0",
        "moby daemon/config/config.go (23.0 strips a UTF-8 BOM); 20.10 refuses it "
        "(measured here: invalid character 'ï')",
    ),
    "proxies_key": Since("23.0", "moby daemon/config/config.go: the proxies key, 23.0"),
    "mirror_paths": Since(
        "25.0",
        "moby#46594 (registry-mirrors with a path, 25.0; backported to 24.0.8 by moby#46944)",
    ),
    "mirror_validation": Since("28.3", "moby#50233 (mirrors checked by config validation, 28.3)"),
}
"""Behaviours that came with a release; ``engine_has`` answers per engine."""


def _line(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


def engine_has(engine: str, behaviour: str) -> bool:
    """Whether ``engine`` (a key of ENGINES or any ``major.minor``) has ``behaviour`` (SINCE).

    Raises KeyError for a behaviour SINCE does not list.
    """
    return _line(engine) >= _line(SINCE[behaviour].version)


def normalise(engine: str) -> str:
    """``"v28.5.2"`` or ``"28.5"`` -> ``"28.5"``; other text is returned stripped."""
    text = engine.strip().removeprefix("v")
    parts = text.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and all(p.isdigit() for p in parts) else text


def split_engines(engines: Sequence[str]) -> list[str]:
    """``--engine`` values as given (repeated, or comma-separated) -> one version per item."""
    return [normalise(item) for value in engines for item in value.split(",") if item.strip()]


def engine_for_node(engines: Sequence[str], position: int) -> str:
    """The engine of node ``position`` (1-based): the only one given, the default, or its own."""
    given = split_engines(engines)
    if not given:
        return DEFAULT_ENGINE
    return given[0] if len(given) == 1 else given[position - 1]


def store_for(engine: str, image_store: str | None) -> str:
    """The image store a node on ``engine`` runs: ``image_store`` when given, else its default."""
    return image_store or ENGINES[engine].default_image_store


def engine_problems(
    engines: Sequence[str], image_store: str | None, node_count: int | None = None
) -> list[str]:
    """What is wrong with ``--engine`` / ``--image-store``, each with its fix; [] when fine.

    ``node_count`` (``--nodes``) is checked against a list of engines when
    given; without it any length passes here and the lab checks it.
    """
    problems: list[str] = []
    given = split_engines(engines)
    known = ", ".join(ENGINES)
    unknown = [engine for engine in given if engine not in ENGINES]
    if unknown:
        problems.append(
            f"--engine {','.join(unknown)}: the lab has no node image for that engine. "
            f"Fix: use one of {known} (one for every node, or a comma-separated list per node)"
        )
    if len(given) > 1 and node_count is not None and len(given) != node_count:
        problems.append(
            f"--engine gives {len(given)} engines ({','.join(given)}) for {node_count} nodes. "
            f"Fix: give one engine for every node, or exactly one per node "
            f"(--nodes {len(given)})"
        )
    if image_store is not None and image_store not in IMAGE_STORES:
        problems.append(
            f"--image-store {image_store}: no such image store. "
            f"Fix: use {' or '.join(IMAGE_STORES)}, or leave it out for each engine's default"
        )
    elif image_store == CONTAINERD:
        unflagged = sorted(
            e
            for e in set(given or [DEFAULT_ENGINE])
            if e in ENGINES and CONTAINERD in ENGINES[e].image_stores and not ENGINES[e].store_flag
        )
        if unflagged:
            problems.append(
                f"--image-store containerd: Engine {', '.join(unflagged)} takes the store only "
                "from daemon.json (no --feature flag), and the lab does not change the file "
                'under test. Fix: set "features": {"containerd-snapshotter": true} in your '
                "daemon.json and leave --image-store out, or run those nodes on "
                f"{', '.join(e for e in ENGINES if ENGINES[e].store_flag)}"
            )
    if image_store in IMAGE_STORES:
        lacking = sorted(
            {e for e in (given or [DEFAULT_ENGINE]) if e in ENGINES}
            - {e for e in ENGINES if image_store in ENGINES[e].image_stores}
        )
        if lacking:
            offering = ", ".join(e for e in ENGINES if image_store in ENGINES[e].image_stores)
            problems.append(
                f"--image-store {image_store}: Engine {', '.join(lacking)} has no {image_store} "
                f"image store. Fix: run those nodes on {offering}, or leave --image-store out "
                "so that each engine runs its default store"
            )
    return problems


CONTAINERD_DRIVER_TYPE = Sourced(
    "io.containerd.snapshotter.v1",
    "docker info DriverStatus [driver-type, io.containerd.snapshotter.v1] on the containerd "
    "store (moby daemon/containerd/service.go); measured here on 28.5.2",
)


def image_store_of(driver_status: object) -> str:
    """The image store a ``docker info`` shows: ``containerd`` or ``classic``.

    ``driver_status`` is the Engine API ``/info`` ``DriverStatus`` (a list of
    ``[name, value]`` pairs). The containerd store names itself there with
    ``driver-type io.containerd.snapshotter.v1``; the classic store's graph
    drivers (overlay2 ...) list no driver-type.
    """
    pairs = driver_status if isinstance(driver_status, list) else []
    types = [
        str(p[1])
        for p in pairs
        if isinstance(p, list | tuple) and len(p) == 2 and p[0] == "driver-type"
    ]
    return CONTAINERD if any(t.startswith(CONTAINERD_DRIVER_TYPE.text) for t in types) else CLASSIC


def fallback_lines(log: str) -> list[str]:
    """The lines of a dockerd log that show a pull moving past a host, on either image store.

    ``Attempting next endpoint`` (classic) and ``trying next host`` (containerd),
    as in ``FALLBACK_LOG_LINES``; both are logged at info level.
    """
    signs = tuple(line.text for line in FALLBACK_LOG_LINES.values())
    return [line for line in log.splitlines() if any(sign in line for sign in signs)]


FALLBACK_WORDS = " or ".join(f"'{line.text}'" for line in FALLBACK_LOG_LINES.values())
"""The fallback lines as a message names them."""

"""One object holding every setting of a run, from command-line options and the environment.

The options are declared once, in ``mirrorcheck.options``; the pytest plugin
adds them and builds ``Settings`` from the parsed values, so every option is
one typed attribute here.

Usage (outside pytest)::

    from mirrorcheck.settings import Settings

    settings = Settings.from_mapping({"nodes": "2"}, rootdir=Path.cwd())
    settings.node_count              # 2
    settings.daemon_json_bytes()     # the file under test (default: the packaged example)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mirrorcheck.options import (
    DEFAULT_FQDN,
    LAB_FAULTS,
    OPTIONS,
    OPTIONS_BY_NAME,
    REPORT_DIR_NAME,
    TOPOLOGIES,
    SettingsError,
    resolve_value,
    topology_problems,
)
from mirrorcheck.rules.daemon_json.mirrors import first_mirror_host as first_mirror_host_of
from mirrorcheck.rules.daemon_json.reader import parse_daemon_json
from mirrorcheck.rules.limitations import parse_version
from mirrorcheck.settings_files import file_option_problem, report_dir_problem
from mirrorcheck.text.endpoints import (
    NODE_KINDS,
    check_host_name,
    check_node_url,
    parse_host_port,
    parse_mirror_url,
)
from mirrorcheck.text.redact import secrets_in_file, secrets_in_text
from mirrorcheck.versions import engine_problems

# Lower bounds of the number options: what a smaller value would mean is no setting at all.
MINIMUMS = {"min-cert-days": 0, "max-pulls": 0, "max-fetches-per-blob": 1}


def first_mirror_host(daemon_json: bytes) -> str | None:
    """The host of the first registry-mirrors entry, read as the lint reads the file.

    None when the reader finds no usable first mirror (not JSON, no list, a
    placeholder, not an http(s) URL with a host).
    """
    return first_mirror_host_of(parse_daemon_json(daemon_json))


def _is_blank(value: object) -> bool:
    if isinstance(value, list | tuple):
        return any(isinstance(v, str) and not v.strip() for v in value)
    return isinstance(value, str) and not value.strip()


@dataclass(frozen=True)
class Settings:
    """Every setting of one run. Paths are absolute; values are converted."""

    values: dict[str, object] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()  # options given on the command line or by env
    empty: frozenset[str] = frozenset()  # options given an empty value on the command line
    rootdir: Path = field(default_factory=Path.cwd)  # pytest's rootdir, else the current dir

    @classmethod
    def from_mapping(
        cls, given: dict[str, object] | None = None, rootdir: Path | None = None
    ) -> Settings:
        """Settings from option values by name (``{"nodes": "2"}``), then the environment.

        ``rootdir`` (pytest's rootdir; default: the current directory) holds the
        default ``reports/``. Raises ``SettingsError`` for a value of the wrong kind.
        An empty environment variable counts as unset; an empty value on the
        command line (``--mirror-url ""``) is kept in ``empty`` for ``problems()``.
        """
        given = given or {}
        explicit = frozenset(
            o.name
            for o in OPTIONS
            if given.get(o.name) not in (None, "", [], False) or os.environ.get(o.env)
        )
        empty = frozenset(name for name, value in given.items() if _is_blank(value))
        values = {o.name: resolve_value(o, given.get(o.name)) for o in OPTIONS}
        return cls(values, explicit, empty=empty, rootdir=(rootdir or Path.cwd()).resolve())

    def problems(self) -> list[str]:
        """What makes this run impossible before anything starts, each with its fix."""
        found = []
        files = ("registry-config", "daemon-json", "daemon-json-baseline", "stack-file")
        for name in (*files, "traefik-config"):
            value = self.values[name]
            problem = file_option_problem(name, str(value)) if value else None
            if problem and self.file_to_check(name):  # live: only the files the user named
                found.append(problem)
        try:
            self.lab_faults  # noqa: B018 - validates the names
        except SettingsError as error:
            found.append(str(error))
        if self.live and not self.live_nodes:
            found.append(
                "live mode (--mirror-url) needs the nodes to check. Fix: add --node URL for each "
                "(local, ssh://user@host[:port], docker://container)"
            )
        if not self.live and self.node_count < 1:
            found.append(f"--nodes {self.node_count}: must be at least 1. Fix: --nodes 1 or more")
        if self.topology not in TOPOLOGIES:
            found.append(
                f"--topology {self.topology}: unknown. Fix: --topology {' or '.join(TOPOLOGIES)}"
            )
        faults = [str(f) for f in self.values["lab-fault"] or []]
        found += topology_problems(self.topology, faults, self.traefik_config_path)
        found.extend(
            engine_problems(self.engines, self.image_store, None if self.live else self.node_count)
        )
        found.extend(self._value_problems())
        found.extend(self._live_problems() if self.live else self._lab_problems())
        return found

    def _value_problems(self) -> list[str]:
        found = [
            f"--{name} was given an empty value. Fix: give it a value, or leave --{name} out "
            f"(and {OPTIONS_BY_NAME[name].env} unset) for its default"
            for name in sorted(self.empty)
        ]
        for name, least in MINIMUMS.items():
            value = self.values[name]
            if isinstance(value, int) and value < least:
                found.append(
                    f"--{name} {value}: must be {least} or more. Fix: give a number from {least} "
                    f"on ({OPTIONS_BY_NAME[name].help})"
                )
        problem = report_dir_problem(self.report_dir) if "report-dir" in self.explicit else None
        if problem:
            found.append(
                f"--report-dir {self.report_dir}: {problem}. Fix: point --report-dir (or "
                f"{OPTIONS_BY_NAME['report-dir'].env}) at a folder this user may write, or at "
                "a path where one can be created"
            )
        return found

    def _lab_problems(self) -> list[str]:
        fqdn = self.values["mirror-fqdn"]
        try:
            if fqdn:
                check_host_name(str(fqdn))
        except ValueError as error:
            return [
                f"--mirror-fqdn: {error}. Fix: give the mirror's DNS name, e.g. --mirror-fqdn "
                "mirror.example.com (or leave it out to take the host of daemon.json's mirror)"
            ]
        return []

    def _live_problems(self) -> list[str]:
        found = []
        url_port = 443
        try:
            _, _, url_port = parse_mirror_url(self.mirror_url or "")
        except ValueError as error:
            found.append(
                f"--mirror-url: {error}. Fix: --mirror-url https://mirror.example.com[:port], "
                "as in the nodes' registry-mirrors"
            )
        if self.registry_version and parse_version(self.registry_version) is None:
            found.append(
                f"--registry-version {self.registry_version}: not a registry version. Fix: give "
                "the version the live registry runs, e.g. 2.8.3 or 3.0.0 (or leave it out)"
            )
        if self.mirror_address:
            try:
                parse_host_port(self.mirror_address, url_port)
            except ValueError as error:
                found.append(
                    f"--mirror-address: {error}. Fix: HOST:PORT where the mirror listens, e.g. "
                    "--mirror-address 10.0.0.5:443"
                )
        if self.ca_file and not os.path.isfile(self.ca_file):
            what = "is a directory, not a file" if os.path.isdir(self.ca_file) else "no such file"
            found.append(
                f"--ca-file {self.ca_file}: {what}. Fix: give the PEM file of the CA that "
                "issued the mirror's certificate (or leave it out to use the system store)"
            )
        for node in self.live_nodes:
            try:
                check_node_url(node)
            except ValueError as error:
                found.append(f"--node: {error}. Fix: --node {NODE_KINDS}")
        return found

    def known_secrets(self) -> set[str]:
        """The secrets the inputs hold, for ``Redactor``: passwords in option URLs, and the
        values of credential-like keys and URL passwords in the files under test."""
        found: set[str] = set()
        for option in OPTIONS:
            value = self.values[option.name]
            for text in value if isinstance(value, list) else [value]:
                if isinstance(text, str):
                    found.update(secrets_in_text(text))
        for path in (
            self.registry_config_path,
            self.daemon_json_path,
            self.daemon_json_baseline_path,
            self.stack_file_path,
        ):
            found.update(secrets_in_file(path) if path and path.is_file() else ())  # not a pipe
        return found

    def file_to_check(self, name: str) -> bool:
        """Whether the file option ``name`` names a file of the deployment under test.

        In the lab the example files are the deployment by default. Live, the
        deployment is what runs out there: an example file says nothing about
        it, so only files the user named are checked.
        """
        return not self.live or name in self.explicit

    @property
    def registry_config_path(self) -> Path:
        return Path(str(self.values["registry-config"])).resolve()

    @property
    def daemon_json_path(self) -> Path:
        return Path(str(self.values["daemon-json"])).resolve()

    @property
    def daemon_json_baseline_path(self) -> Path | None:
        value = self.values["daemon-json-baseline"]
        return Path(str(value)).resolve() if value else None

    @property
    def stack_file_path(self) -> Path | None:
        value = self.values["stack-file"]
        return Path(str(value)).resolve() if value else None

    @property
    def node_count(self) -> int:
        return int(self.values["nodes"])  # type: ignore[arg-type]

    @property
    def topology(self) -> str:
        """--topology: ``plain`` (containers) or ``swarm`` (the stack deployed on a swarm)."""
        return str(self.values["topology"]).strip().lower()

    @property
    def traefik_config_path(self) -> Path | None:
        """--traefik-config: the user's Traefik stack or static configuration; None: the lab's."""
        value = self.values["traefik-config"]
        return Path(str(value)).resolve() if value else None

    @property
    def image_overrides(self) -> dict[str, str]:
        return {
            role: str(self.values[f"{role}-image"])
            for role in ("registry", "node", "proxy")
            if self.values[f"{role}-image"]
        }

    @property
    def live(self) -> bool:
        """Live mode: a real mirror URL was given, so no lab is started."""
        return bool(self.values["mirror-url"])

    @property
    def live_nodes(self) -> list[str]:
        return [str(n) for n in self.values["node"] or [] if str(n).strip()]

    @property
    def lab_faults(self) -> list[str]:
        faults = [str(f).strip() for f in self.values["lab-fault"] or [] if str(f).strip()]
        unknown = [f for f in faults if f not in LAB_FAULTS]
        if unknown:
            raise SettingsError(
                f"unknown --lab-fault {', '.join(unknown)}. Fix: use one of {', '.join(LAB_FAULTS)}"
            )
        return faults

    @property
    def report_dir(self) -> Path:
        """--report-dir, else ``reports/`` under the rootdir."""
        given = self.values["report-dir"]
        return Path(str(given)).resolve() if given else self.rootdir / REPORT_DIR_NAME

    # -- a typed attribute per remaining option ------------------------------------

    def _text(self, name: str) -> str | None:
        value = self.values[name]
        return str(value) if value not in (None, "") else None

    def _int(self, name: str) -> int | None:
        value = self.values[name]
        return int(value) if value is not None else None  # type: ignore[call-overload]

    @property
    def mirror_url(self) -> str | None:
        """--mirror-url as given, without trailing slash; None in hermetic mode."""
        value = self._text("mirror-url")
        return value.strip().rstrip("/") if value else None

    @property
    def engines(self) -> list[str]:
        """--engine as given: [] (the default engine), one version, or one per node."""
        return [str(e).strip() for e in self.values["engine"] or [] if str(e).strip()]

    @property
    def image_store(self) -> str | None:
        """--image-store (``containerd`` or ``classic``); None: the engine's default here."""
        return self._text("image-store")

    @property
    def insecure_skip_host_key_check(self) -> bool:
        """--insecure-skip-host-key-check: ssh host keys are not verified."""
        return bool(self.values["insecure-skip-host-key-check"])

    @property
    def mirror_address(self) -> str | None:
        return self._text("mirror-address")

    @property
    def ca_file(self) -> str | None:
        return self._text("ca-file")

    @property
    def mirror_debug_url(self) -> str | None:
        value = self._text("mirror-debug-url")
        return value.rstrip("/") if value else None

    @property
    def mirror_storage(self) -> str | None:
        return self._text("mirror-storage")

    @property
    def mirror_access_log(self) -> str | None:
        """--mirror-access-log: where the live mirror's access log is read; None: not given."""
        return self._text("mirror-access-log")

    @property
    def registry_version(self) -> str | None:
        """--registry-version (live), e.g. ``2.8.3``; None when not given."""
        return self._text("registry-version")

    @property
    def probe_image(self) -> str:
        return self._text("probe-image") or str(OPTIONS_BY_NAME["probe-image"].default)

    @property
    def max_pulls(self) -> int | None:
        return self._int("max-pulls")

    @property
    def strict_limitations(self) -> bool:
        return bool(self.values["strict-limitations"])

    @property
    def strict_single_fetch(self) -> bool:
        return bool(self.values["strict-single-fetch"])

    @property
    def max_fetches_per_blob(self) -> int | None:
        return self._int("max-fetches-per-blob")

    @property
    def allow_daemon_keys(self) -> list[str]:
        return [str(k) for k in self.values["allow-daemon-key"] or []]

    @property
    def allow_other_mirrors(self) -> bool:
        return bool(self.values["allow-other-mirrors"])

    @property
    def acme_renewal(self) -> bool:
        """--acme-renewal: also watch Traefik renew a short-lived certificate (about 90 s)."""
        return bool(self.values["acme-renewal"])

    @property
    def min_cert_days(self) -> int:
        return int(self.values["min-cert-days"])  # type: ignore[call-overload]

    def read(self, path: Path, what: str) -> bytes:
        """A file under test, or a SettingsError naming the option that points at it."""
        try:
            return path.read_bytes()
        except OSError as error:
            raise SettingsError(
                f"cannot read the {what} {path}: {error.strerror}. Fix: point "
                f"--{what} (or {OPTIONS_BY_NAME[what].env}) at a readable file"
            ) from None

    def daemon_json_bytes(self) -> bytes:
        return self.read(self.daemon_json_path, "daemon-json")

    def registry_config_text(self) -> str:
        return self.read(self.registry_config_path, "registry-config").decode("utf-8", "replace")

    @property
    def mirror_fqdn(self) -> str:
        """--mirror-fqdn, else the host the daemon.json under test names, else mirror.test."""
        if self.values["mirror-fqdn"]:
            return str(self.values["mirror-fqdn"])
        try:
            return first_mirror_host(self.daemon_json_bytes()) or DEFAULT_FQDN
        except SettingsError:
            return DEFAULT_FQDN

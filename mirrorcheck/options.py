"""Every option of a run, declared once: name, help, default, kind and environment variable.

Each option has an environment-variable fallback (``--nodes`` / ``MIRRORCHECK_NODES``),
so CI jobs can configure a run without changing its command line. The pytest
plugin adds the options from ``OPTIONS``; ``mirrorcheck.settings.Settings``
turns their values into typed attributes.

Usage::

    from mirrorcheck.options import OPTIONS_BY_NAME, resolve_value

    option = OPTIONS_BY_NAME["nodes"]
    option.env                       # 'MIRRORCHECK_NODES'
    resolve_value(option, "2")       # 2
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

# The reference deployment ships inside the package (mirrorcheck/examples links to the
# checkout's examples/ folder; package data in pyproject.toml), so an installed mirrorcheck has it.
EXAMPLES = Path(str(resources.files("mirrorcheck") / "examples")).resolve()
DEFAULT_FQDN = "mirror.test"
REPORT_DIR_NAME = "reports"


# Faults the lab can inject, each standing for a real deployment mistake.
LAB_FAULTS = {
    "cert-other-host": "the proxy presents a certificate for another host name",
    "cert-expired": "the proxy presents an expired certificate",
    "cert-expires-soon": "the proxy's certificate has a few days left",
    "cert-untrusted-ca": "the proxy's certificate comes from a CA the nodes do not trust",
    "proxy-plaintext": "the proxy also serves the registry over plain HTTP",
    "node-without-ca": "the last node lacks the CA in /etc/docker/certs.d",
    "mirror-storage-ephemeral": "the mirror's storage is not on a volume (lost on restart)",
    "node-hosts-toml": "a containerd hosts.toml with hosts of its own: the daemon.json mirrors "
    "are ignored",
}


@dataclass(frozen=True)
class Option:
    """A command-line option with its environment variable, default and help."""

    name: str  # without the leading dashes
    help: str
    default: object = None
    kind: str = "str"  # str | int | float | flag | list

    @property
    def env(self) -> str:
        return "MIRRORCHECK_" + self.name.upper().replace("-", "_")

    @property
    def dest(self) -> str:
        return "mirrorcheck_" + self.name.replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    # What is under test
    Option(
        "registry-config", "the mirror's registry config.yml", str(EXAMPLES / "registry-config.yml")
    ),
    Option(
        "daemon-json", "each node's /etc/docker/daemon.json", str(EXAMPLES / "daemon.after.json")
    ),
    Option(
        "daemon-json-baseline",
        "daemon.json as it was before the change (the new one must only add registry-mirrors)",
        str(EXAMPLES / "daemon.before.json"),
    ),
    Option(
        "stack-file",
        "the registry's swarm stack / compose file",
        str(EXAMPLES / "registry-stack.yml"),
    ),
    Option("mirror-fqdn", "the mirror's host name (default: from daemon.json, else mirror.test)"),
    Option("nodes", "how many Docker nodes the lab starts", 3, "int"),
    Option(
        "engine",
        "Docker Engine version of the lab's nodes: one for all, or a comma-separated list "
        "per node (node-1 first), e.g. 28.5,20.10",
        None,
        "list",
    ),
    Option("image-store", "the lab nodes' image store: containerd or classic"),
    Option(
        "topology",
        "the lab's shape: swarm (the nodes form a swarm; the stack file is deployed with "
        "docker stack deploy) or plain (the mirror and proxy as plain containers)",
        "swarm",
    ),
    Option(
        "traefik-config",
        "--topology swarm: your own Traefik stack file or static configuration (traefik.yml), "
        "run instead of the guide's Traefik recipe (only its ACME server URL is pointed at "
        "the lab's Let's Encrypt stand-in)",
    ),
    # A live deployment (post-deploy smoke check): nothing hermetic is started
    Option(
        "mirror-url", "check this live mirror (e.g. https://mirror.example.com) instead of a lab"
    ),
    Option(
        "node",
        "a live node: local, ssh://user@host[:port], docker://container (repeatable)",
        None,
        "list",
    ),
    Option(
        "insecure-skip-host-key-check",
        "reach ssh nodes without verifying their host keys (every report says so)",
        False,
        "flag",
    ),
    Option("ca-file", "CA bundle to trust for the live mirror (default: the system store)"),
    Option("mirror-address", "reach the live mirror at HOST:PORT, like curl --resolve"),
    Option(
        "mirror-debug-url", "the live registry's debug server, for its counters (http://host:5001)"
    ),
    Option("mirror-storage", "the live mirror's storage folder, e.g. ssh://host/var/data/registry"),
    Option(
        "mirror-access-log",
        "the live mirror's access log, proving each pull request by request: "
        "docker://CONTAINER, an absolute path, or ssh://user@host/path",
    ),
    Option(
        "registry-version", "the live registry's version (e.g. 2.8.3), for its known limitations"
    ),
    Option(
        "probe-image", "the Docker Hub image live nodes pull through the mirror", "busybox:latest"
    ),
    Option(
        "max-pulls",
        "pulls a live run may make against Docker Hub's budget (default: 2 per node)",
        None,
        "int",
    ),
    # Images
    Option("registry-image", "image for the registry role (upstream and mirror)"),
    Option("node-image", "image for the Docker-in-Docker node role"),
    Option("proxy-image", "image for the TLS proxy role"),
    # Judgement
    # pytest owns --strict; mirrorcheck honours it too (see plugin.py).
    Option(
        "strict-limitations",
        "treat every known limitation of the mirror software as a failure (also: --strict)",
        False,
        "flag",
    ),
    Option(
        "strict-single-fetch",
        "demand one upstream fetch per blob even for concurrent cold pulls",
        False,
        "flag",
    ),
    Option("max-fetches-per-blob", "upstream GETs allowed per blob on one cold pull", None, "int"),
    Option("allow-daemon-key", "accept this extra daemon.json key (repeatable)", None, "list"),
    Option(
        "allow-other-mirrors", "the mirror need not be first in registry-mirrors", False, "flag"
    ),
    Option("min-cert-days", "days a certificate must still be valid", 14, "int"),
    Option(
        "acme-renewal",
        "--topology swarm: also watch Traefik renew a short-lived ACME certificate on an edge "
        "of its own (about 90 s; Traefik checks for renewal once a minute at best)",
        False,
        "flag",
    ),
    # Faults injected into the hermetic lab, to watch a check fail (negative controls)
    Option(
        "lab-fault",
        "break the hermetic lab on purpose (repeatable): " + ", ".join(LAB_FAULTS),
        None,
        "list",
    ),
    # Reports
    Option(
        "report-dir",
        "where junit.xml, summary.json and report.html go (default: reports/ under pytest's "
        "rootdir, or under the current directory)",
    ),
)
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}


# A value each number option could take, for its message when given something else.
NUMBER_EXAMPLES = {"max-pulls": 6, "max-fetches-per-blob": 1}
FLAG_WORDS = {"": False, "1": True, "true": True, "yes": True, "on": True}
FLAG_WORDS.update({"0": False, "false": False, "no": False, "off": False})


def _source(option: Option, value: object, from_env: bool) -> str:
    """The value as the user gave it: ``--nodes abc`` or ``MIRRORCHECK_NODES=abc``."""
    return f"{option.env}={value}" if from_env else f"--{option.name} {value}"


def _convert(option: Option, value: object, from_env: bool = False) -> object:
    if value is None or value == "":
        return option.default if option.kind != "list" else []
    if option.kind in ("int", "float"):
        try:
            return int(value) if option.kind == "int" else float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            example = (
                option.default
                if option.default is not None
                else NUMBER_EXAMPLES.get(option.name, 1)
            )
            whole = "a whole number" if option.kind == "int" else "a number"
            raise SettingsError(
                f"--{option.name} (or {option.env}) must be a number, not {value!r}. Fix: give "
                f"{whole}, e.g. --{option.name} {example}: {option.help}"
            ) from None
    if option.kind == "flag":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word not in FLAG_WORDS:
            raise SettingsError(
                f"{_source(option, value, from_env)}: not a yes or no. Fix: set {option.env} to "
                f"1, true or yes to turn --{option.name} on, or 0, false, no or empty for off"
            )
        return FLAG_WORDS[word]
    if option.kind == "list":
        return list(value) if isinstance(value, list | tuple) else str(value).split(",")
    return str(value)


def resolve_value(option: Option, given: object) -> object:
    """The option's value: the command line, else its environment variable, else the default.

    Raises ``SettingsError`` (naming the option, its variable and the fix) for a
    number option given something else, or a flag's variable set to neither yes nor no.
    """
    if given not in (None, "", [], False):
        return _convert(option, given)
    return _convert(option, os.environ.get(option.env), from_env=True)


TOPOLOGIES = ("plain", "swarm")
# Faults of the plain topology's own parts: the swarm runs the user's stack and Traefik instead.
PLAIN_ONLY_FAULTS = (
    "cert-other-host",
    "cert-expired",
    "cert-expires-soon",
    "cert-untrusted-ca",
    "proxy-plaintext",
    "mirror-storage-ephemeral",
)


def topology_problems(topology: str, faults: list[str], traefik_config: object) -> list[str]:
    """Options that the chosen topology cannot honour, each with its fix (usage errors)."""
    found = []
    plain_only = [f for f in faults if f in PLAIN_ONLY_FAULTS]
    if topology == "swarm" and plain_only:
        found.append(
            f"--lab-fault {', '.join(plain_only)}: the plain topology's faults (its nginx proxy "
            "and lab CA, its mirror container); on a swarm the stack file and Traefik decide "
            "those. Fix: add --topology plain, or break the stack file itself"
        )
    if topology == "plain" and traefik_config:
        found.append(
            f"--traefik-config {traefik_config}: the plain topology runs no Traefik (its TLS "
            "proxy is nginx), so the file would not be checked. Fix: leave out --topology plain "
            "(the swarm topology runs your Traefik), or drop --traefik-config"
        )
    return found


class SettingsError(ValueError):
    """A setting points at something unusable; the message names the option and the fix."""

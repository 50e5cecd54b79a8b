"""The broken deployments of the project's controls, as options of one ``pytest suites/`` run.

Each is named the way its control names it (a lab fault by its own name, from
``mirrorcheck.options.LAB_FAULTS``) and made the way the control makes it: a
``--lab-fault``, or one of the user's files written from an ``examples/`` file
with the same small text edit. A control that breaks two things in one run
(the TLS controls' other host name + plain-HTTP proxy, expired certificate +
insecure-registries) is two deployments here, one breakage each. Left out:
lint inputs that never start a lab (the Traefik controls' stacks are here
because the swarm deploys them), the strict modes and fetch bounds (a healthy
deployment judged more strictly), the gate-report controls' files (the same
missing comma and missing proxy section as here), the live-mode honesty
controls (a fake mirror, no lab) and the ACME controls (steps on one edge
lab, no option).

Usage (``bench/bench.py --rows healthy,controls`` runs them; bench/ is on its path)::

    from broken import deployments
    for broken in deployments("swarm"):
        options = broken.arguments(folder)  # writes its file into folder/<name>/
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mirrorcheck.options import EXAMPLES, LAB_FAULTS, PLAIN_ONLY_FAULTS, TOPOLOGIES
from mirrorcheck.rules.daemon_json.catalog import PLACEHOLDER

CONTROLS = "tests/controls/"
SUITE_CONTROLS = CONTROLS + "test_suite_controls.py"
TLS_CONTROLS = CONTROLS + "test_tls_controls.py"
DAEMON_JSON_CONTROLS = CONTROLS + "test_daemon_json_controls.py"
TRAEFIK_CONTROLS = CONTROLS + "test_traefik_controls.py"
SWARM_CONTROLS = CONTROLS + "test_swarm.py"
FAIL_FAST = CONTROLS + "test_fail_fast.py"
# Where each lab fault is a control (the control's own name for it, when it has one).
FAULT_CONTROLS = {
    "cert-other-host": TLS_CONTROLS + ": other-host+plaintext",
    "cert-expired": TLS_CONTROLS + ": expired+insecure",
    "cert-untrusted-ca": TLS_CONTROLS + ": untrusted-ca",
    "proxy-plaintext": TLS_CONTROLS + ": other-host+plaintext",
    "node-without-ca": SUITE_CONTROLS + ": node-refuses-mirror",
    "node-hosts-toml": DAEMON_JSON_CONTROLS + ": hosts-toml",
}
MIRROR = ("--mirror-fqdn", "mirror.test")


class ExampleChanged(ValueError):
    """An edit no longer applies to its ``examples/`` file: the deployment would be healthy."""


@dataclass(frozen=True)
class Broken:
    """One broken deployment: its name, the control that uses it, how it is made.

    ``file_option`` (e.g. ``--daemon-json``) takes a file whose text ``text()``
    returns; ``options`` are passed as they are; ``topologies`` are those the
    breakage runs on (the plain topology's own faults, Traefik's routes).
    """

    name: str
    control: str
    options: tuple[str, ...] = ()
    file_option: str = ""
    text: Callable[[], str] | None = None
    topologies: tuple[str, ...] = TOPOLOGIES

    def arguments(self, folder: Path) -> list[str]:
        """The run's options; the broken file, if any, is written to ``folder/<name>/``.

        Raises ExampleChanged when an edit no longer applies to its example.
        """
        if not self.file_option or self.text is None:
            return list(self.options)
        target = folder / self.name / _FILE_NAMES[self.file_option]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.text(), encoding="utf-8")
        return [self.file_option, str(target), *self.options]


_FILE_NAMES = {
    "--daemon-json": "daemon.json",
    "--registry-config": "registry-config.yml",
    "--stack-file": "registry-stack.yml",
}


def example(name: str) -> str:
    """The text of ``examples/<name>``."""
    return (EXAMPLES / name).read_text(encoding="utf-8")


def edited(name: str, *changes: tuple[str, str]) -> Callable[[], str]:
    """``examples/<name>`` with each ``(old, new)`` replaced; each must change the text."""

    def text() -> str:
        result = example(name)
        for old, new in changes:
            if old not in result:
                raise ExampleChanged(
                    f"examples/{name} no longer contains {old!r}: bench/broken.py cannot break "
                    "it the way the control does. Fix: edit the breakage in bench/broken.py"
                )
            result = result.replace(old, new)
        return result

    return text


def _without_lines(name: str, containing: str) -> Callable[[], str]:
    def text() -> str:
        lines = example(name).splitlines()
        kept = [line for line in lines if containing not in line]
        if len(kept) == len(lines):
            raise ExampleChanged(f"examples/{name} has no line with {containing!r}")
        return "\n".join(kept) + "\n"

    return text


def _literal(text: str) -> Callable[[], str]:
    return lambda: text


def _registry_config(name: str, text: Callable[[], str], control: str = SUITE_CONTROLS) -> Broken:
    return Broken(name, control, file_option="--registry-config", text=text)


def _stack(name: str, control: str, text: Callable[[], str]) -> Broken:
    return Broken(name, control, file_option="--stack-file", text=text, topologies=("swarm",))


def _daemon_json(name: str, control: str, text: str | Callable[[], str], *options: str) -> Broken:
    made = _literal(text) if isinstance(text, str) else text
    return Broken(name, control, options, file_option="--daemon-json", text=made)


def _no_proxy() -> str:
    text = example("registry-config.yml")
    if "proxy:" not in text:
        raise ExampleChanged("examples/registry-config.yml has no proxy section to leave out")
    return text.split("proxy:")[0]


STACK = "registry-stack.yml"
BROKEN_FILES = (
    _registry_config("no-proxy", _no_proxy, FAIL_FAST),
    _registry_config(
        "camel-case", edited("registry-config.yml", ("remoteurl", "remoteUrl")), FAIL_FAST
    ),
    _registry_config("mistyped", edited("registry-config.yml", ("docker.io", "docker.com"))),
    Broken(
        "storage-not-on-a-volume",
        SUITE_CONTROLS,
        file_option="--stack-file",
        text=_without_lines(STACK, "registry-mirror-data"),
    ),
    _daemon_json(
        "node-without-mirror", SUITE_CONTROLS, '{\n    "log-driver": "journald"\n}\n', *MIRROR
    ),
    _daemon_json(
        "missing-comma",
        DAEMON_JSON_CONTROLS,
        "{\n"
        '    "log-driver": "journald",\n'
        '    "signature-verification": false\n'
        f'    "registry-mirrors": ["https://{PLACEHOLDER}"]\n'
        "}\n",
    ),
    _daemon_json("guide-after", DAEMON_JSON_CONTROLS, lambda: example("guide/daemon.after.json")),
    _daemon_json(
        "baseline-change",
        DAEMON_JSON_CONTROLS,
        edited("daemon.after.json", ("journald", "json-file")),
    ),
    _daemon_json(
        "insecure-registries",
        TLS_CONTROLS + ": expired+insecure",
        "{\n"
        '    "log-driver": "journald",\n'
        '    "registry-mirrors": ["https://mirror.test"],\n'
        '    "insecure-registries": ["mirror.test"]\n'
        "}\n",
    ),
    _daemon_json(
        "http-mirror",
        FAIL_FAST,
        '{\n    "log-driver": "journald",\n    "registry-mirrors": ["http://mirror.test"]\n}\n',
    ),
    _daemon_json(
        "duplicate-key",
        FAIL_FAST,
        "{\n"
        '    "registry-mirrors": ["https://mirror.test"],\n'
        '    "log-driver": "journald",\n'
        '    "registry-mirrors": ["https://mirror.example.org"]\n'
        "}\n",
        *MIRROR,
    ),
    _stack(
        "labels-outside-deploy",
        SWARM_CONTROLS,
        edited(STACK, ("    deploy:\n      labels:", "    labels:")),
    ),
    _stack(
        "network-traefik-does-not-share",
        SWARM_CONTROLS,
        edited(
            STACK,
            ("      - traefik_public\n", "      - backend\n"),
            (
                "networks:\n  traefik_public:\n    external: true",
                "networks:\n  backend:\n    driver: overlay",
            ),
        ),
    ),
    _stack(
        "host-rule-for-another-name",
        SWARM_CONTROLS,
        edited(STACK, ("Host(`<your mirror FQDN>`)", "Host(`other.example.com`)")),
    ),
    _stack(
        "the-guides-traefik-1-labels", SWARM_CONTROLS, lambda: example("guide/registry-stack.yml")
    ),
    _stack(
        "web-entrypoint-only",
        TRAEFIK_CONTROLS,
        edited(
            STACK,
            ("entrypoints=websecure", "entrypoints=web"),
            ("        - traefik.http.routers.registry-mirror.tls.certresolver=main\n", ""),
        ),
    ),
    _stack(
        "network",
        TRAEFIK_CONTROLS,
        edited(STACK, ("swarm.network=traefik_public", "swarm.network=backend")),
    ),
)

# Not a control's: a daemon.json whose only mirror does not resolve (bench.py's own row).
UNREACHABLE = _daemon_json(
    "unreachable-mirror",
    "bench/bench.py",
    '{\n    "log-driver": "journald",\n    "registry-mirrors": ["https://mirror.example.org"]\n}\n',
    *MIRROR,
)


def lab_faults() -> tuple[Broken, ...]:
    """Every lab fault of ``LAB_FAULTS``, one deployment each, on the topologies it runs on."""
    return tuple(
        Broken(
            fault,
            FAULT_CONTROLS.get(fault, "--lab-fault (no control runs it)"),
            ("--lab-fault", fault),
            topologies=("plain",) if fault in PLAIN_ONLY_FAULTS else TOPOLOGIES,
        )
        for fault in LAB_FAULTS
    )


def deployments(topology: str, names: list[str] | None = None) -> list[Broken]:
    """The broken deployments that run on ``topology``: every one, or those in ``names``.

    Raises ValueError naming any of ``names`` that is unknown or does not run on
    ``topology``.
    """
    every = (*lab_faults(), *BROKEN_FILES)
    fitting = [b for b in every if topology in b.topologies]
    if names is None:
        return fitting
    by_name = {b.name: b for b in fitting}
    elsewhere = {b.name: b.topologies for b in every if b.name not in by_name}
    problems = [
        f"{n} runs on --topology {', '.join(elsewhere[n])} only"
        if n in elsewhere
        else f"{n} is no broken deployment of the controls"
        for n in names
        if n not in by_name
    ]
    if problems:
        raise ValueError(f"{'; '.join(problems)}. Choose from {', '.join(by_name)}")
    return [by_name[n] for n in names]

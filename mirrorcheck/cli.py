"""The ``mirrorcheck`` command: images, clean-up and the file linters, outside pytest.

Usage::

    mirrorcheck images build            # find or build every role's image (CI caches, air gaps)
    mirrorcheck images list             # which image each role would use, and how it was found
    mirrorcheck sweep [--all]           # remove leftovers of dead runs (--all: every lab resource)
    mirrorcheck lint daemon-json FILE... [--mirror-url URL] [--baseline FILE] ...
    mirrorcheck lint registry-config FILE [--stack FILE] [--registry-version 2.8.2]
    mirrorcheck lint traefik STACK --mirror-fqdn HOST [--registry-config FILE]
    mirrorcheck lint hosts-toml FILE...

Exit codes: 0 fine, 1 findings or failure, 2 usage error (for the linters also a file
that cannot be linted: missing, a directory, unreadable, binary, or of another kind;
``mirrorcheck lint --help`` lists them).

What the linters print has its secrets taken out (``mirrorcheck.text.redact``:
URL passwords, credential-like keys' values, and those values wherever they
appear) and its control characters escaped; a binary file is named, never
printed. The guide's ``<your ... FQDN>`` placeholder is one finding, or filled
in first with ``--mirror-fqdn HOST`` (daemon-json, registry-config, traefik).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Callable, Sequence

from mirrorcheck.findings import errors, render_all
from mirrorcheck.options import OPTIONS_BY_NAME
from mirrorcheck.rules.daemon_json import assess as daemon_json
from mirrorcheck.rules.hosts_toml import lint as hosts_toml
from mirrorcheck.rules.limitations import RegistryVersion, parse_version
from mirrorcheck.rules.lint_args import EXIT_CODES, LintParser, file_arg, host_name_arg, text_arg
from mirrorcheck.rules.lint_input import (
    EXIT_UNUSABLE,
    REGISTRY_CONFIG,
    STACK,
    Kind,
    input_problem,
)
from mirrorcheck.rules.placeholder import FQDN_PLACEHOLDERS
from mirrorcheck.rules.registry.config import DEFAULT_PORT, read_runnable_config
from mirrorcheck.rules.registry.deployment import lint_deployment
from mirrorcheck.rules.registry.schema import DOCKER_HUB_REMOTEURL
from mirrorcheck.rules.registry.stack import read_stack
from mirrorcheck.rules.registry.stack_lint import placeholder_labels
from mirrorcheck.rules.traefik.lint import TraefikSetup, lint_traefik_routing
from mirrorcheck.targets.lab.images.roles import TOPOLOGY_ROLES
from mirrorcheck.targets.lab.images.supply import (
    ROLES,
    ImageSupply,
    ImageSupplyError,
    engine_or_explain,
)
from mirrorcheck.targets.lab.sweeper import Sweep, SweepError, leftovers, sweep_all, sweep_stale
from mirrorcheck.text.redact import Redactor, printable, secrets_in_file, secrets_in_text
from mirrorcheck.text.yaml_source import YamlReadError


def _images(args: argparse.Namespace) -> int:
    try:
        client = engine_or_explain()
        overrides = {r: getattr(args, f"{r}_image") for r in ROLES if getattr(args, f"{r}_image")}
        building = args.action == "build"
        supply = ImageSupply(
            client,
            overrides=overrides,
            pull_timeout=args.pull_timeout,
            allow_pull=building,
            allow_build=building,
        )
        missing = 0
        topology = DEFAULT_TOPOLOGY if args.topology == "default" else args.topology
        roles = ROLES if topology == "all" else TOPOLOGY_ROLES[topology]
        for role, resolution in supply.resolve_many(roles).items():
            if isinstance(resolution, ImageSupplyError):
                if building:
                    raise resolution
                missing += 1
                print(f"{role:9} missing  (run `mirrorcheck images build`)")
                continue
            print(f"{role:9} {resolution.image}  ({resolution.how})")
    except ImageSupplyError as error:
        print(f"mirrorcheck: {error}", file=sys.stderr)
        return 1
    return 1 if missing else 0


def _sweep(args: argparse.Namespace) -> int:
    try:
        client = engine_or_explain()
    except ImageSupplyError as error:
        print(f"mirrorcheck: {error}", file=sys.stderr)
        return 1
    try:
        sweep = Sweep(removed=sweep_all(client)) if args.all else sweep_stale(client)
    except SweepError as error:
        print(f"mirrorcheck: {error}", file=sys.stderr)
        return 1
    for item in sweep.removed:
        print(f"removed {item}")
    for item in sweep.kept:
        print(f"mirrorcheck: {item}", file=sys.stderr)
    if sweep.kept:
        return 1
    remaining = leftovers(client)
    if remaining:
        print(f"still there (owned by live runs): {', '.join(remaining)}")
    return 0


def _version_arg(text: str) -> RegistryVersion:
    parsed = parse_version(text)
    if parsed is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a version. Fix: give one like 2.8.2 or 3.0.0"
        )
    return parsed


FQDN_HELP = (
    "the mirror's host name (the host of the nodes' mirror URL); fills the guide's "
    "<your mirror FQDN> placeholder first, as the suites do"
)


def registry_config_parser() -> argparse.ArgumentParser:
    """The options of ``mirrorcheck lint registry-config``."""
    parser = LintParser(
        prog="mirrorcheck lint registry-config",
        description="Strict lint of a distribution config.yml used as a Docker Hub mirror.",
    )
    parser.add_argument("config", type=file_arg, metavar="CONFIG", help="the registry's config.yml")
    parser.add_argument(
        "--stack",
        type=file_arg,
        metavar="FILE",
        help="the swarm stack / compose file that runs the registry",
    )
    parser.add_argument(
        "--service", type=text_arg, metavar="NAME", help="the registry's service in the stack"
    )
    parser.add_argument(
        "--registry-version",
        type=_version_arg,
        metavar="V",
        help="distribution version, e.g. 2.8.2 or 3.0.0 (default: the stack's image tag, else 2.8)",
    )
    parser.add_argument(
        "--mount-target",
        type=text_arg,
        metavar="PATH",
        help="where the config is mounted in the container (checked per version)",
    )
    parser.add_argument(
        "--expected-remoteurl",
        type=text_arg,
        metavar="URL",
        default=DOCKER_HUB_REMOTEURL,
        help=f"the upstream the mirror must proxy (default {DOCKER_HUB_REMOTEURL})",
    )
    parser.add_argument("--mirror-fqdn", type=host_name_arg, metavar="HOST", help=FQDN_HELP)
    return parser


def _unusable(*files: tuple[str | None, Kind]) -> int | None:
    """Print why each named file cannot be linted as its kind; the exit code, or None: lint."""
    problems = [input_problem(path, kind) for path, kind in files if path is not None]
    for problem in filter(None, problems):
        print(problem, file=sys.stderr)
    return EXIT_UNUSABLE if any(problems) else None


def lint_registry_config(argv: Sequence[str]) -> int:
    """Print the findings; 1 when any is an error, 0 otherwise, 2 on usage errors."""
    args = registry_config_parser().parse_args(argv)
    unusable = _unusable((args.config, REGISTRY_CONFIG), (args.stack, STACK))
    if unusable is not None:
        return unusable
    findings = lint_deployment(
        args.config,
        args.stack,
        registry_version=args.registry_version,
        service=args.service,
        mount_target=args.mount_target,
        expected_remoteurl=args.expected_remoteurl,
        mirror_fqdn=args.mirror_fqdn,
    )
    if findings:
        print(render_all(findings))
    return 1 if errors(findings) else 0


def traefik_parser() -> argparse.ArgumentParser:
    """The options of ``mirrorcheck lint traefik``."""
    parser = LintParser(
        prog="mirrorcheck lint traefik",
        description="Whether a stack's labels make Traefik route the mirror's name to it.",
    )
    parser.add_argument(
        "stack",
        type=file_arg,
        metavar="STACK",
        help="the swarm stack / compose file that runs the registry",
    )
    parser.add_argument(
        "--mirror-fqdn",
        type=host_name_arg,
        metavar="HOST",
        help=FQDN_HELP + " (needed unless the stack still holds the placeholder)",
    )
    parser.add_argument(
        "--service", type=text_arg, metavar="NAME", help="the registry's service in the stack"
    )
    parser.add_argument(
        "--registry-config",
        type=file_arg,
        metavar="FILE",
        help="the registry's config.yml (for its port)",
    )
    parser.add_argument("--traefik-version", type=int, default=3, choices=(1, 2, 3))
    parser.add_argument(
        "--resolver",
        type=text_arg,
        action="append",
        metavar="NAME",
        help="a certificate resolver Traefik has (repeatable)",
    )
    parser.add_argument(
        "--traefik-network",
        type=text_arg,
        action="append",
        metavar="NAME",
        help="a network Traefik is on (repeatable)",
    )
    return parser


def lint_traefik(argv: Sequence[str]) -> int:
    """Print the Traefik findings; 1 when any is an error, 0 otherwise, 2 on usage errors."""
    parser = traefik_parser()
    args = parser.parse_args(argv)
    unusable = _unusable((args.stack, STACK), (args.registry_config, REGISTRY_CONFIG))
    if unusable is not None:
        return unusable
    try:
        stack = read_stack(args.stack, service=args.service, mirror_fqdn=args.mirror_fqdn)
        port = (
            read_runnable_config(args.registry_config).listen_port
            if args.registry_config
            else DEFAULT_PORT
        )
    except YamlReadError as error:
        print(error.finding.render())
        return 1
    # A placeholder left in the labels is one finding; it stands for the mirror's name meanwhile.
    found = placeholder_labels(stack)
    if args.mirror_fqdn is None and not found:
        parser.error(
            "the mirror's host name is needed: the stack's Host() rule must match it. "
            "Fix: --mirror-fqdn mirror.example.com (the host of the nodes' mirror URL)"
        )
    setup = TraefikSetup(
        version=args.traefik_version,
        resolvers=frozenset(args.resolver) if args.resolver else None,
        networks=frozenset(args.traefik_network) if args.traefik_network else None,
    )
    found += lint_traefik_routing(
        stack.label_entries,
        path=stack.path,
        service=stack.service,
        fqdn=args.mirror_fqdn or FQDN_PLACEHOLDERS[1],
        registry_port=port,
        networks=stack.networks,
        setup=setup,
    )
    if found:
        print(render_all(found))
    return 1 if errors(found) else 0


def _redactor(argv: Sequence[str]) -> Redactor:
    """Knows the secrets of the arguments and of every file they name."""
    found: set[str] = set()
    for arg in argv:
        found.update(secrets_in_text(arg))
        found.update(secrets_in_file(arg.partition("=")[2] if arg.startswith("--") else arg))
    return Redactor(found)


def _printed_safely(run: Callable[[], int], redactor: Redactor) -> int:
    """Run ``run`` with its output captured, then print it redacted and escaped."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run()
    except SystemExit as exit_:  # argparse's usage errors and --help
        code = exit_.code if isinstance(exit_.code, int) else 2
    sys.stdout.write(printable(redactor.text(out.getvalue())))
    sys.stderr.write(printable(redactor.text(err.getvalue())))
    return code


def _lint(args: argparse.Namespace, rest: list[str]) -> int:
    redactor = _redactor(rest)
    if args.what is None:
        return _printed_safely(lambda: _lint_help(rest), redactor)
    if args.what == "daemon-json":
        return _printed_safely(lambda: daemon_json.main(rest), redactor)
    if args.what == "traefik":
        return _printed_safely(lambda: lint_traefik(rest), redactor)
    if args.what == "hosts-toml":
        return _printed_safely(lambda: hosts_toml.main(rest), redactor)
    return _printed_safely(lambda: lint_registry_config(rest), redactor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mirrorcheck", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    images = commands.add_parser("images", help="find or build the lab's images")
    images.add_argument("action", choices=["build", "list"])
    for role in ROLES:
        images.add_argument(
            f"--{role}-image", default="", help=f"use this image for the {role} role"
        )
    images.add_argument("--pull-timeout", type=float, default=30.0, help="bound on each pull (s)")
    images.add_argument(
        "--topology",
        choices=[*TOPOLOGY_ROLES, "default", "all"],
        default="all",
        help="only the roles this topology runs (default: %(default)s; "
        f"'default' is the suites' default, {DEFAULT_TOPOLOGY})",
    )
    sweep = commands.add_parser("sweep", help="remove lab containers, networks and volumes")
    sweep.add_argument("--all", action="store_true", help="also those of runs still alive")
    lint = commands.add_parser(
        "lint",
        help="lint a daemon.json, a registry config or a stack's Traefik labels",
        add_help=False,
    )
    lint.add_argument("what", nargs="?", choices=LINTERS)
    return parser


DEFAULT_TOPOLOGY = str(OPTIONS_BY_NAME["topology"].default)
LINTERS = ("daemon-json", "registry-config", "traefik", "hosts-toml")
LINT_HELP = f"""usage: mirrorcheck lint {{{",".join(LINTERS)}}} FILE... [options]

Lint the files of a registry-mirror rollout alone, without Docker (e.g. as pre-commit hooks):

  daemon-json FILE...     each node's daemon.json [--mirror-url URL] [--baseline FILE]
  registry-config CONFIG  the registry's config.yml [--stack FILE] [--registry-version V]
  traefik STACK           the stack's Traefik labels --mirror-fqdn HOST [--registry-config FILE]
  hosts-toml FILE...      containerd hosts.toml files that would override the mirrors

daemon-json, registry-config and traefik take --mirror-fqdn HOST to fill the guide's
<your ... FQDN> placeholder first, as the suites do; without it a placeholder is one
finding. `mirrorcheck lint WHAT --help` lists each linter's options.

{EXIT_CODES}
"""


def _lint_help(rest: Sequence[str]) -> int:
    """``mirrorcheck lint --help``; without a linter named, one usage error line."""
    if "-h" in rest or "--help" in rest:
        print(LINT_HELP, end="")
        return 0
    print(
        f"mirrorcheck lint: error: name what to lint, one of {', '.join(LINTERS)}. "
        "Fix: e.g. mirrorcheck lint daemon-json /etc/docker/daemon.json (see mirrorcheck lint "
        "--help)",
        file=sys.stderr,
    )
    return EXIT_UNUSABLE


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "lint":
        return _lint(args, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "images":
        return _images(args)
    return _sweep(args)


if __name__ == "__main__":
    sys.exit(main())

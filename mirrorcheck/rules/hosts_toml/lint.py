"""Lint a containerd ``hosts.toml``: does it make dockerd ignore the daemon.json mirrors?

Sources: ``mirrorcheck.versions.HOSTS_TOML`` (moby ``daemon/hosts.go``, measured
here on 28.5.2): on the containerd image store, one ``[host."..."]`` section
beside ``server`` in Docker Hub's hosts.toml is already enough for dockerd to
ignore ``registry-mirrors`` (``docker info`` still lists them); a file with
only ``server`` keeps them; the classic store does not read hosts.toml. The
format is containerd's ``docs/hosts.md``.

Usage::

    from mirrorcheck.rules.hosts_toml.lint import lint_hosts_toml

    findings = lint_hosts_toml(data, "/etc/docker/certs.d/docker.io/hosts.toml", "containerd")
    [f.code for f in findings]   # ['hosts-toml/overrides-mirrors'] when it has a [host]
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomli, the same parser (pytest depends on it there)
    import tomli as tomllib  # type: ignore[no-redef]

from mirrorcheck.findings import Finding, Severity, render_all
from mirrorcheck.rules.hosts_toml.catalog import INVALID_TOML, OVERRIDES_MIRRORS, UNREADABLE
from mirrorcheck.rules.lint_args import LintParser, file_arg
from mirrorcheck.rules.lint_input import (
    EXIT_UNUSABLE,
    HOSTS_TOML,
    input_problem,
    unreadable_problem,
)
from mirrorcheck.versions import CLASSIC, CONTAINERD, IMAGE_STORES

DOCKER_HUB_HOSTS = ("docker.io", "registry-1.docker.io", "index.docker.io")
"""The names under which a hosts.toml speaks for Docker Hub (its directory or ``server``)."""

NODE_PATHS = tuple(
    f"/etc/docker/certs.d/{host}/hosts.toml" for host in ("docker.io", "registry-1.docker.io")
)
"""Where a node's dockerd finds Docker Hub's hosts.toml (moby daemon/hosts.go, certs.d)."""

_SOURCE = "moby daemon/hosts.go; measured on Engine 28.5.2, see mirrorcheck/versions.py HOSTS_TOML"
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_HOST_HEADER = re.compile(r"^[ \t]*\[[ \t]*host[ \t]*\.", re.MULTILINE)


def _server_host(server: object) -> str:
    text = str(server or "").strip()
    text = text.split("://", 1)[-1]
    return text.split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0].lower()


def speaks_for_docker_hub(path: str, document: dict) -> bool:
    """Whether a hosts.toml at ``path`` configures Docker Hub: by its directory or its ``server``.

    A file given outside a ``certs.d/<host>/`` directory is judged by
    ``server`` alone (``https://registry-1.docker.io`` or ``docker.io``).
    """
    directory = PurePosixPath(path.replace("\\", "/")).parent.name.lower()
    return directory in DOCKER_HUB_HOSTS or _server_host(document.get("server")) in (
        DOCKER_HUB_HOSTS
    )


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def lint_hosts_toml(data: bytes, path: str, image_store: str | None = CONTAINERD) -> list[Finding]:
    """The findings on one hosts.toml; ``[]`` when it leaves the daemon.json mirrors in force.

    ``image_store``: ``containerd`` (the default: a fresh Engine 29 install),
    ``classic`` (hosts.toml is not read today: the override is a WARNING, as it
    bites once the node moves to the containerd store) or None (unknown,
    judged as containerd). Raises ValueError for another store name.
    """
    if image_store is not None and image_store not in IMAGE_STORES:
        raise ValueError(f"image store {image_store!r}: expected one of {IMAGE_STORES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return [UNREADABLE.finding(f"not UTF-8 at byte {error.start}", path=path)]
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        where = _TOML_POSITION.search(str(error))
        line, column = (int(where.group(1)), int(where.group(2))) if where else (None, None)
        message = _TOML_POSITION.sub("", str(error)).strip()
        excerpt = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
        return [INVALID_TOML.finding(message, path=path, line=line, column=column, excerpt=excerpt)]
    hosts = document.get("host")
    if not isinstance(hosts, dict) or not hosts or not speaks_for_docker_hub(path, document):
        return []
    header = _HOST_HEADER.search(text)
    line = _line_of(text, header.start()) if header else None
    names = ", ".join(sorted(hosts))
    classic = image_store == CLASSIC
    return [
        OVERRIDES_MIRRORS.finding(
            f"{len(hosts)} [host] section(s) for Docker Hub ({names}): "
            + (
                "the classic image store ignores hosts.toml today, but on the containerd store "
                "(the default of fresh Engine 29 installs) the daemon.json registry-mirrors are "
                "ignored"
                if classic
                else "dockerd pulls from these hosts and ignores the daemon.json "
                "registry-mirrors, while docker info still lists them"
            )
            + f" ({_SOURCE})",
            severity=Severity.WARNING if classic else None,
            path=path,
            line=line,
            column=1 if line else None,
            key="host",
            excerpt=text.splitlines()[line - 1] if line else "",
        )
    ]


def lint_node_files(
    files: Iterable[tuple[str, bytes]], image_store: str | None = CONTAINERD
) -> list[Finding]:
    """The findings on a node's hosts.toml files (``(path, bytes)`` each, as ``NODE_PATHS``
    gives them), in order; raises ValueError as ``lint_hosts_toml``."""
    return [found for path, data in files for found in lint_hosts_toml(data, path, image_store)]


def main(argv: Sequence[str] | None = None) -> int:
    """Lint hosts.toml files; exit 1 on errors, 0 otherwise, 2 on usage errors."""
    parser = LintParser(
        prog="mirrorcheck lint hosts-toml",
        description="Check containerd hosts.toml files that would override daemon.json mirrors.",
    )
    parser.add_argument(
        "files", nargs="+", type=file_arg, metavar="FILE", help="hosts.toml files to check"
    )
    parser.add_argument(
        "--image-store",
        choices=IMAGE_STORES,
        default=CONTAINERD,
        help="the nodes' image store (default containerd, as fresh Engine 29 installs)",
    )
    args = parser.parse_args(argv)
    return lint_files(args.files, args.image_store)


def lint_files(paths: Sequence[str], image_store: str | None = CONTAINERD) -> int:
    """Lint each file and print the findings; 1 when any is an error, 2 when one is unusable.

    A file that cannot be linted (missing, a directory, unreadable, binary, or
    another kind of file) is one line on stderr; the others are still linted.
    """
    failed = unusable = False
    for path in paths:
        problem = input_problem(path, HOSTS_TOML)
        data = b""
        if problem is None:
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError as error:
                problem = unreadable_problem(path, error, HOSTS_TOML)
        if problem:
            print(problem, file=sys.stderr)
            unusable = True
            continue
        findings = lint_hosts_toml(data, path, image_store)
        if findings:
            print(render_all(findings))
        failed = failed or any(f.severity is Severity.ERROR for f in findings)
        if not findings:
            print(f"{path}: ok (the daemon.json mirrors stay in force)")
    return EXIT_UNUSABLE if unusable else int(failed)

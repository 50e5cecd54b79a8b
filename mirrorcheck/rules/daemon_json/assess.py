"""A strict reader for Docker's daemon.json, and the rules a registry-mirror rollout needs.

It reads the file the way dockerd does, and stricter where dockerd silently
surprises (duplicate keys, flag names used as keys, trailing data): every
judgement is a :class:`~mirrorcheck.findings.Finding` with file, line,
column, the offending line and a caret under the column.

Usage::

    from mirrorcheck.rules.daemon_json.assess import read_daemon_json, assess, effective_mirrors

    doc = read_daemon_json("/etc/docker/daemon.json", engine="20.10")
    result = assess(doc, mirror_url="https://mirror.example.com")
    for finding in result.findings:
        print(finding.render())
    result.accepted          # no error findings
    result.dockerd_starts    # what dockerd 20.10 would do with this file
    effective_mirrors(doc)   # ['https://mirror.example.com/'], as `docker info` shows

From a shell or as a pre-commit hook::

    python -m mirrorcheck.rules.daemon_json.assess /etc/docker/daemon.json \\
        --mirror-url https://mirror.example.com --baseline daemon.json.orig

    # .pre-commit-config.yaml
    - repo: local
      hooks:
        - id: daemon-json
          name: daemon.json
          entry: python -m mirrorcheck.rules.daemon_json.assess --mirror-url https://mirror.example.com
          language: system
          files: daemon\\.json$

It exits 1 when a finding is an error, 2 on a usage error or a file it cannot
lint (missing, a directory, unreadable, binary, or another kind of file: one
line on stderr naming the fix), 0 otherwise.

Positions are 1-based lines and columns (in characters; a BOM is not
counted). A syntax error is placed where the parser notices it: for the
classic missing comma after ``"signature-verification": false`` that is the
start of the next key, the one that lacks a comma before it; the excerpt also
shows the line before, and the fix names the line and column where the comma
belongs.

Where the reader and dockerd part ways on purpose, :data:`DOCKERD_DIFFERENCES`
says so, code by code. Values are type-checked for every key, but only
``registry-mirrors`` and ``insecure-registries`` are checked further: dockerd
also refuses e.g. a bad IP under ``dns`` or an unknown ``log-driver``, which
this reader does not know.

Sources (moby/moby): ``daemon/config/config.go`` (getConflictFreeConfiguration,
findConfigurationConflicts), ``registry/config.go`` (ValidateMirror,
LoadMirrors, LoadInsecureRegistries), ``registry/service_v2.go``
(lookupV2Endpoints). The key table is :mod:`mirrorcheck.rules.daemon_json.keys`.

This module is the public face; the work is done by one module per job, and
every name here stays importable from here:

- :mod:`mirrorcheck.text.json_positions`: JSON with positions, syntax errors
  with a fix, duplicate keys, the caret excerpt (knows nothing of Docker);
- :mod:`mirrorcheck.text.go_url`: URLs split as Go's net/url splits them;
- :mod:`mirrorcheck.rules.daemon_json.catalog`: every rule, declared once
  (:data:`RULES`);
- :mod:`mirrorcheck.rules.daemon_json.reader`: bytes to :class:`DaemonJson`
  (:mod:`~mirrorcheck.rules.daemon_json.document`), with what dockerd makes of
  the encoding, an empty file, trailing data;
- :mod:`mirrorcheck.rules.daemon_json.key_rules`: keys per engine
  (:mod:`~mirrorcheck.rules.daemon_json.keys` over the table in
  :mod:`~mirrorcheck.rules.daemon_json.key_table`), value types, keys also
  given as dockerd flags;
- :mod:`mirrorcheck.rules.daemon_json.mirrors`: registry-mirrors, with the
  expected mirror (:mod:`~mirrorcheck.rules.daemon_json.expected_mirror`) and
  insecure-registries (:mod:`~mirrorcheck.rules.daemon_json.insecure_entries`),
  :func:`effective_mirrors`;
- :mod:`mirrorcheck.rules.daemon_json.baseline`: :func:`check_baseline`;
- :mod:`mirrorcheck.rules.daemon_json.codes`: :data:`DOCKERD_DIFFERENCES`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from mirrorcheck.findings import Finding, Severity
from mirrorcheck.rules import placeholder
from mirrorcheck.rules.daemon_json.baseline import check_baseline
from mirrorcheck.rules.daemon_json.catalog import PLACEHOLDER, RULES
from mirrorcheck.rules.daemon_json.codes import DOCKERD_DIFFERENCES, DockerdDifference
from mirrorcheck.rules.daemon_json.document import DaemonJson, Issue
from mirrorcheck.rules.daemon_json.engine import (
    CONTAINERD_STORE_SINCE,
    DEFAULT_ENGINE,
    MIRROR_VALIDATION_FROM,
    OLDEST,
    VALIDATE_FROM,
    EngineVersion,
)
from mirrorcheck.rules.daemon_json.expected_mirror import (
    ExpectedMirror,
    missing_mirror,
    normalise_mirror,
)
from mirrorcheck.rules.daemon_json.key_rules import check_flag_conflicts, check_keys
from mirrorcheck.rules.daemon_json.key_table import NEWEST_KNOWN
from mirrorcheck.rules.daemon_json.mirrors import MIRROR_PATH_FROM, check_mirrors, effective_mirrors
from mirrorcheck.rules.daemon_json.reader import STRICT_FROM, parse_daemon_json, read_daemon_json
from mirrorcheck.rules.hosts_toml.lint import lint_files
from mirrorcheck.rules.lint_args import (
    LintParser,
    file_arg,
    host_name_arg,
    mirror_url_arg,
    text_arg,
)
from mirrorcheck.rules.lint_input import DAEMON_JSON, EXIT_UNUSABLE, input_problem
from mirrorcheck.text.json_positions import JsonMember, JsonNode
from mirrorcheck.versions import CLASSIC

__all__ = [
    "DEFAULT_ENGINE",
    "DOCKERD_DIFFERENCES",
    "MIRROR_PATH_FROM",
    "PLACEHOLDER",
    "RULES",
    "STRICT_FROM",
    "Assessment",
    "DaemonJson",
    "DockerdDifference",
    "JsonMember",
    "JsonNode",
    "assess",
    "check_baseline",
    "effective_mirrors",
    "main",
    "normalise_mirror",
    "parse_daemon_json",
    "read_daemon_json",
]


@dataclass(frozen=True)
class Assessment:
    """What the rules found in one daemon.json, and what dockerd would do with it."""

    findings: list[Finding]
    dockerd_starts: bool
    engine: EngineVersion
    validate_accepts: bool | None = None
    """What ``dockerd --validate`` answers: True for ``configuration OK``; None before 23.0."""
    validate_skips: tuple[str, ...] = ()
    """Codes of refusals ``dockerd --validate`` does not see on this engine (mirrors, < 28.3)."""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def accepted(self) -> bool:
        """True when no finding is an error."""
        return not self.errors

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


def assess(
    doc: DaemonJson,
    *,
    mirror_url: str | None = None,
    allow_keys: Iterable[str] = (),
    allow_other_mirrors: bool = False,
    baseline: DaemonJson | None = None,
    dockerd_flags: Sequence[str] = (),
    mirror_ips: Iterable[str] = (),
) -> Assessment:
    """Every rule on ``doc``.

    ``mirror_url``: the mirror that must be configured, a URL or ``host[:port]``
    (ValueError if it is the guide's placeholder). ``allow_keys``: keys a fork
    of dockerd accepts (e.g. ``signature-verification``). ``allow_other_mirrors``:
    other mirrors may come first. ``baseline``: the file before the change; the
    new one must only add or change ``registry-mirrors``. ``dockerd_flags``: the
    flags dockerd is started with (``["-H", "fd://", "--containerd=..."]``).
    ``mirror_ips``: addresses the mirror's name resolves to on the node.
    """
    expected = ExpectedMirror.parse(mirror_url) if mirror_url else None
    issues = doc.issues
    unvalidated: list[Issue] = []
    document = doc.document
    if document is not None:
        issues += check_keys(doc, allow_keys)
        issues += check_flag_conflicts(doc, dockerd_flags)
        mirror_issues = check_mirrors(
            doc, expected, allow_other_mirrors=allow_other_mirrors, mirror_ips=mirror_ips
        )
        issues += mirror_issues
        if doc.engine < MIRROR_VALIDATION_FROM:
            unvalidated = [i for i in mirror_issues if i.dockerd_refuses]
    elif expected is not None and doc.readable and not any(i.dockerd_refuses for i in issues):
        issues.append(Issue(missing_mirror(doc, expected, None), False))
    if baseline is not None:
        issues.extend(Issue(f, False) for f in check_baseline(baseline, doc))
    issues.sort(key=lambda i: (i.finding.line is None, i.finding.line or 0, i.finding.column or 0))
    skipped = {id(issue) for issue in unvalidated}
    return Assessment(
        findings=[issue.finding for issue in issues],
        dockerd_starts=doc.readable and not any(issue.dockerd_refuses for issue in issues),
        engine=doc.engine,
        validate_accepts=None
        if doc.engine < VALIDATE_FROM
        else doc.readable and not any(i.dockerd_refuses for i in issues if id(i) not in skipped),
        validate_skips=tuple(sorted({issue.finding.code for issue in unvalidated})),
    )


def _one_line(finding: Finding) -> str:
    text = f"{finding.location}: {finding.severity.value} [{finding.code}] {finding.message}"
    return f"{text}; fix: {finding.fix}" if finding.fix else text


def _parser() -> LintParser:
    parser = LintParser(
        prog="mirrorcheck lint daemon-json",
        description="Check Docker daemon.json files for a registry-mirror rollout.",
    )
    parser.add_argument(
        "files",
        nargs="+",
        type=file_arg,
        metavar="FILE",
        help="daemon.json files to check; a file named hosts.toml is checked as containerd's "
        "hosts.toml for Docker Hub (does it make dockerd ignore the mirrors?)",
    )
    parser.add_argument(
        "--mirror-url",
        type=mirror_url_arg,
        metavar="URL",
        help="the mirror that must be configured (URL or host[:port])",
    )
    parser.add_argument(
        "--mirror-fqdn",
        type=host_name_arg,
        metavar="HOST",
        help="fill the guide's <your registry mirror FQDN> placeholder with HOST first, as the "
        "suites do (without it a placeholder is a finding)",
    )
    parser.add_argument(
        "--allow-daemon-key",
        action="append",
        default=[],
        type=text_arg,
        metavar="KEY",
        help="accept a key upstream dockerd refuses (e.g. signature-verification on forks)",
    )
    parser.add_argument(
        "--allow-other-mirrors", action="store_true", help="other mirrors may come first"
    )
    parser.add_argument(
        "--baseline", type=file_arg, metavar="FILE", help="the file before the change"
    )
    parser.add_argument(
        "--engine-version",
        default=str(DEFAULT_ENGINE),
        metavar="X.Y",
        help=f"target Docker Engine (default {DEFAULT_ENGINE})",
    )
    parser.add_argument(
        "--dockerd-flag",
        action="append",
        default=[],
        type=text_arg,
        metavar="FLAG",
        help="a flag dockerd is started with, e.g. --dockerd-flag=-H (repeatable)",
    )
    return parser


def _read(path: str, engine: EngineVersion, mirror_fqdn: str | None) -> DaemonJson:
    """The file as the reader reads it; its placeholder filled with ``mirror_fqdn`` if given."""
    if mirror_fqdn is None:
        return read_daemon_json(path, engine)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return read_daemon_json(path, engine)  # its unreadable finding
    return parse_daemon_json(placeholder.fill(data, mirror_fqdn), path=path, engine=engine)


def main(argv: list[str] | None = None) -> int:
    """Check daemon.json files; exit 1 on errors, 0 otherwise, 2 on usage errors.

    A file that cannot be linted (missing, a directory, unreadable, binary, or
    another kind of file) is one line on stderr and exit 2; the others are still checked.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        engine = EngineVersion.parse(args.engine_version)
    except ValueError as error:
        parser.error(f"{error}. Fix: --engine-version X.Y, e.g. 28.5")
    if not OLDEST <= engine <= NEWEST_KNOWN:
        parser.error(
            f"argument --engine-version: Engine {engine} is "
            f"{'older' if engine < OLDEST else 'newer'} than any mirrorcheck has facts for: its "
            f"daemon.json keys cover Engine {OLDEST} to {NEWEST_KNOWN}. Fix: give the engine's "
            f"X.Y from {OLDEST} to {NEWEST_KNOWN}, e.g. --engine-version {DEFAULT_ENGINE} "
            "(the default)"
        )
    baseline = None
    if args.baseline:
        baseline = read_daemon_json(args.baseline, engine)
        problem = _one_line(baseline.findings[0]) if not baseline.readable else None
        problem = problem or input_problem(args.baseline, DAEMON_JSON)
        if problem:
            print(problem, file=sys.stderr)
            return EXIT_UNUSABLE
    # A containerd hosts.toml beside the daemon.json: does it make dockerd ignore the mirrors?
    hosts_files = [path for path in args.files if PurePath(path).name == "hosts.toml"]
    status = lint_files(hosts_files, CLASSIC if engine < CONTAINERD_STORE_SINCE else None)
    failed, unreadable = status == 1, status == EXIT_UNUSABLE
    for path in (path for path in args.files if path not in hosts_files):
        doc = _read(path, engine, args.mirror_fqdn)
        problem = _one_line(doc.findings[0]) if not doc.readable else None
        problem = problem or input_problem(path, DAEMON_JSON)
        if problem:
            print(problem, file=sys.stderr)
            unreadable = True
            continue
        result = assess(
            doc,
            mirror_url=args.mirror_url,
            allow_keys=args.allow_daemon_key,
            allow_other_mirrors=args.allow_other_mirrors,
            baseline=baseline,
            dockerd_flags=args.dockerd_flag,
        )
        for finding in result.findings:
            print(finding.render())
        failed = failed or not result.accepted
    if unreadable:
        return EXIT_UNUSABLE
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

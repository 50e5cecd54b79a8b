"""The daemon.json reader's verdict beside a real dockerd's: do they agree, and if not, why.

The reader judges a file (``Assessment.accepted``) and predicts what dockerd
does with it (``Assessment.dockerd_starts``). A real dockerd started with the
file is the oracle. They agree when the prediction holds and every place where
the verdicts part is one that :data:`~mirrorcheck.rules.daemon_json.assess.DOCKERD_DIFFERENCES`
documents (the reader is stricter than dockerd 20.10 on purpose, or lenient
on a fork's key it was told to allow).

Usage::

    from mirrorcheck.rules.daemon_json.assess import assess, parse_daemon_json
    from mirrorcheck.rules.daemon_json.oracle import (
        compare_with_dockerd, compare_with_validate, explain_with_reader
    )

    result = assess(parse_daemon_json(data, path="daemon.json"))
    comparison = compare_with_dockerd(result, dockerd_started=False, dockerd_said="...")
    comparison.agree            # False means the reader or its table of differences is wrong
    # 23.0 and later: `dockerd --validate --config-file F` answered "configuration OK"?
    compare_with_validate(assess(parse_daemon_json(data, engine="28.5")), validate_ok=True)
    print(comparison.describe())

    # why a node never came up, in the reader's words (file:line:column, caret, fix)
    print(explain_with_reader(data, "/srv/daemon.json"))
    dockerd_fatal_line(node_log)   # "unable to configure the Docker daemon with file ..."
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mirrorcheck.findings import render_all
from mirrorcheck.rules.daemon_json.assess import (
    DEFAULT_ENGINE,
    DOCKERD_DIFFERENCES,
    Assessment,
    DockerdDifference,
    assess,
    parse_daemon_json,
)
from mirrorcheck.rules.daemon_json.keys import EngineVersion

# How dockerd words a refusal to start (moby cmd/dockerd: daemon/config errors, then
# "failed to start daemon: ..." for what fails after the file was read).
_FATAL = re.compile(
    r"(unable to configure the Docker daemon with file [^\n]*|failed to start daemon[^\n]*)"
)


def dockerd_fatal_line(log: str) -> str:
    """dockerd's last fatal line in ``log`` (its stderr), or ``""`` when there is none."""
    found = _FATAL.findall(log)
    return found[-1].strip() if found else ""


def reader_verdict(assessment: Assessment) -> str:
    """``"accepts"`` or ``"refuses: code, code"`` (error codes only), as reports show it."""
    codes = sorted({f.code for f in assessment.errors})
    return "accepts" if not codes else "refuses: " + ", ".join(codes)


@dataclass(frozen=True)
class OracleComparison:
    """One file: what the reader said, what dockerd did, and how the two relate."""

    assessment: Assessment
    dockerd_started: bool
    dockerd_said: str = ""
    documented: tuple[DockerdDifference, ...] = ()
    problems: tuple[str, ...] = field(default=())
    judge: str = "dockerd"
    """``dockerd`` (a daemon started with the file) or ``dockerd --validate``."""

    @property
    def agree(self) -> bool:
        """The prediction held and every difference in verdict is documented."""
        return not self.problems

    @property
    def reader_verdict(self) -> str:
        return reader_verdict(self.assessment)

    @property
    def dockerd_verdict(self) -> str:
        """``"started"`` or ``"refused: <dockerd's words>"``."""
        if self.dockerd_started:
            return "started"
        return f"refused: {self.dockerd_said}" if self.dockerd_said else "refused"

    def describe(self) -> str:
        """A few lines for a report: both verdicts, the documented differences, the problems."""
        engine = self.assessment.engine
        if self.judge == "dockerd":
            predicted = "start" if self.assessment.dockerd_starts else "refuse"
        else:
            predicted = "accept" if self.assessment.validate_accepts else "refuse"
        lines = [
            f"reader: {self.reader_verdict} (predicts {self.judge} {engine} will {predicted})",
            f"{self.judge} {engine}: {self.dockerd_verdict}",
        ]
        if self.assessment.validate_skips and self.judge != "dockerd":
            lines.append(
                f"not checked by {self.judge} {engine} (mirrors are validated from 28.3): "
                + ", ".join(self.assessment.validate_skips)
            )
        lines += [
            f"documented difference [{d.code}]: dockerd {d.dockerd}; the reader {d.reader}"
            for d in self.documented
        ]
        lines += [f"DISAGREE: {problem}" for problem in self.problems]
        return "\n".join(lines)


def compare_with_dockerd(
    assessment: Assessment, dockerd_started: bool, dockerd_said: str = ""
) -> OracleComparison:
    """Hold the reader's ``assessment`` of a file against what dockerd did with that file.

    ``dockerd_said``: dockerd's fatal log line when it refused, for the report.
    """
    return _compare(assessment, assessment.dockerd_starts, dockerd_started, dockerd_said)


def compare_with_validate(
    assessment: Assessment, validate_ok: bool, dockerd_said: str = ""
) -> OracleComparison:
    """Hold the reader's ``assessment`` against ``dockerd --validate --config-file`` (23.0+).

    ``validate_ok``: it answered ``configuration OK`` (exit 0). Before 28.3
    ``--validate`` does not check ``registry-mirrors``
    (``Assessment.validate_skips``): a mirror dockerd refuses at start passes
    it, and that is no disagreement. Raises ValueError for an engine without
    ``--validate``.
    """
    if assessment.validate_accepts is None:
        raise ValueError(f"dockerd {assessment.engine} has no --validate (it came with 23.0)")
    return _compare(
        assessment,
        assessment.validate_accepts,
        validate_ok,
        dockerd_said,
        excused=assessment.validate_skips,
        judge="dockerd --validate",
    )


def _compare(
    assessment: Assessment,
    predicted: bool,
    started: bool,
    said: str,
    excused: Sequence[str] = (),
    judge: str = "dockerd",
) -> OracleComparison:
    engine = assessment.engine
    verbs = ("accept", "accepted", "refuse", "refused")
    if judge == "dockerd":
        verbs = ("start", "started", "refuse to start", "refused")
    problems: list[str] = []
    documented: list[DockerdDifference] = []
    if predicted is not started:
        problems.append(
            f"the reader predicted {judge} {engine} would {verbs[0] if predicted else verbs[2]}; "
            f"it {verbs[1] if started else verbs[3]}"
            + (f" ({said})" if said and not started else "")
        )
    error_codes = sorted({f.code for f in assessment.errors} - set(excused))
    if error_codes and started:
        documented = _documented(error_codes, engine, dockerd_starts=True)
        unexplained = [c for c in error_codes if c not in {d.code for d in documented}]
        if unexplained:
            problems.append(
                f"the reader refuses for {', '.join(unexplained)}, which {judge} {engine} "
                "accepts, and DOCKERD_DIFFERENCES does not document that"
            )
    elif not assessment.errors and not started:
        documented = _documented(sorted(set(assessment.codes)), engine, dockerd_starts=False)
        if not documented:
            problems.append(
                f"the reader accepts a file {judge} {engine} refuses, and none of its findings "
                "is a difference DOCKERD_DIFFERENCES documents"
            )
    return OracleComparison(
        assessment, started, said, tuple(documented), tuple(problems), judge=judge
    )


def _documented(
    codes: Sequence[str], engine: EngineVersion, dockerd_starts: bool
) -> list[DockerdDifference]:
    found = (DOCKERD_DIFFERENCES.get(code) for code in codes)
    return [
        d
        for d in found
        if d is not None and d.dockerd_starts is dockerd_starts and d.applies_to(engine)
    ]


def explain_with_reader(
    data: bytes,
    path: str,
    engine: str | EngineVersion = DEFAULT_ENGINE,
    dockerd_flags: Sequence[str] = (),
) -> str:
    """What the reader finds wrong with a file dockerd refused, rendered with file:line:column.

    When the reader finds no error, it says so: a rule is missing from the reader.
    """
    result = assess(parse_daemon_json(data, path=path, engine=engine), dockerd_flags=dockerd_flags)
    if result.errors:
        return "the daemon.json reader says:\n" + render_all(result.errors)
    return (
        f"the daemon.json reader finds no error in {path} (it predicts dockerd "
        f"{result.engine} {'starts' if result.dockerd_starts else 'refuses'}): "
        "dockerd's own words above are the cause"
    )

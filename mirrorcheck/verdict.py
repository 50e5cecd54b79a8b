"""Verdicts that know the mirror software's limitations.

A check that misses its ideal only because of a limitation listed in
``mirrorcheck.rules.limitations`` for the running registry version is reported as
an expected failure (xfail) that names the limitation and its fix, so a gate
stays red only for what the user can fix. ``--strict`` (or
``--strict-limitations``) turns those back into failures. A listed limitation
that did not show up is reported as a ``LimitationNotObserved`` warning: the
table is wrong for this version, or the software got better.

Usage (inside a test)::

    verdict.judge(
        COLD_PULL_COST,
        ideal=max(gets.values()) == 1,
        tolerated=max(gets.values()) <= bound,
        measured=f"upstream GETs per blob: {gets}",
        failure="a cold pull fetched a blob more often than the bound allows",
    )
"""

from __future__ import annotations

import warnings

import pytest

from mirrorcheck.rules.limitations import Limitation, limitations_for


class LimitationNotObserved(UserWarning):
    """A limitation listed for this registry version did not show up."""


class Verdict:
    """Judges checks for one registry version, strictly or with the limitations table."""

    def __init__(self, registry_version: str, strict: bool = False) -> None:
        self.registry_version = registry_version
        self.strict = strict

    def strictly(self) -> Verdict:
        """The same judge, failing every limitation (for one check's own strict option)."""
        return Verdict(self.registry_version, strict=True)

    def limitations(self, check_id: str) -> list[Limitation]:
        return limitations_for(self.registry_version or None, check_id)

    def judge(
        self,
        check_id: str,
        *,
        ideal: bool,
        tolerated: bool,
        measured: str,
        failure: str,
        only: set[str] | None = None,
    ) -> None:
        """Pass, xfail naming a limitation, or fail; see the module docstring.

        ``ideal``: what the reference guide promises holds. ``tolerated``: the
        shortfall stays within what the listed limitations explain. ``only``
        narrows the limitations to these ids (a check that looks at one part).
        """
        listed = [lim for lim in self.limitations(check_id) if only is None or lim.id in only]
        version = self.registry_version or "unknown version"
        if ideal:
            for limitation in listed:
                warnings.warn(
                    LimitationNotObserved(
                        f"{check_id}: limitation '{limitation.id}' is listed for registry "
                        f"{version} but did not show up ({measured}). Either the table in "
                        "mirrorcheck/rules/known_limitations.py is wrong for this version or the "
                        "software got better."
                    ),
                    stacklevel=2,
                )
            return
        names = "; ".join(f"'{lim.id}': {lim.behaviour}. Fix: {lim.fix}" for lim in listed)
        if listed and tolerated and not self.strict:
            pytest.xfail(f"known limitation of registry {version}: {names}. Measured: {measured}")
        if listed and tolerated:
            pytest.fail(
                f"{failure} ({measured}). Strict mode fails known limitations of registry "
                f"{version}: {names}",
                pytrace=False,
            )
        explained = f" Known limitations of registry {version}: {names}" if listed else ""
        pytest.fail(f"{failure} ({measured}).{explained}", pytrace=False)

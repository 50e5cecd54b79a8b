"""A test report with its secrets taken out, before the terminal, junit and pytest-html see it.

Pure duck typing over pytest's report objects (no pytest import): the text of
a report is in ``longrepr`` (a string, a skip's ``(path, line, reason)`` tuple,
or pytest's ``ExceptionRepr`` tree of dataclasses), ``sections`` (captured
output), ``user_properties`` (figures) and ``wasxfail``. Each string in them
goes through ``mirrorcheck.text.redact.Redactor``, in place, and has its
control characters escaped (a binary file's bytes quoted in a finding must not
drive the terminal).

Usage::

    from mirrorcheck.report.redaction import redact_report

    redact_report(report, redactor)     # in a tryfirst pytest_runtest_logreport
"""

from __future__ import annotations

from mirrorcheck.text.redact import Redactor, printable

# Objects of these modules make up pytest's failure representations: they are walked.
_WALKED_MODULES = ("_pytest.", "pluggy.")
_MAX_DEPTH = 40


def _walk(value: object, redactor: Redactor, depth: int, seen: set[int]) -> object:
    """``value`` with every string in it redacted; lists, dicts and pytest objects in place."""
    if isinstance(value, str):
        return printable(redactor.text(value))
    if depth > _MAX_DEPTH or id(value) in seen:
        return value
    if isinstance(value, list):
        seen.add(id(value))
        value[:] = [_walk(v, redactor, depth + 1, seen) for v in value]
    elif isinstance(value, tuple):
        return tuple(_walk(v, redactor, depth + 1, seen) for v in value)
    elif isinstance(value, dict):
        seen.add(id(value))
        for key in list(value):
            value[key] = _walk(value[key], redactor, depth + 1, seen)
    elif type(value).__module__.startswith(_WALKED_MODULES) and hasattr(value, "__dict__"):
        seen.add(id(value))
        for name, attribute in list(vars(value).items()):
            redacted = _walk(attribute, redactor, depth + 1, seen)
            if redacted is not attribute:
                object.__setattr__(value, name, redacted)  # some are frozen dataclasses
    return value


def redact_report(report: object, redactor: Redactor) -> None:
    """Take the secrets out of a pytest ``TestReport`` or ``CollectReport``, in place."""
    seen: set[int] = set()
    for name in ("longrepr", "sections", "user_properties", "wasxfail"):
        if hasattr(report, name):
            value = getattr(report, name)
            redacted = _walk(value, redactor, 0, seen)
            if redacted is not value:
                setattr(report, name, redacted)

"""The baseline rule: a daemon.json after the rollout is the one before plus registry-mirrors.

Every other difference is named: a key removed, added or changed (a changed
value compared as JSON, so ``true`` and ``1`` differ). Removing a key
upstream dockerd refuses, such as ``signature-verification``, is the fix for
it and reported as INFO.

Usage::

    from mirrorcheck.rules.daemon_json.baseline import check_baseline
    from mirrorcheck.rules.daemon_json.reader import parse_daemon_json, read_daemon_json

    before = read_daemon_json("/etc/docker/daemon.json.orig")
    after = read_daemon_json("/etc/docker/daemon.json")
    for finding in check_baseline(before, after):
        print(finding.render())

    before = parse_daemon_json('{"signature-verification": false, "debug": true}')
    after = parse_daemon_json('{"debug": false, "registry-mirrors": ["https://m.example.com"]}')
    [f.code for f in check_baseline(before, after)]
    # ['daemon-json/baseline-cleanup', 'daemon-json/baseline-changed']
"""

from __future__ import annotations

import json
from typing import Any

from mirrorcheck.findings import Finding
from mirrorcheck.rules.daemon_json import catalog, keys
from mirrorcheck.rules.daemon_json.document import DaemonJson
from mirrorcheck.rules.daemon_json.keys import KeyStatus


def check_baseline(before: DaemonJson, after: DaemonJson) -> list[Finding]:
    """``after`` must be ``before`` plus ``registry-mirrors``; name every other difference.

    Removing a key upstream dockerd refuses (such as ``signature-verification``)
    is reported as INFO: it is the fix, not a mistake.
    """
    old, new = before.document, after.document
    if old is None or new is None:
        which = before if old is None else after
        reason = "it could not be read" if not which.readable else "it is not a valid JSON object"
        return [
            after.finding(
                catalog.BASELINE_INVALID,
                f"cannot compare with the baseline {before.path}: {which.path} {reason}",
                "fix that file first, or compare against a readable copy of the original",
            )
        ]
    findings: list[Finding] = []
    for key in old:
        if key == "registry-mirrors" or key in new:
            continue
        if keys.key_status(key, after.engine) in (
            KeyStatus.UNKNOWN,
            KeyStatus.NEVER_ACCEPTED,
            KeyStatus.REMOVED,
            KeyStatus.TOO_NEW,
        ):
            findings.append(
                after.finding(
                    catalog.BASELINE_CLEANUP,
                    f"{key!r} of the baseline {before.path} was removed; upstream dockerd "
                    f"{after.engine} refuses it, so that is expected",
                    key=key,
                )
            )
            continue
        findings.append(
            after.finding(
                catalog.BASELINE_REMOVED,
                f"{key!r} of the baseline {before.path} is gone; "
                "only 'registry-mirrors' should change",
                f"put {key!r} back as it was in {before.path}",
                key=key,
            )
        )
    for key in new:
        if key == "registry-mirrors":
            continue
        member = after.member(key)
        offset = member.key_start if member is not None else None
        if key not in old:
            findings.append(
                after.finding(
                    catalog.BASELINE_ADDED,
                    f"{key!r} is new compared with the baseline {before.path}; "
                    "only 'registry-mirrors' should be added",
                    f"remove {key!r}, or make it a separate, reviewed change",
                    offset=offset,
                    key=key,
                )
            )
        elif not _same_json(old[key], new[key]):
            findings.append(
                after.finding(
                    catalog.BASELINE_CHANGED,
                    f"{key!r} changed from {_short(old[key])} in the baseline {before.path} "
                    f"to {_short(new[key])}; only 'registry-mirrors' should change",
                    f"restore {key!r} to {_short(old[key])}",
                    offset=offset,
                    key=key,
                )
            )
    return findings


def _same_json(a: Any, b: Any) -> bool:
    # Python says True == 1 and 1 == 1.0; JSON values of different kinds differ.
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."

"""A swarm service's container logs, read from their json-file log files at the node.

``docker logs`` inside a lab node costs a Docker CLI start and an API round
trip per container (measured here: 0.3-0.45 s for Traefik's log, read on
every accounted pull); the json-file driver's own files hold the same lines,
stdout and stderr in the order written, and one ``cat`` reads them in about
0.07 s. dockerd keeps them at ``<data-root>/containers/<id>/<id>-json.log``
(moby daemon/logger/jsonfilelog: one JSON object per line, ``log`` holding
the text with its newline, a line over 16 KiB split over several objects).

The files are read only when they are complete: a container whose log has
rotated (``<id>-json.log.1``...) or another log driver (no ``-json.log``
file) makes :func:`read_service_log` return None, and the caller reads the
log with ``docker logs``.

Usage::

    text = read_service_log(manager, "traefik_traefik")   # None: use docker logs
"""

from __future__ import annotations

import json
import re

from mirrorcheck.targets.nodes.node import Node

CONTAINERS = "/var/lib/docker/containers"
SECTION = "\x1e"  # before each container: its Created time, as config.v2.json gives it
INCOMPLETE = "mirrorcheck: incomplete"
# Each container of the service (its label in config.v2.json), oldest first after sorting:
# a section mark with its creation time, then its json-file log.
SCRIPT = (
    f"for d in {CONTAINERS}/*/; do "
    'grep -qF "$0" "$d/config.v2.json" 2>/dev/null || continue; '
    'ls "$d"*-json.log >/dev/null 2>&1 || { echo "$1"; exit 3; }; '
    'for f in "$d"*-json.log.*; do [ -e "$f" ] && { echo "$1"; exit 3; }; done; '
    f'printf \'{SECTION}%s\\n\' "$(grep -o \'"Created":"[^"]*"\' "$d/config.v2.json")"; '
    'cat "$d"*-json.log; '
    "done"
)
_CREATED = re.compile(
    r'"Created":"(?P<second>[^".]+?)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-][\d:]+)"'
)


def label_needle(service: str) -> str:
    """The text a service's task container carries in its config.v2.json labels."""
    return f'"com.docker.swarm.service.name":"{service}"'


def _created_key(header: str) -> str:
    """A sort key from ``"Created":"2026-11-30T21:07:40.12Z"``: fractions padded to 9 digits.

    Go's RFC 3339 with nanoseconds drops trailing zeros, so ``.12Z`` would
    sort after ``.123Z`` as text.
    """
    found = _CREATED.search(header)
    if found is None:
        return header
    return f"{found['second']}.{(found['fraction'] or '').ljust(9, '0')}{found['zone']}"


def join_sections(output: str) -> str:
    """The text of every container's log in ``output`` (SCRIPT's), oldest container first.

    Raises ValueError on a line that is not a json-file log entry.
    """
    sections = []
    for chunk in output.split(SECTION)[1:]:
        header, _, body = chunk.partition("\n")
        text = []
        for line in body.splitlines():
            if line.strip():
                try:
                    text.append(json.loads(line)["log"])
                except (ValueError, KeyError, TypeError):
                    raise ValueError(f"not a json-file log entry: {line[:200]!r}") from None
        sections.append((_created_key(header), "".join(text)))
    return "".join(text for _, text in sorted(sections, key=lambda section: section[0]))


def read_service_log(node: Node, service: str, timeout: float = 30.0) -> str | None:
    """Every container of ``service`` on ``node``: its log, stdout and stderr as written.

    None when a log is not complete in json-file files there (rotated,
    another log driver) or cannot be read: read it with ``docker logs`` then.
    """
    ran = node.run("sh", "-c", SCRIPT, label_needle(service), INCOMPLETE, timeout=timeout)
    if not ran.ok or INCOMPLETE in ran.output.splitlines():
        return None
    try:
        return join_sections(ran.output)
    except ValueError:
        return None

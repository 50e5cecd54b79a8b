"""Traefik's JSON access log as the same ``Request``/``Traffic`` records as distribution's log.

With ``accesslog.format=json`` Traefik writes one JSON object per request on
its access log: ``ClientHost``, ``RequestMethod``, ``RequestPath``,
``DownstreamStatus`` (what the client got), ``DownstreamContentSize`` (bytes
sent to it), ``StartUTC``, ``RouterName``, ``entryPointName`` and, when kept
with ``accesslog.fields.headers.names.User-Agent=keep``, ``request_User-Agent``
(Traefik's access-log docs, "Limit the fields"). Traefik's own log lines, JSON
or not, carry no ``RequestMethod`` and are not requests. A line that has one
but lacks the rest is reported, not skipped.

Usage::

    from mirrorcheck.probes.traefik_access_log import parse_traefik_log, routers

    requests = parse_traefik_log(text)         # every request, in order
    Traffic(requests).from_client("172.18.0.7").by_method_and_kind()
    routers(text)                              # the router of each request, in order
"""

from __future__ import annotations

import json

from mirrorcheck.probes.access_log import AccessLogError, Request, classify

USER_AGENT_FIELD = "request_User-Agent"


def _entry(line: str) -> dict | None:
    line = line.strip()
    if not line.startswith("{"):
        return None  # Traefik's own log in its text format
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return None  # a partial line at the end of a stream
    return entry if isinstance(entry, dict) and "RequestMethod" in entry else None


def parse_traefik_line(line: str) -> Request | None:
    """A Request for one access-log line; None for Traefik's other lines.

    Raises AccessLogError naming the missing field for an access-log line
    without path, status or client.
    """
    entry = _entry(line)
    if entry is None:
        return None
    try:
        path = str(entry["RequestPath"])
        kind, name, reference = classify(path)
        return Request(
            method=str(entry["RequestMethod"]),
            path=path,
            status=int(entry["DownstreamStatus"]),
            written=int(entry.get("DownstreamContentSize") or 0),
            client=str(entry["ClientHost"]),
            time=str(entry.get("StartUTC") or entry.get("time") or ""),
            kind=kind,
            name=name,
            reference=reference,
            user_agent=str(entry.get(USER_AGENT_FIELD) or ""),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise AccessLogError(f"Traefik access-log line without {error}: {line[:200]}") from None


def parse_traefik_log(text: str) -> list[Request]:
    """Every request in Traefik's output (access log mixed with its own log), in order."""
    found = (parse_traefik_line(line) for line in text.splitlines())
    return [request for request in found if request is not None]


def routers(text: str) -> list[str]:
    """The router that handled each request, in order ("" when Traefik found no route)."""
    entries = (_entry(line) for line in text.splitlines())
    return [str(entry.get("RouterName") or "") for entry in entries if entry is not None]

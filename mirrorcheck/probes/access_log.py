"""Exact request accounting from a distribution registry's JSON log.

With ``log.formatter: json``, distribution writes one ``response completed``
entry per request (``http.request.method``, ``http.request.uri``,
``http.response.status``, ``http.response.written``, ``http.request.remoteaddr``).
This module turns those lines into counts per method, kind and digest. It
never estimates: a line it cannot read is reported, not skipped.

Usage::

    from mirrorcheck.probes.access_log import parse_log, Traffic

    requests = parse_log(text)                       # every completed request, in order
    traffic = Traffic(requests).from_client("172.18.0.3")   # only what the mirror asked
    traffic.blob_gets()        # {"sha256:...": 2, ...}
    traffic.billable()         # manifest GETs Docker Hub would count as pulls
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

COMPLETED = {"response completed", "response completed with error"}

PING = "ping"
MANIFEST_BY_TAG = "manifest-by-tag"
MANIFEST_BY_DIGEST = "manifest-by-digest"
BLOB = "blob"
UPLOAD = "blob-upload"
OTHER = "other"

_NAME = r"(?P<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
_ROUTES = [
    (re.compile(r"^/v2/?$"), PING),
    (re.compile(rf"^/v2/{_NAME}/manifests/(?P<ref>sha256:[0-9a-f]{{64}})$"), MANIFEST_BY_DIGEST),
    (re.compile(rf"^/v2/{_NAME}/manifests/(?P<ref>[\w][\w.-]{{0,127}})$"), MANIFEST_BY_TAG),
    (re.compile(rf"^/v2/{_NAME}/blobs/uploads/"), UPLOAD),
    (re.compile(rf"^/v2/{_NAME}/blobs/(?P<ref>sha256:[0-9a-f]{{64}})$"), BLOB),
]


DOCKER_ENGINE_AGENT = "docker/"


class AccessLogError(ValueError):
    """A log entry claimed to be a completed request but could not be read."""


@dataclass(frozen=True)
class Request:
    """One completed request as the registry logged it."""

    method: str
    path: str
    status: int
    written: int
    client: str  # remote address without port
    time: str
    kind: str
    name: str = ""
    reference: str = ""
    user_agent: str = ""

    @property
    def from_docker_engine(self) -> bool:
        """Sent by a Docker Engine (dockerd or its containerd: ``docker/20.10.24 go/...``).

        distribution's proxy sends no ``docker/`` agent, so at Docker Hub this
        tells a node's own request (a bypass) from the mirror's fetch when
        both come from one address (a swarm task behind its node's NAT).
        """
        return self.user_agent.startswith(DOCKER_ENGINE_AGENT)

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300


def classify(path: str) -> tuple[str, str, str]:
    """``(kind, repository name, reference)`` for a Registry API path."""
    bare = path.split("?", 1)[0]
    for pattern, kind in _ROUTES:
        match = pattern.match(bare)
        if match:
            groups = match.groupdict()
            return kind, groups.get("name") or "", groups.get("ref") or ""
    return OTHER, "", ""


def _client_address(remote: str) -> str:
    """``172.18.0.3:57038`` or ``[fd00::3]:57038`` -> the address alone."""
    if remote.startswith("["):
        return remote[1:].split("]", 1)[0]
    return remote.rsplit(":", 1)[0] if remote.count(":") == 1 else remote


def parse_line(line: str) -> Request | None:
    """A Request for a ``response completed`` JSON line; None for any other line."""
    line = line.strip()
    if not line.startswith("{"):
        return None  # the combined-format access log and other plain lines
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return None  # a partial line at the end of a stream; not a completed request
    if entry.get("msg") not in COMPLETED:
        return None
    try:
        path = entry["http.request.uri"]
        kind, name, reference = classify(path)
        return Request(
            method=entry["http.request.method"],
            path=path,
            status=int(entry["http.response.status"]),
            written=int(entry.get("http.response.written", 0)),
            client=_client_address(entry.get("http.request.remoteaddr", "")),
            time=entry.get("time", ""),
            kind=kind,
            name=name,
            reference=reference,
            user_agent=str(entry.get("http.request.useragent", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise AccessLogError(f"completed request without {error}: {line[:200]}") from None


_COMBINED = re.compile(
    r'^(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" '
    r"(?P<status>\d{3}) (?P<written>\d+|-)"
    r'(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?'
)


def parse_combined_line(line: str) -> Request | None:
    """A Request for an Apache combined-format line (distribution's text access log)."""
    match = _COMBINED.match(line.strip())
    if match is None:
        return None
    kind, name, reference = classify(match["path"])
    written = match["written"]
    return Request(
        method=match["method"],
        path=match["path"],
        status=int(match["status"]),
        written=0 if written == "-" else int(written),
        client=match["client"],
        time=match["time"],
        kind=kind,
        name=name,
        reference=reference,
        user_agent=match["agent"] or "",
    )


def parse_log(text: str) -> list[Request]:
    """Every completed request in a log, in the order logged.

    distribution writes each request twice when its log formatter is JSON: a
    JSON ``response completed`` entry and a combined-format access-log line.
    The JSON entries are used when there are any (they carry more), else the
    combined lines; never both, so nothing is counted twice.
    """
    lines = text.splitlines()
    from_json = [r for r in (parse_line(line) for line in lines) if r is not None]
    if from_json:
        return from_json
    return [r for r in (parse_combined_line(line) for line in lines) if r is not None]


class Traffic:
    """A set of requests, with the counts the checks ask for."""

    def __init__(self, requests: Iterable[Request]) -> None:
        self.requests = list(requests)

    def __len__(self) -> int:
        return len(self.requests)

    def __repr__(self) -> str:
        return f"Traffic({self.summary()})"

    def from_client(self, address: str) -> Traffic:
        """Only the requests one client (e.g. the mirror) made."""
        return Traffic(r for r in self.requests if r.client == address)

    def by_agent(self, docker_engine: bool) -> Traffic:
        """Only the requests a Docker Engine sent (``True``), or only the others (``False``)."""
        return Traffic(r for r in self.requests if r.from_docker_engine == docker_engine)

    def for_repository(self, name: str) -> Traffic:
        return Traffic(r for r in self.requests if r.name == name)

    def count(self, method: str | None = None, kind: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method) and (kind is None or r.kind == kind)
        )

    def by_method_and_kind(self) -> dict[str, int]:
        """``{"GET manifest-by-tag": 1, "HEAD blob": 3, ...}``"""
        counts = Counter(f"{r.method} {r.kind}" for r in self.requests)
        return dict(sorted(counts.items()))

    def blob_gets(self) -> dict[str, int]:
        """Upstream GETs per blob digest (every GET, whatever its status)."""
        return dict(
            Counter(r.reference for r in self.requests if r.kind == BLOB and r.method == "GET")
        )

    def blob_bytes(self) -> dict[str, int]:
        """Bytes upstream sent per blob digest."""
        sent: Counter[str] = Counter()
        for r in self.requests:
            if r.kind == BLOB and r.method == "GET":
                sent[r.reference] += r.written
        return dict(sent)

    def manifest_gets(self) -> int:
        return sum(
            1
            for r in self.requests
            if r.method == "GET" and r.kind in (MANIFEST_BY_TAG, MANIFEST_BY_DIGEST)
        )

    def billable(self) -> int:
        """Manifest GETs answered 2xx: what Docker Hub bills as pulls (HEADs, blobs: free)."""
        return sum(
            1
            for r in self.requests
            if r.method == "GET" and r.kind in (MANIFEST_BY_TAG, MANIFEST_BY_DIGEST) and r.succeeded
        )

    def total_bytes(self) -> int:
        return sum(r.written for r in self.requests if r.method == "GET")

    def summary(self) -> dict[str, object]:
        """The figures reports show."""
        return {
            "requests": len(self.requests),
            "by_method_and_kind": self.by_method_and_kind(),
            "blob_gets": self.blob_gets(),
            "manifest_gets": self.manifest_gets(),
            "billable_manifest_gets": self.billable(),
            "bytes": self.total_bytes(),
        }

"""A live mirror's access log, read where it is: a container's log, a file here or over ssh.

distribution logs every request it serves (``response completed`` in JSON,
or the combined access-log line); ``mirrorcheck.probes.access_log`` reads
both. With that log a pull is proven request by request: the manifest and
every blob the node fetched reached the mirror. Behind a TLS proxy the
mirror's log sees the proxy's address, not the node's, so requests are told
apart by time (live runs pull one node at a time), never by client.

Each node's requests also show which engine and image store sent them
(``client_signs``): the containerd image store adds ``?ns=docker.io`` to every
request to a mirror and ``containerd-client/`` to its user agent; the classic
store neither. Measured here on 28.5.2 (containerd store) and 20.10.24
(classic), in distribution 2.8's and nginx's logs:
``docker/28.5.2+dfsg4 go/go1.27.1 ... containerd-client/2.1.9+unknown
storage-driver/overlayfs UpstreamClient(Docker-Client/28.5.2+dfsg4 ...)``
against ``docker/20.10.24+dfsg1 go/go1.19.8 ... UpstreamClient(...)``.

Usage::

    from mirrorcheck.targets.live.access_log import access_log_from_url, client_signs

    log = access_log_from_url("docker://registry-mirror")    # or /var/log/registry.log,
    mark = log.mark()                                        # ssh://admin@host/var/log/...
    ...                                                      # a node pulls
    log.traffic(mark).blob_gets()                            # {"sha256:...": 1, ...}
    client_signs(log.traffic(mark)).image_store              # "containerd" / "classic" / ""
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import docker
import docker.errors

from mirrorcheck.probes.access_log import Traffic, parse_log
from mirrorcheck.targets.evidence import AccessLog
from mirrorcheck.targets.nodes.node import NodeError
from mirrorcheck.targets.nodes.ssh import SshNode
from mirrorcheck.versions import CLASSIC, CONTAINERD, CONTAINERD_MIRROR_QUERY

LOG_TIMEOUT = 15
CONTAINERD_AGENT = "containerd-client/"
_ENGINE_AGENT = re.compile(r"^docker/(\S+)")


@dataclass(frozen=True)
class ClientSigns:
    """What a pull's requests in an access log show of the client that sent them.

    ``engines``: the ``docker/<version>`` of each Docker Engine user agent seen;
    ``image_stores``: ``containerd`` and/or ``classic``, by the signs above;
    ``signs``: the lines' evidence, as a message names it. Empty when the
    requests came from no Docker Engine (or there were none).
    """

    engines: tuple[str, ...] = ()
    image_stores: tuple[str, ...] = ()
    signs: tuple[str, ...] = ()

    @property
    def engine(self) -> str:
        """The one engine seen, "" when none or several (the log mixed clients)."""
        return self.engines[0] if len(self.engines) == 1 else ""

    @property
    def image_store(self) -> str:
        """The one image store seen, "" when none or both (the log mixed clients)."""
        return self.image_stores[0] if len(self.image_stores) == 1 else ""

    def describe(self) -> str:
        if not self.engines:
            return "no request from a Docker Engine"
        stores = " and ".join(self.image_stores)
        return f"Engine {', '.join(self.engines)}, {stores} image store ({'; '.join(self.signs)})"

    def figures(self) -> dict[str, object]:
        """JSON-ready, for reports."""
        return {"engine": self.engine, "image_store": self.image_store, "signs": list(self.signs)}


def _namespaced(path: str) -> bool:
    name, _, value = CONTAINERD_MIRROR_QUERY.text.lstrip("?").partition("=")
    return value in parse_qs(urlsplit(path).query).get(name, [])


def client_signs(traffic: Traffic) -> ClientSigns:
    """The engines and image stores the requests of ``traffic`` show (pure; see the module doc).

    A request is the containerd store's when its path carries ``?ns=docker.io``
    or its user agent ``containerd-client/``; a Docker Engine request with
    neither is the classic store's. Requests from other clients are left out.
    """
    engines: dict[str, None] = {}
    stores: dict[str, None] = {}
    signs: dict[str, None] = {}
    for request in traffic.requests:
        agent = _ENGINE_AGENT.match(request.user_agent)
        if agent is None:  # not a Docker Engine (distribution's proxy, curl ...)
            continue
        engines[agent.group(1)] = None
        marks = []
        if _namespaced(request.path):
            marks.append(f"{CONTAINERD_MIRROR_QUERY.text} in {request.method} {request.kind}")
        if CONTAINERD_AGENT in request.user_agent:
            version = request.user_agent.split(CONTAINERD_AGENT, 1)[1].split()[0]
            marks.append(f"user agent {CONTAINERD_AGENT}{version}")
        stores[CONTAINERD if marks else CLASSIC] = None
        for mark in marks or [f"user agent docker/{agent.group(1)}, no {CONTAINERD_AGENT}"]:
            signs[mark] = None
    return ClientSigns(tuple(engines), tuple(stores), tuple(signs))


class AccessLogError(ValueError):
    """The access log cannot be read; the message names it and the fix."""


def access_log_from_url(url: str, skip_host_key_check: bool = False) -> AccessLog:
    """The mirror's access log at ``url``: ``docker://<container>``, a path, ``ssh://host/path``.

    Raises ``AccessLogError`` naming the option and the fix when the URL is not
    one of those or the log cannot be read once now.
    """
    read = _reader(url, skip_host_key_check)
    try:
        read()
    except (OSError, NodeError, docker.errors.DockerException) as error:
        raise AccessLogError(
            f"--mirror-access-log {url}: cannot read it ({error}). Fix: name the mirror's "
            "container (docker://NAME) or its log file, readable from here"
        ) from None

    def traffic(since: int) -> Traffic:
        return Traffic(parse_log(read())[since:])

    return AccessLog(
        mark=lambda: len(parse_log(read())),
        traffic=traffic,
        where=f"the mirror's access log ({url})",
    )


def _reader(url: str, skip_host_key_check: bool) -> Callable[[], str]:
    if "://" not in url:
        if not os.path.isabs(url):
            raise AccessLogError(f"--mirror-access-log {url!r}: give an absolute path")
        return lambda: Path(url).read_text(encoding="utf-8", errors="replace")
    parts = urlsplit(url)
    if parts.scheme == "docker" and parts.netloc:
        return _container_log(parts.netloc)
    if parts.scheme == "ssh" and parts.path not in ("", "/"):
        try:
            node = SshNode(f"ssh://{parts.netloc}", skip_host_key_check=skip_host_key_check)
        except ValueError as error:
            raise AccessLogError(f"--mirror-access-log {url!r}: {error}") from None
        return lambda: node.read_file(parts.path).decode("utf-8", "replace")
    raise AccessLogError(
        f"--mirror-access-log {url!r}: not a log this run can read. Fix: docker://CONTAINER, "
        "an absolute path, or ssh://user@host/path"
    )


def _container_log(name: str) -> Callable[[], str]:
    client = docker.from_env(timeout=LOG_TIMEOUT)

    def read() -> str:
        return client.containers.get(name).logs(stdout=True, stderr=True).decode(errors="replace")

    return read

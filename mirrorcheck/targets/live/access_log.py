"""A live mirror's access log, read where it is: a container's log, a file here or over ssh.

distribution logs every request it serves (``response completed`` in JSON,
or the combined access-log line); ``mirrorcheck.probes.access_log`` reads
both. With that log a pull is proven request by request: the manifest and
every blob the node fetched reached the mirror. Behind a TLS proxy the
mirror's log sees the proxy's address, not the node's, so requests are told
apart by time (live runs pull one node at a time), never by client.

Usage::

    from mirrorcheck.targets.live.access_log import access_log_from_url

    log = access_log_from_url("docker://registry-mirror")    # or /var/log/registry.log,
    mark = log.mark()                                        # ssh://admin@host/var/log/...
    ...                                                      # a node pulls
    log.traffic(mark).blob_gets()                            # {"sha256:...": 1, ...}
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import docker
import docker.errors

from mirrorcheck.probes.access_log import Traffic, parse_log
from mirrorcheck.targets.evidence import AccessLog
from mirrorcheck.targets.nodes.node import NodeError
from mirrorcheck.targets.nodes.ssh import SshNode

LOG_TIMEOUT = 15


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

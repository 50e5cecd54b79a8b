"""The forms a run's targets are written in: a mirror URL, ``HOST:PORT``, a node URL, a host name.

Pure parsing, so that a bad value is refused before anything starts. Each
function raises ``ValueError`` whose message says what is wrong with the
value (the caller names the option and the fix).

Usage::

    from mirrorcheck.text.endpoints import (
        check_host_name, parse_host_port, parse_mirror_url, check_node_url,
    )

    parse_mirror_url("https://mirror.example.com")    # ('https', 'mirror.example.com', 443)
    parse_host_port("10.0.0.5:8443", 443)             # ('10.0.0.5', 8443)
    parse_host_port("127.0.0.1:99999", 443)           # ValueError: port 99999 is not in 1-65535
    check_host_name("mirror_1.example")               # ValueError: ... not a DNS host name ...
    check_node_url("ssh://admin@node1:2222")          # None: fine

Sources: host names, RFC 1123 section 2.1 and RFC 1035 section 2.3.4
(letters, digits and hyphens; labels of 1-63 characters, 253 in all); ports,
RFC 6335 (1-65535); dockerd's mirror URLs, moby ``registry.ValidateMirror``
(http or https, a host, no user, path, query or fragment).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from mirrorcheck.text.hostport import DEFAULT_PORTS, ip_of, split_host_port

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
NODE_KINDS = "local, ssh://user@host[:port] or docker://<container>"


def check_host_name(name: str) -> None:
    """``name`` is a DNS host name (or an IP address); ValueError saying what is wrong."""
    if ip_of(name) is not None:
        return
    if not name:
        raise ValueError("the host name is empty")
    if len(name) > 253:
        raise ValueError(f"{name[:40]!r}... is longer than a DNS name's 253 characters")
    bad = [label for label in name.split(".") if not _LABEL.fullmatch(label)]
    if bad:
        raise ValueError(
            f"{name!r} is not a DNS host name: the label {bad[0]!r} must be 1 to 63 letters, "
            "digits or hyphens, neither starting nor ending with a hyphen"
        )


def check_port(text: str) -> int:
    """A TCP port written as text, 1-65535; ValueError otherwise."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"port {text!r} is not a number in 1-65535")
    return int(text)


def _port_of(netloc: str) -> str:
    host_port = netloc.rpartition("@")[2]
    return split_host_port(host_port)[1]


def parse_mirror_url(url: str) -> tuple[str, str, int]:
    """``http(s)://host[:port]`` -> (scheme, host, port), as dockerd takes a registry mirror.

    Raises ValueError for another scheme, no host, a bad port, or any user,
    path, query or fragment (which dockerd refuses in a mirror URL).
    """
    text = url.strip()
    if not text:
        raise ValueError("the URL is empty")
    parts = urlsplit(text)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{text!r} is not an http:// or https:// URL with a host")
    port_text = _port_of(parts.netloc)
    port = check_port(port_text) if port_text else DEFAULT_PORTS[parts.scheme]
    if "@" in parts.netloc or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ValueError(
            f"{text!r}: dockerd accepts no user, path, query or fragment in a mirror URL"
        )
    return parts.scheme, parts.hostname, port


def parse_host_port(text: str, default_port: int) -> tuple[str, int]:
    """``HOST:PORT``, ``HOST`` or ``[v6]:PORT`` -> (host, port); ValueError otherwise."""
    host, port = split_host_port(text.strip())
    if not host or any(c.isspace() or c in "/@?#[]" for c in host):
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, check_port(port) if port else default_port


def check_node_url(url: str) -> None:
    """A node URL (``local``, ``ssh://[user@]host[:port]``, ``docker://<container>``)."""
    text = url.strip()
    if text == "local":
        return
    parts = urlsplit(text)
    if parts.scheme == "docker":
        if not text.removeprefix("docker://").strip("/"):
            raise ValueError(f"{text!r} names no container")
        return
    if parts.scheme != "ssh" or not parts.hostname:
        raise ValueError(f"{text!r} is not a node URL ({NODE_KINDS})")
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo:
        raise ValueError(
            f"{text!r} carries a password, which mirrorcheck does not send; log in with a key "
            "(ssh-agent or MIRRORCHECK_SSH_IDENTITY)"
        )
    port = _port_of(parts.netloc)
    if port:
        check_port(port)

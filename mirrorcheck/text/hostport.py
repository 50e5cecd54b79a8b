"""``host[:port]`` as registries, URLs and options write it, and the ports a scheme implies.

Usage::

    from mirrorcheck.text.hostport import DEFAULT_PORTS, ip_of, split_host_port

    split_host_port("mirror.example.com:5000")   # ('mirror.example.com', '5000')
    split_host_port("[::1]:443")                 # ('::1', '443')
    split_host_port("fe80::1")                   # ('fe80::1', ''): bare IPv6 has no port
    DEFAULT_PORTS["https"]                       # 443
    ip_of("127.0.0.1")                           # IPv4Address('127.0.0.1'); None for a name

The bracket form for IPv6 is RFC 3986 section 3.2.2; the ports are the IANA
service ports of http and https (RFC 9110 sections 4.2.1 and 4.2.2).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

DEFAULT_PORTS: Mapping[str, int] = {"https": 443, "http": 80}
"""The port a URL of each scheme connects to when it names none."""


def split_host_port(hostport: str) -> tuple[str, str]:
    """``host[:port]`` (IPv6 in brackets) split into host and port text; the port may be ''.

    Never raises: what follows ``]`` other than ``:`` is returned as the port,
    for the caller to refuse; a bare IPv6 address (more than one ':') is all host.
    """
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        return host, rest.removeprefix(":")
    host, colon, port = hostport.rpartition(":")
    if not colon or ":" in host:
        return hostport, ""
    return host, port


def ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address, or None when it is a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None

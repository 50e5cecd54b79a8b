"""The proxy section: is the registry a pull-through cache of Docker Hub, and for how long.

dockerd sends only Docker Hub images to its ``registry-mirrors``, so a mirror
is useful only when ``proxy.remoteurl`` is Docker Hub's registry API,
``https://registry-1.docker.io``. The lab rewrites that URL to its own
upstream, so only this check can catch a mistyped one.

Usage::

    from mirrorcheck.rules.registry.config_proxy import check_proxy

    findings = check_proxy(config, row, "https://registry-1.docker.io")
"""

from __future__ import annotations

import difflib
import re
from urllib.parse import urlsplit

from yaml.nodes import Node, ScalarNode

from mirrorcheck.findings import Finding, Severity
from mirrorcheck.rules.registry.catalog import (
    PROXY_CACHEWRITETIMEOUT_INVALID,
    PROXY_EXEC_IGNORES_CREDENTIALS,
    PROXY_MISSING,
    PROXY_TTL_DISABLED,
    PROXY_TTL_INVALID,
    REMOTEURL_NOT_DOCKER_HUB,
    REMOTEURL_NOT_HTTPS,
    REMOTEURL_PATH,
    REMOTEURL_UNEXPECTED,
)
from mirrorcheck.rules.registry.config import CONSEQUENCE, RegistryConfig
from mirrorcheck.rules.registry.schema import DOCKER_HUB_REMOTEURL, SchemaRow
from mirrorcheck.text.yaml_source import STR_TAG, Entry, entry_for, is_null, scalar_text

DOCKER_HUB_HOST = urlsplit(DOCKER_HUB_REMOTEURL).hostname or ""

# Hosts people write instead of registry-1.docker.io, and what each one is.
MISTAKEN_HUB_HOSTS = {
    "docker.io": "docker.io is the name of Docker Hub in image references, not its registry API",
    "www.docker.io": "www.docker.io is a website, not Docker Hub's registry API",
    "hub.docker.com": "hub.docker.com is the Docker Hub website, not its registry API",
    "registry.hub.docker.com": "registry.hub.docker.com is a legacy alias",
    "registry-1.docker.com": "registry-1.docker.com is not Docker Hub (.com instead of .io)",
    "registry.docker.io": "registry.docker.io is not Docker Hub's registry host",
    "registry.docker.com": "registry.docker.com is not Docker Hub's registry host",
    "index.docker.io": "index.docker.io is the legacy v1 index name",
}

# Older names that still answer for Docker Hub: a warning, not an error.
WORKING_HUB_ALIASES = frozenset({"index.docker.io", "registry.hub.docker.com"})

# Go time.ParseDuration: "0" or a sequence of decimal numbers with a unit.
GO_DURATION = re.compile(r"^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$")

KEY = "proxy.remoteurl"


def check_proxy(
    config: RegistryConfig, row: SchemaRow, expected: str, *, remoteurl_case_reported: bool = False
) -> list[Finding]:
    """Findings on ``proxy.remoteurl`` (against ``expected``) and the 3.x proxy keys.

    ``remoteurl_case_reported``: a ``remoteUrl``-style key was already named,
    which says all a missing ``remoteurl`` would.
    """
    expected = expected.rstrip("/")
    proxy = entry_for(config.doc.root, "proxy")
    remote = entry_for(proxy.value, "remoteurl") if proxy else None
    if remote is None or is_null(remote.value) or scalar_text(remote.value) == "":
        if remoteurl_case_reported:
            return []
        where = (remote.key_node if remote else None) or (proxy.key_node if proxy else None)
        return [
            PROXY_MISSING.finding(
                "no proxy.remoteurl: the registry runs as a plain registry, not a pull-through "
                "cache; nodes get 'manifest unknown' from it and fall back to Docker Hub "
                "silently",
                fix=f"add 'proxy:' with 'remoteurl: {DOCKER_HUB_REMOTEURL}' (or set "
                "REGISTRY_PROXY_REMOTEURL in the container's environment)",
                key=KEY,
                **config.at(where),
            )
        ]
    findings = _check_remoteurl(config, remote, expected)
    ttl = entry_for(proxy.value, "ttl") if proxy else None
    if ttl is not None and "ttl" in row.keys["proxy"]:
        findings += _check_ttl(config, ttl)
    timeout = entry_for(proxy.value, "cachewritetimeout") if proxy else None
    if timeout is not None and "cachewritetimeout" in row.keys["proxy"]:
        findings += _check_cache_write_timeout(config, timeout)
    if proxy is not None and "exec" in row.keys["proxy"]:
        findings += _check_exec(config, proxy)
    return findings


def _check_cache_write_timeout(config: RegistryConfig, timeout: Entry) -> list[Finding]:
    """3.1's ``proxy.cachewritetimeout``: zero or less means the default 5m.

    Source: distribution v3.1.1 registry/proxy/proxyregistry.go (default
    5 * time.Minute, used when the value is not above zero) and
    proxyblobstore.go (the timeout bounds each blob's write to storage).
    """
    key = "proxy.cachewritetimeout"
    text = scalar_text(timeout.value)
    if text is None:
        return []
    at = config.at(timeout.value)
    if timeout.value.tag != STR_TAG and text.lstrip("+").isdigit() and int(text) > 0:
        return [
            PROXY_CACHEWRITETIMEOUT_INVALID.finding(
                f"{key} is the bare number {text}: a Go duration without a unit counts "
                "nanoseconds, so every write to the cache times out and nothing is stored",
                fix="write a duration with a unit, e.g. 'cachewritetimeout: 5m'",
                key=key,
                **at,
            )
        ]
    if not GO_DURATION.match(text.strip()):
        return [
            PROXY_CACHEWRITETIMEOUT_INVALID.finding(
                f"{key} {text!r} is not a Go duration: {CONSEQUENCE}",
                fix="use h, m or s units, e.g. 'cachewritetimeout: 5m'",
                key=key,
                **at,
            )
        ]
    return []


def _check_exec(config: RegistryConfig, proxy: Entry) -> list[Finding]:
    """3.x: a credential helper wins over ``username``/``password`` (v3.1.1 proxyregistry.go)."""
    exec_entry = entry_for(proxy.value, "exec")
    if exec_entry is None or is_null(exec_entry.value):
        return []
    given = [
        name
        for name in ("username", "password")
        if (entry := entry_for(proxy.value, name)) and scalar_text(entry.value)
    ]
    if not given:
        return []
    return [
        PROXY_EXEC_IGNORES_CREDENTIALS.finding(
            f"proxy.exec runs a credential helper, so proxy.{' and proxy.'.join(given)} "
            "are ignored: the registry logs in with what the helper returns",
            key="proxy.exec",
            **config.at(exec_entry.key_node),
        )
    ]


def _check_remoteurl(config: RegistryConfig, remote: Entry, expected_url: str) -> list[Finding]:
    url = scalar_text(remote.value) or ""
    if not isinstance(remote.value, ScalarNode):
        return []  # wrong-type already said it
    at = config.at(remote.value)
    try:
        parts = urlsplit(url.strip())
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError as error:  # an unclosed '[', a port that is not a number
        return [
            REMOTEURL_NOT_HTTPS.finding(
                f"{KEY} {url!r} is not a valid URL ({error}): the registry fails at start "
                "(url.Parse in the proxy's set-up)",
                fix=f"write the full URL: {expected_url}",
                key=KEY,
                **at,
            )
        ]
    if not parts.scheme or not host:
        return [
            REMOTEURL_NOT_HTTPS.finding(
                f"{KEY} {url!r} is not a URL with a scheme: the registry panics at start "
                "('unsupported protocol scheme')",
                fix=f"write the full URL: {expected_url}",
                key=KEY,
                **at,
            )
        ]
    findings: list[Finding] = []
    expected = urlsplit(expected_url)
    if expected.scheme == "https" and parts.scheme != "https":
        findings.append(
            REMOTEURL_NOT_HTTPS.finding(
                f"{KEY} uses {parts.scheme}://: the mirror would fetch images from upstream "
                "without TLS (Docker Hub answers plain http with a redirect at best)",
                fix=f"use https: {expected_url}",
                key=KEY,
                **at,
            )
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        findings.append(
            REMOTEURL_PATH.finding(
                f"{KEY} {url!r} has a path: the proxy appends /v2/ to remoteurl itself "
                "(registry/proxy/proxyauth.go), so the start-up request goes to the wrong place",
                fix=f"use the registry's root URL: {expected_url}",
                key=KEY,
                **at,
            )
        )
    elif parts.path == "/":
        findings.append(
            REMOTEURL_PATH.finding(
                f"{KEY} ends with '/': the proxy appends '/v2/' and asks upstream for '//v2/'",
                fix=f"drop the trailing slash: {expected_url}",
                severity=Severity.WARNING,
                key=KEY,
                **at,
            )
        )
    if expected.hostname == DOCKER_HUB_HOST:
        findings += _check_docker_hub(config, host, url, remote.value)
    elif host != expected.hostname or (port or None) != (expected.port or None):
        findings.append(
            REMOTEURL_UNEXPECTED.finding(
                f"{KEY} is {url!r}, expected {expected_url}",
                fix=f"set {KEY}: {expected_url}",
                key=KEY,
                **at,
            )
        )
    return findings


def _check_docker_hub(config: RegistryConfig, host: str, url: str, node: Node) -> list[Finding]:
    if host == DOCKER_HUB_HOST:
        return []
    what = MISTAKEN_HUB_HOSTS.get(host)
    looks_mistyped = (
        what is not None
        or "docker" in host
        or (difflib.SequenceMatcher(None, host, DOCKER_HUB_HOST).ratio() > 0.75)
    )
    if host in WORKING_HUB_ALIASES:
        severity = Severity.WARNING
        reason = f"{what}, not the endpoint dockerd itself pulls from ({DOCKER_HUB_HOST})"
    elif looks_mistyped:
        severity = Severity.ERROR
        reason = (
            f"{what or f'{host} looks like a mistyped Docker Hub host'}: pulls through the "
            "mirror fail ('manifest unknown' or a start-up panic) and every node falls back "
            "to Docker Hub silently"
        )
    else:
        severity = Severity.ERROR
        reason = (
            f"{host} is not Docker Hub: dockerd sends only Docker Hub images to its "
            "registry-mirrors, so a mirror of another registry is never asked by the nodes"
        )
    return [
        REMOTEURL_NOT_DOCKER_HUB.finding(
            f"{KEY} is {url!r}: {reason}",
            fix=f"set {KEY}: {DOCKER_HUB_REMOTEURL}",
            severity=severity,
            key=KEY,
            **config.at(node),
        )
    ]


def _check_ttl(config: RegistryConfig, ttl: Entry) -> list[Finding]:
    key = "proxy.ttl"
    text = scalar_text(ttl.value)
    if text is None:
        return []
    at = config.at(ttl.value)
    if ttl.value.tag != STR_TAG and text.lstrip("+-").isdigit() and int(text) != 0:
        return [
            PROXY_TTL_INVALID.finding(
                f"{key} is the bare number {text}: a Go duration without a unit counts "
                "nanoseconds, so cached content expires at once",
                fix="write a duration with a unit, e.g. 'ttl: 168h'",
                key=key,
                **at,
            )
        ]
    if not GO_DURATION.match(text.strip()):
        return [
            PROXY_TTL_INVALID.finding(
                f"{key} {text!r} is not a Go duration: {CONSEQUENCE}",
                fix="use h, m or s units (7 days is 'ttl: 168h'; there is no 'd')",
                key=key,
                **at,
            )
        ]
    if not re.search(r"[1-9]", text):
        return [
            PROXY_TTL_DISABLED.finding(
                f"{key} is zero: expiry is off and the cache only grows",
                fix="set a duration (default 168h) unless the disk holds every image ever pulled",
                key=key,
                **at,
            )
        ]
    return []

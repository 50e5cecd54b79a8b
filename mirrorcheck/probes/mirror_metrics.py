"""The mirror's own counters: expvar at its debug server (``http.debug.addr``), ``/debug/vars``.

distribution publishes ``registry.proxy.blobs`` and ``registry.proxy.manifests``,
each with Requests, Hits, Misses, BytesPulled and BytesPushed
(``registry/proxy/proxymetrics.go``). Which of them a version gets right is data
in ``mirrorcheck.rules.limitations`` (``trusted_counters``); this probe only reads.

Usage::

    from mirrorcheck.probes.mirror_metrics import read_counters

    before = read_counters("http://172.18.0.3:5001")
    ...  # a pull
    after = read_counters("http://172.18.0.3:5001")
    after.minus(before)["registry.proxy.manifests.Misses"]    # 1
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

GROUPS = ("blobs", "manifests")
FIELDS = ("Requests", "Hits", "Misses", "BytesPulled", "BytesPushed")


class MetricsError(RuntimeError):
    """The debug server did not answer with the proxy counters; the message says why."""


@dataclass(frozen=True)
class Counters:
    """A reading of the proxy counters, flattened: ``registry.proxy.blobs.Misses`` -> int."""

    values: dict[str, int]

    def __getitem__(self, name: str) -> int:
        return self.values[name]

    def minus(self, earlier: Counters) -> dict[str, int]:
        """What changed since ``earlier``."""
        return {name: value - earlier.values.get(name, 0) for name, value in self.values.items()}


def parse_counters(document: dict) -> Counters:
    """Counters from a ``/debug/vars`` JSON document."""
    proxy = (document.get("registry") or {}).get("proxy")
    if not isinstance(proxy, dict):
        raise MetricsError(
            "/debug/vars has no registry.proxy counters: the registry is not running as a "
            "pull-through cache (no proxy.remoteurl in its config)"
        )
    values = {}
    for group in GROUPS:
        for field in FIELDS:
            values[f"registry.proxy.{group}.{field}"] = int((proxy.get(group) or {}).get(field, 0))
    return Counters(values)


def read_counters(
    debug_url: str, session: requests.Session | None = None, timeout: float = 5.0
) -> Counters:
    """Read the proxy counters from a registry's debug server."""
    session = session or requests.Session()
    url = debug_url.rstrip("/") + "/debug/vars"
    try:
        response = session.get(url, timeout=timeout)
    except requests.RequestException as error:
        raise MetricsError(
            f"cannot read {url}: {error.__class__.__name__}. Fix: set http.debug.addr in the "
            "registry config (e.g. ':5001') and make that port reachable from here"
        ) from None
    if response.status_code != 200:
        raise MetricsError(f"{url} answered HTTP {response.status_code}, not the expvar document")
    return parse_counters(response.json())

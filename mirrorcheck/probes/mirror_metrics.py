"""The mirror's own counters at its debug server (``http.debug.addr``): expvar, else Prometheus.

distribution 2.x publishes ``registry.proxy.blobs`` and ``registry.proxy.manifests``
in expvar (``/debug/vars``), each with Requests, Hits, Misses, BytesPulled and
BytesPushed (``registry/proxy/proxymetrics.go``). distribution 3.x counts the
same on Prometheus, at ``http.debug.prometheus.path`` (default ``/metrics``):
``registry_proxy_requests_total``, ``registry_proxy_hits_total``,
``registry_proxy_misses_total``, ``registry_proxy_pulled_bytes_total`` and
``registry_proxy_pushed_bytes_total``, each with a label ``type`` of ``blob`` or
``manifest``. Both read into the same :class:`Counters` names. Which of them a
version gets right is data in ``mirrorcheck.rules.limitations``
(``trusted_counters``); this probe only reads.

Usage::

    from mirrorcheck.probes.mirror_metrics import read_counters

    before = read_counters("http://172.18.0.3:5001")
    ...  # a pull
    after = read_counters("http://172.18.0.3:5001")
    after.minus(before)["registry.proxy.manifests.Misses"]    # 1

    parse_prometheus(text)["registry.proxy.blobs.Hits"]        # from a /metrics body
    prometheus_path_of(config_text)                            # "/metrics", or the config's
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import requests
from prometheus_client.parser import text_string_to_metric_families

from mirrorcheck.text.yaml_errors import YamlReadError
from mirrorcheck.text.yaml_source import load_yaml

GROUPS = ("blobs", "manifests")
FIELDS = ("Requests", "Hits", "Misses", "BytesPulled", "BytesPushed")
DEFAULT_PROMETHEUS_PATH = "/metrics"
# distribution reads every config key from REGISTRY_<SECTION>_<KEY> too, over the file's value
# (configuration/parser.go); this is http.debug.prometheus.path.
PROMETHEUS_PATH_ENV = "REGISTRY_HTTP_DEBUG_PROMETHEUS_PATH"

# distribution 3.x registry/proxy/proxymetrics.go: Prometheus sample -> expvar field,
# and the ``type`` label -> expvar group.
PROMETHEUS_FIELDS = {
    "registry_proxy_requests_total": "Requests",
    "registry_proxy_hits_total": "Hits",
    "registry_proxy_misses_total": "Misses",
    "registry_proxy_pulled_bytes_total": "BytesPulled",
    "registry_proxy_pushed_bytes_total": "BytesPushed",
}
PROMETHEUS_GROUPS = {"blob": "blobs", "manifest": "manifests"}


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


def parse_prometheus(text: str) -> Counters:
    """Counters from a Prometheus text exposition (a registry 3.x ``/metrics`` body).

    Each ``registry_proxy_*_total{type="blob|manifest"}`` sample becomes the
    expvar name it stands for (``registry_proxy_hits_total{type="blob"}`` ->
    ``registry.proxy.blobs.Hits``); a counter the registry has not created yet
    (no request of that type so far) reads 0. Raises MetricsError when the text
    is not the exposition format or holds no ``registry_proxy_`` counter at all
    (the registry is not a pull-through cache, or the path serves something else).
    """
    values = {f"registry.proxy.{g}.{f}": 0 for g in GROUPS for f in FIELDS}
    seen = 0
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                field = PROMETHEUS_FIELDS.get(sample.name)
                group = PROMETHEUS_GROUPS.get(sample.labels.get("type", ""))
                if field and group:
                    values[f"registry.proxy.{group}.{field}"] += int(sample.value)
                    seen += 1
    except ValueError as error:
        raise MetricsError(f"not a Prometheus text exposition: {error}") from None
    if not seen:
        raise MetricsError(
            "the Prometheus metrics have no registry_proxy_ counters: the registry is not "
            "running as a pull-through cache (no proxy.remoteurl in its config)"
        )
    return Counters(values)


def prometheus_path_of(
    config: str | Mapping | None, environment: Mapping[str, str] | None = None
) -> str:
    """The path of the registry's Prometheus metrics: ``http.debug.prometheus.path``, else /metrics.

    ``config`` is the registry config (YAML text, or the mapping it parses to);
    ``environment`` the registry's environment, whose
    ``REGISTRY_HTTP_DEBUG_PROMETHEUS_PATH`` wins over the file as in
    distribution. A config that does not parse, or sets no string path, gives
    the default (the registry-config lint reports a broken file). The result
    starts with ``/``.
    """
    keys = ("http", "debug", "prometheus", "path")
    path = (environment or {}).get(PROMETHEUS_PATH_ENV, "")
    if not path and isinstance(config, str):
        try:
            document = load_yaml(
                config, path="registry config", code_prefix="registry", consequence=""
            )
            value = document.value(document.find(keys))
        except YamlReadError:
            value = None
        path = value if isinstance(value, str) else ""
    elif not path and isinstance(config, Mapping):
        node: object = config
        for key in keys:
            node = node.get(key) if isinstance(node, Mapping) else None
        path = node if isinstance(node, str) else ""
    path = path.strip()
    return "/" + path.lstrip("/") if path else DEFAULT_PROMETHEUS_PATH


def _get(session: requests.Session, url: str, timeout: float) -> requests.Response:
    try:
        return session.get(url, timeout=timeout)
    except requests.RequestException as error:
        raise MetricsError(
            f"cannot read {url}: {error.__class__.__name__}. Fix: set http.debug.addr in the "
            "registry config (e.g. ':5001') and make that port reachable from here"
        ) from None


def read_counters(
    debug_url: str,
    session: requests.Session | None = None,
    timeout: float = 5.0,
    prometheus_path: str = DEFAULT_PROMETHEUS_PATH,
) -> Counters:
    """Read the proxy counters from a registry's debug server: expvar, else Prometheus.

    ``/debug/vars`` first (distribution 2.x); when it lacks the proxy counters
    (3.x), ``prometheus_path`` on the same server (``http.debug.prometheus.path``,
    default ``/metrics``). ``timeout`` is in seconds, per request. Raises
    MetricsError naming both places and the fix when neither has them.
    """
    session = session or requests.Session()
    base = debug_url.rstrip("/")
    url = base + "/debug/vars"
    response = _get(session, url, timeout)
    if response.status_code == 200:
        try:
            return parse_counters(response.json())
        except (MetricsError, ValueError, AttributeError) as error:
            expvar_problem = f"{url}: {error}"
    else:
        expvar_problem = f"{url} answered HTTP {response.status_code}, not the expvar document"
    metrics_url = base + "/" + prometheus_path.lstrip("/")
    response = _get(session, metrics_url, timeout)
    if response.status_code != 200:
        raise MetricsError(
            f"{expvar_problem}; {metrics_url} answered HTTP {response.status_code}, not "
            "Prometheus metrics. Fix: for registry 3.x set http.debug.prometheus.enabled: true "
            "(and give its path here when it is not /metrics)"
        )
    try:
        return parse_prometheus(response.text)
    except MetricsError as error:
        raise MetricsError(f"{expvar_problem}; {metrics_url}: {error}") from None

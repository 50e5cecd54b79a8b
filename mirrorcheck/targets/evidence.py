"""What the mirror itself can show about a pull, in either mode: counters, catalog, storage.

Live, upstream (Docker Hub) is out of sight, so a check can only use what the
mirror shows: its expvar counters (``--mirror-debug-url``), believed only where
``mirrorcheck.rules.limitations.trusted_counters`` says this version gets them
right; its catalog (``/v2/_catalog``) and the manifests it serves by digest;
the blob files in its storage (``--mirror-storage``); its access log, where one
is given (``AccessLog``: the mirror's or its TLS proxy's log of each request
served). The hermetic lab offers the same, so a check written against this
gives the same verdict in both modes.

Evidence that is not there raises ``EvidenceUnavailable``, which says why and
which option would provide it: a check then skips, it never passes on nothing.

Usage::

    from mirrorcheck.targets.evidence import EvidenceUnavailable

    evidence = deployment.evidence()
    try:
        evidence.require_trusted("registry.proxy.manifests.Misses")
        before = evidence.counters()
    except EvidenceUnavailable as missing:
        pytest.skip(str(missing))
    evidence.catalog_has("library/busybox")     # pages through /v2/_catalog
    evidence.kept_manifest("library/busybox", "sha256:...").verified   # GET by digest, hashed
    evidence.identify("library/busybox").is_registry   # more than a header: see registry_api
    evidence.storage().has_blob("sha256:...")   # raises EvidenceUnavailable without storage
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mirrorcheck.probes.access_log import Traffic
from mirrorcheck.probes.mirror_metrics import DEFAULT_PROMETHEUS_PATH, Counters, read_counters
from mirrorcheck.probes.registry_api import (
    Fetched,
    RegistryClient,
    RegistryError,
    RegistryJudgement,
)
from mirrorcheck.rules.limitations import (
    LIMITATIONS,
    MIRROR_COUNTERS,
    parse_version,
    trusted_counters,
)
from mirrorcheck.targets.mirror_storage import MirrorStorage
from mirrorcheck.targets.nodes.node import Node

MANIFEST_REQUESTS = "registry.proxy.manifests.Requests"
MANIFEST_MISSES = "registry.proxy.manifests.Misses"
BLOB_REQUESTS = "registry.proxy.blobs.Requests"
BLOB_MISSES = "registry.proxy.blobs.Misses"
CATALOG_PAGE = 1000
CATALOG_MAX_PAGES = 100
DEBUG_URL_HINT = "--mirror-debug-url http://<mirror host>:5001 (the registry's http.debug.addr)"
STORAGE_HINT = (
    "--mirror-storage ssh://user@host/<storage folder> (the registry's rootdirectory as "
    "that host sees it; also a local path or docker://container/path)"
)


class EvidenceUnavailable(Exception):
    """No trustworthy evidence of one kind: why, and the option that would give it."""

    def __init__(self, what: str, reason: str, enable: str) -> None:
        super().__init__(what, reason, enable)
        self.what = what
        self.reason = reason
        self.enable = enable

    def __str__(self) -> str:
        return f"no trustworthy evidence of {self.what}: {self.reason}. To prove it: {self.enable}"


def untrusted_reason(version: str, names: list[str]) -> str:
    """Why ``names`` cannot be believed on ``version``: the limitation ids that say so."""
    parsed = parse_version(version)
    known = [
        lim.id for lim in LIMITATIONS if MIRROR_COUNTERS in lim.checks and lim.applies_to(parsed)
    ]
    return (
        f"registry {version} gets {', '.join(names)} wrong"
        + (f" (known limitation {', '.join(known)})" if known else "")
        + "; the table of trusted counters is in mirrorcheck/rules/known_limitations.py"
    )


@dataclass(frozen=True)
class AccessLog:
    """A log of every request the mirror served: the mirror's own, or its TLS proxy's.

    ``mark()`` is a point in the log; ``traffic(mark)`` the requests logged
    since (``mirrorcheck.probes.access_log.Traffic``). ``client_of(node)``
    is the address a node's requests carry in this log, None when the log
    cannot tell nodes apart (the mirror's own log behind a proxy sees only the
    proxy). ``where`` names the log in messages.
    """

    mark: Callable[[], int]
    traffic: Callable[[int], Traffic]
    where: str
    client_of: Callable[[Node], str | None] = lambda _node: None


@dataclass
class MirrorEvidence:
    """The mirror's own view, however it is reached (see the module docstring)."""

    client: Callable[[], RegistryClient]
    registry_version: str
    debug_url: str | None
    storage_location: MirrorStorage | None
    storage_hint: str = STORAGE_HINT
    access_log: AccessLog | None = None
    prometheus_path: str = DEFAULT_PROMETHEUS_PATH

    # -- registry-ness ----------------------------------------------------------

    def identify(self, repository: str) -> RegistryJudgement:
        """Whether the mirror behaves like a registry (``/v2/`` and a missing blob, judged)."""
        return self.client().identify(repository)

    # -- counters -------------------------------------------------------------

    def counters(self) -> Counters:
        """A reading of the proxy counters: expvar, else Prometheus at ``prometheus_path``.

        MetricsError when the debug server does not answer with either.
        """
        if not self.debug_url:
            raise EvidenceUnavailable(
                "the mirror's counters", "no debug server was given", DEBUG_URL_HINT
            )
        return read_counters(self.debug_url, prometheus_path=self.prometheus_path)

    def trusted(self) -> set[str]:
        return trusted_counters(self.registry_version or None)

    def require_trusted(self, *names: str, instead: str = "") -> None:
        """EvidenceUnavailable unless every counter in ``names`` is readable and believed."""
        what = ", ".join(names)
        if not self.debug_url:
            raise EvidenceUnavailable(what, "no debug server was given", DEBUG_URL_HINT)
        if not self.registry_version:
            raise EvidenceUnavailable(
                what,
                "the registry's version is unknown, and no counter is trusted without it",
                "--registry-version (e.g. 2.8.2; the registry prints it when it starts)",
            )
        wrong = [name for name in names if name not in self.trusted()]
        if wrong:
            raise EvidenceUnavailable(
                what, untrusted_reason(self.registry_version, wrong), instead or "none in this run"
            )

    # -- catalog ----------------------------------------------------------------

    def catalog_has(self, repository: str) -> bool:
        """Whether ``/v2/_catalog`` lists ``repository`` (following its pages)."""
        client = self.client()
        path = f"/v2/_catalog?n={CATALOG_PAGE}"
        for _ in range(CATALOG_MAX_PAGES):
            response = client.session.get(client.url(path), timeout=client.timeout)
            if response.status_code in (401, 403, 404, 405):
                raise EvidenceUnavailable(
                    "the mirror's catalog",
                    f"GET {client.url('/v2/_catalog')} answered HTTP {response.status_code}",
                    "let the proxy pass GET /v2/_catalog to the registry, or use --mirror-storage",
                )
            if response.status_code != 200:
                raise RegistryError(
                    f"GET {response.url} answered HTTP {response.status_code}: "
                    f"{response.text[:200]}"
                )
            if repository in (response.json().get("repositories") or []):
                return True
            following = response.links.get("next", {}).get("url")
            if not following:
                return False
            path = following if following.startswith("/") else following[len(client.base_url) :]
        return False

    def kept_manifest(self, repository: str, digest: str) -> Fetched:
        """``GET /v2/<repository>/manifests/<digest>``, hashed: ``.verified`` when it is so.

        By digest the mirror answers from its storage first (distribution
        ``proxymanifeststore.go``); a fake catalog cannot make up the bytes.
        """
        return self.client().fetch_manifest(repository, digest)

    # -- storage ----------------------------------------------------------------

    def storage(self) -> MirrorStorage:
        if self.storage_location is None:
            raise EvidenceUnavailable(
                "the mirror's storage", "no storage folder was given", self.storage_hint
            )
        return self.storage_location

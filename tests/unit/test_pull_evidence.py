"""A pull counts as through the mirror only on positive evidence, and a registry is more
than a header: the judgement on recorded evidence, then real pulls against local servers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from mirrorcheck.probes.access_log import Request, Traffic, classify
from mirrorcheck.probes.registry_api import (
    Answer,
    RegistryClient,
    judge_registry,
    registry_behaviour,
)
from mirrorcheck.probes.synthetic_image import make_image
from mirrorcheck.rules.image_reference import parse_reference
from mirrorcheck.targets.evidence import (
    BLOB_REQUESTS,
    MANIFEST_MISSES,
    MANIFEST_REQUESTS,
    MirrorEvidence,
)
from mirrorcheck.targets.nodes.node import PullResult
from mirrorcheck.targets.probe_pulls import AT_ONCE, ProbePulls, PullBudget, PullBudgetExhausted
from mirrorcheck.targets.pull_route import ObservedPull
from tests.unit.fake_registry import FakeRegistry, PullingNode

MIRROR = "https://mirror.example.com"
REPO = "library/busybox"
DIGEST = "sha256:" + "ab" * 32
CONFIG, LAYER = "sha256:" + "01" * 32, "sha256:" + "02" * 32
TRUSTED_28 = {MANIFEST_REQUESTS, MANIFEST_MISSES, "registry.proxy.manifests.BytesPulled"}
TRUSTED_3 = TRUSTED_28 | {BLOB_REQUESTS}
API = {"Docker-Distribution-API-Version": "registry/2.0"}
BLOB_UNKNOWN = json.dumps({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]})


def answer(status: int, headers: dict[str, str] | None = None, body: str = "") -> Answer:
    return Answer("https://m/v2/", status, headers or {}, body.encode())


# -- is this a registry -----------------------------------------------------------------


def test_a_registry_answers_v2_with_a_json_object_and_a_missing_blob_with_its_error_body():
    judged = judge_registry(MIRROR, answer(200, API, "{}"), answer(404, API, BLOB_UNKNOWN))
    assert judged.is_registry
    assert "BLOB_UNKNOWN" in judged.describe()


def test_a_registry_behind_authentication_challenges_on_both():
    challenge = {"WWW-Authenticate": 'Bearer realm="https://auth/token"'}
    judged = judge_registry(MIRROR, answer(401, challenge), answer(401, challenge))
    assert judged.is_registry


def test_the_api_header_and_a_catalog_alone_are_not_a_registry():
    catalog = json.dumps({"repositories": [REPO]})
    judged = judge_registry(MIRROR, answer(200, API, ""), answer(404, API, "404 page not found"))
    assert not judged.is_registry and not judged.unanswered
    assert "does not behave like a registry" in judged.describe()
    assert "BLOB_UNKNOWN" in judged.describe()
    # A JSON object on /v2/ without the header is not one either.
    assert not registry_behaviour(answer(200, {}, catalog))


def test_a_header_on_an_html_error_page_shows_nothing():
    assert not registry_behaviour(answer(404, API, "<h1>not found</h1>"))
    assert registry_behaviour(answer(404, {}, BLOB_UNKNOWN))  # the body is what a registry sends


def test_no_answer_is_not_judged_either_way():
    judged = judge_registry(MIRROR, Answer("https://m/v2/", None, error="refused"), answer(404))
    assert not judged.is_registry and judged.unanswered


# -- the route of a pull, on recorded evidence -------------------------------------------


def pull(**fields) -> ObservedPull:
    values = {
        "node": "node1",
        "reference": "busybox:latest",
        "result": PullResult("node1", "busybox:latest", True, 0.5, f"Digest: {DIGEST}", DIGEST),
        "node_had_image": False,
        "mirrors": [MIRROR + "/"],
        "trusted": TRUSTED_28,
        "deltas": {MANIFEST_REQUESTS: 2, MANIFEST_MISSES: 1, BLOB_REQUESTS: 4},
        "repository": REPO,
        "blobs": [CONFIG, LAYER],
    }
    values.update(fields)
    return ObservedPull(**values)


def served(*paths: str, status: int = 200) -> Traffic:
    def request(path: str) -> Request:
        kind, name, reference = classify(path)
        return Request("GET", path, status, 10, "10.0.0.5", "", kind, name, reference)

    return Traffic(request(p) for p in paths)


MANIFEST_PATH = f"/v2/{REPO}/manifests/latest"
ALL_SERVED = (MANIFEST_PATH, f"/v2/{REPO}/blobs/{CONFIG}", f"/v2/{REPO}/blobs/{LAYER}")


def test_an_empty_daemon_log_without_counters_or_access_log_proves_nothing():
    route = pull(deltas=None, counters_problem="no debug server: --mirror-debug-url").route(MIRROR)
    assert not route.proven and not route.proofs and not route.bypassed
    assert any("--mirror-debug-url" in u for u in route.unproven)
    assert any("no access log" in u for u in route.unproven)


def test_trusted_manifest_counters_alone_do_not_prove_the_blobs_on_2_8():
    route = pull(blob_counters_problem="registry 2.8.2 gets them wrong").route(MIRROR)
    assert not route.proven and route.proofs == [f"{MANIFEST_REQUESTS} +2"]
    assert any("2.8.2 gets them wrong" in u for u in route.unproven)


def test_trusted_blob_counters_that_moved_for_every_blob_prove_the_pull():
    route = pull(trusted=TRUSTED_3).route(MIRROR)
    assert route.proven and not route.bypassed
    assert f"{BLOB_REQUESTS} +4 for 2 blobs" in route.proofs


def test_trusted_blob_counters_that_moved_less_than_the_blobs_are_a_bypass():
    deltas = {MANIFEST_REQUESTS: 1, MANIFEST_MISSES: 0, BLOB_REQUESTS: 1}
    route = pull(trusted=TRUSTED_3, deltas=deltas).route(MIRROR)
    assert not route.proven
    assert any("at most 1 of the 2 blobs" in b for b in route.bypassed)


def test_an_access_log_with_the_manifest_and_every_blob_proves_the_pull():
    route = pull(deltas=None, served=served(*ALL_SERVED), access_log="the log").route(MIRROR)
    assert route.proven
    assert route.proofs == [
        f"the log: GET {MANIFEST_PATH}",
        "the log: a GET of each of the 2 blobs",
    ]


def test_an_access_log_missing_a_blob_names_it_as_a_bypass():
    traffic = served(MANIFEST_PATH, f"/v2/{REPO}/blobs/{CONFIG}")
    route = pull(deltas=None, served=traffic, access_log="the log").route(MIRROR)
    assert not route.proven
    assert any("no GET of 1 of the 2 blobs" in b and LAYER in b for b in route.bypassed)


def test_an_access_log_without_the_manifest_is_a_bypass():
    route = pull(deltas=None, served=served(), access_log="the log").route(MIRROR)
    assert any("shows no manifest of library/busybox" in b for b in route.bypassed)


def test_failed_answers_in_the_access_log_are_not_served():
    traffic = served(*ALL_SERVED, status=404)
    route = pull(deltas=None, served=traffic, access_log="the log").route(MIRROR)
    assert not route.proven and len(route.bypassed) == 2


def test_a_node_that_held_the_image_needs_only_the_manifest():
    route = pull(node_had_image=True, blobs=None).route(MIRROR)
    assert route.proven
    assert any("held busybox:latest before the pull" in p for p in route.proofs)


def test_a_mirror_that_is_no_registry_or_lacks_the_digest_is_a_bypass_whatever_else():
    fake = judge_registry(MIRROR, answer(200, API), answer(404, API, "not found"))
    route = pull(trusted=TRUSTED_3, registry=fake, digest_problem="HEAD answered 404").route(MIRROR)
    assert not route.proven
    assert any("does not behave like a registry" in b for b in route.bypassed)
    assert "HEAD answered 404" in route.bypassed


# -- real pulls against local servers --------------------------------------------------


@pytest.fixture
def image():
    return make_image(REPO, "latest", layer_sizes=[2_000, 3_000])


def probe_pulls(
    registry: FakeRegistry, with_access_log: bool, client: str | None = "127.0.0.1"
) -> ProbePulls:
    """``client``: every node's address in the access log (None: it cannot tell nodes apart)."""
    evidence = MirrorEvidence(
        client=lambda: RegistryClient(registry.url, timeout=5),
        registry_version="2.8.2",
        debug_url=None,
        storage_location=None,
        access_log=registry.access_log(client) if with_access_log else None,
    )
    reference = parse_reference("busybox:latest")
    return ProbePulls(reference, lambda: evidence, registry.url, PullBudget(None))


@pytest.fixture
def fake_mirror(image) -> Iterator[FakeRegistry]:
    with FakeRegistry(image, honest=False) as registry:
        yield registry


def test_a_fake_mirror_and_an_empty_daemon_log_fail_naming_what_is_missing(fake_mirror, image):
    node = PullingNode("node-empty-log", fake_mirror.url, image)  # pulled from elsewhere
    probe = probe_pulls(fake_mirror, with_access_log=False)
    observed = probe.pull(node)
    route = observed.route(fake_mirror.url)

    assert observed.result.ok and not route.proven
    assert probe.served() is None
    assert any("does not behave like a registry" in b for b in route.bypassed)
    assert any(
        "does not serve the manifest node-empty-log got" in b and "HTTP 404" in b
        for b in route.bypassed
    )
    # No manifest or blob request ever reached it.
    assert {r.kind for r in fake_mirror.requests} <= {"ping", "blob", "manifest-by-digest"}
    assert all(r.status == 404 for r in fake_mirror.requests if r.kind != "ping")


def test_the_fake_mirrors_access_log_shows_the_pull_never_reached_it(fake_mirror, image):
    node = PullingNode("node-empty-log", fake_mirror.url, image)
    observed = probe_pulls(fake_mirror, with_access_log=True).pull(node)
    route = observed.route(fake_mirror.url)
    assert any("shows no manifest of library/busybox" in b for b in route.bypassed)


def test_a_pull_through_an_honest_registry_is_proven_by_its_access_log(image):
    with FakeRegistry(image) as registry:
        session = requests.Session()
        node = PullingNode("node-1", registry.url, image, session, registry.url)
        probe = probe_pulls(registry, with_access_log=True)
        observed = probe.pull(node)
        route = observed.route(registry.url)

    assert route.proven, route
    assert not route.bypassed
    assert observed.blobs == [image.manifests[0].config_digest, *image.layer_digests]
    assert probe.served() is observed


def test_a_pull_after_the_first_served_one_is_judged_as_it_is_not_made_again(image):
    with FakeRegistry(image) as registry:
        session = requests.Session()
        first = PullingNode("node-1", registry.url, image, session, registry.url)
        second = PullingNode("node-2", registry.url, image, session, registry.url)
        probe = probe_pulls(registry, with_access_log=True)
        assert probe.later_pull_of(first) is None  # nothing pulled yet
        cold = probe.pull(first)
        later = probe.pull(second)

    assert probe.served() is cold
    assert probe.later_pull_of(first) is None  # its only pull is the first one
    assert probe.later_pull_of(second) is later


def test_pull_each_pulls_the_first_node_alone_then_the_others_at_once_by_the_access_log(image):
    with FakeRegistry(image) as registry:
        session = requests.Session()
        nodes = [
            PullingNode(f"node-{i}", registry.url, image, session, registry.url) for i in (1, 2, 3)
        ]
        probe = probe_pulls(registry, with_access_log=True)
        found = probe.pull_each(nodes)

    first, *others = (found[node.name] for node in nodes)
    assert isinstance(first, ObservedPull) and first.counters_problem != AT_ONCE
    # The counters are global to the mirror: pulls made at once are judged by the log alone.
    assert all(isinstance(o, ObservedPull) and o.counters_problem == AT_ONCE for o in others)
    assert all(o.route(registry.url).proven for o in [first, *others])
    assert first.together == () and all(o.together == ("node-2", "node-3") for o in others)
    assert probe.served() is first
    assert probe.later_pull_of(nodes[2]) is others[1]


def test_pull_each_pulls_one_after_another_when_the_log_cannot_tell_nodes_apart(image):
    with FakeRegistry(image) as registry:
        session = requests.Session()
        nodes = [
            PullingNode(f"node-{i}", registry.url, image, session, registry.url) for i in (1, 2)
        ]
        probe = probe_pulls(registry, with_access_log=True, client=None)
        found = probe.pull_each(nodes)

    assert all(
        isinstance(o, ObservedPull) and o.counters_problem != AT_ONCE for o in found.values()
    )
    assert [p.node for p in probe.pulls] == ["node-1", "node-2"]


def test_pull_each_gives_a_node_over_the_pull_budget_its_reason(image):
    with FakeRegistry(image) as registry:
        session = requests.Session()
        nodes = [
            PullingNode(f"node-{i}", registry.url, image, session, registry.url) for i in (1, 2, 3)
        ]
        probe = probe_pulls(registry, with_access_log=True)
        probe.budget = PullBudget(2)
        found = probe.pull_each(nodes)

    assert isinstance(found["node-3"], PullBudgetExhausted), found
    assert "--max-pulls 2" in str(found["node-3"])
    assert len(probe.pulls) == 2


def test_an_honest_registry_without_an_access_log_leaves_the_blobs_unproven(image):
    with FakeRegistry(image) as registry:
        node = PullingNode("node-1", registry.url, image, requests.Session(), registry.url)
        route = probe_pulls(registry, with_access_log=False).pull(node).route(registry.url)

    assert not route.bypassed and not route.proven
    assert any("--mirror-debug-url" in u and "no access log" in u for u in route.unproven)


def test_the_kept_manifest_is_hashed_so_a_fake_catalog_cannot_stand_in(image, fake_mirror):
    with FakeRegistry(image) as honest:
        evidence = MirrorEvidence(lambda: RegistryClient(honest.url), "2.8.2", None, None)
        assert evidence.catalog_has(REPO)
        assert evidence.kept_manifest(REPO, image.manifest_digest).verified
    fake = MirrorEvidence(lambda: RegistryClient(fake_mirror.url), "2.8.2", None, None)
    assert fake.catalog_has(REPO)
    assert not fake.kept_manifest(REPO, image.manifest_digest).verified

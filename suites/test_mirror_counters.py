"""The mirror's own counters, compared with the upstream's access log for the same pull.

Live mode can only see the mirror's side, so it may rely on a counter only
where this comparison shows the registry version gets it right; which ones a
version gets right is data (``trusted_counters`` in the limitations table).
"""

from __future__ import annotations

import pytest

from mirrorcheck.probes.access_log import MANIFEST_BY_DIGEST, MANIFEST_BY_TAG
from mirrorcheck.probes.mirror_metrics import prometheus_path_of, read_counters
from mirrorcheck.probes.synthetic_image import make_image
from mirrorcheck.rules.limitations import MIRROR_COUNTERS, trusted_counters
from mirrorcheck.targets.lab.accounting import measure_pull

pytestmark = [pytest.mark.hermetic_only]


@pytest.fixture(scope="module")
def counted_pull(lab, healthy_nodes):
    """One cold pull with the mirror's counters read before and after."""
    image = lab.push_image("", image=make_image("mirrorcheck/counted", "v1"))
    # registry 3.x: Prometheus at the path the config under test sets (http.debug.prometheus.path)
    path = prometheus_path_of(lab.spec.registry_config)
    before = read_counters(lab.mirror_debug_url, prometheus_path=path)
    pull = measure_pull(lab, healthy_nodes[0], image)
    problem = pull.not_a_cold_fetch()
    assert problem is None, f"the counted pull is no evidence to compare counters with: {problem}"
    delta = read_counters(lab.mirror_debug_url, prometheus_path=path).minus(before)
    return image, pull, delta


def _manifest_bytes(traffic) -> int:
    return sum(
        r.written
        for r in traffic.requests
        if r.method == "GET" and r.kind in (MANIFEST_BY_TAG, MANIFEST_BY_DIGEST)
    )


def judge_agreement(
    verdict, delta: dict[str, int], expected: dict[str, int], group: str, excused_by: set[str]
) -> None:
    """Counters disagreeing with upstream's log fail, unless the version's table distrusts them."""
    seen = {name: delta[name] for name in expected}
    wrong = {n for n in expected if seen[n] != expected[n]}
    untrusted = set(expected) - trusted_counters(verdict.registry_version or None)
    verdict.judge(
        MIRROR_COUNTERS,
        ideal=not wrong,
        tolerated=wrong <= untrusted,
        measured=f"counter deltas {seen}, upstream log says {expected}",
        failure=f"the mirror's {group} counters disagree with the upstream's access log",
        only=excused_by,
    )


def test_manifest_counters_agree_with_upstream(counted_pull, verdict, record_property):
    _, pull, delta = counted_pull
    expected = {
        "registry.proxy.manifests.Misses": pull.upstream.manifest_gets(),
        "registry.proxy.manifests.BytesPulled": _manifest_bytes(pull.upstream),
    }
    record_property("manifest_counters", {name: delta[name] for name in expected})
    record_property("upstream_manifest_gets", pull.upstream.manifest_gets())
    # Hits are not compared: no listed limitation excuses Misses or BytesPulled.
    judge_agreement(verdict, delta, expected, "manifest", excused_by=set())


def test_blob_counters_agree_with_upstream(counted_pull, verdict, record_property):
    image, pull, delta = counted_pull
    fetched = pull.upstream.blob_gets()
    # One miss and one blob's bytes per blob fetched from upstream (v3 counts one copy).
    expected = {
        "registry.proxy.blobs.Misses": len(fetched),
        "registry.proxy.blobs.BytesPulled": sum(len(image.blobs[d]) for d in fetched),
    }
    record_property("blob_counters", {name: delta[name] for name in delta if ".blobs." in name})
    record_property("upstream_blob_gets_per_digest", fetched)
    judge_agreement(verdict, delta, expected, "blob", excused_by={"blob-counters-wrong"})

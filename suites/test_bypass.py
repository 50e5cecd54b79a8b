"""Bypass: a pull that worked proves nothing unless it went through the mirror.

dockerd silently tries the next endpoint (finally Docker Hub) on almost any
mirror error, logging ``Attempting next endpoint`` at info level. These checks
demand positive evidence per node:

- hermetic: the TLS proxy served this node's pull of a fresh image, and the
  node's daemon log shows no fallback;
- both modes: the node pulls ``--probe-image``; the mirror's manifest counters
  must move (where the registry version's counters are trusted), the daemon
  log must show no fallback, and the running daemon must list the mirror. With
  no such evidence (no ``--mirror-debug-url``, no readable daemon log) the check
  skips, naming what would enable it.
"""

from __future__ import annotations

import time

import pytest

from mirrorcheck.probes.access_log import BLOB
from mirrorcheck.targets.probe_pulls import FALLBACK, PullBudgetExhausted


def test_node_pull_goes_through_the_mirror(node, lab, unique_name, record_property):
    image = lab.push_image(unique_name, layer_sizes=[300_000])
    started = time.time()
    proxy_mark = lab.proxy_mark()
    result = node.pull(image.reference)
    served = lab.proxy_traffic(proxy_mark).from_client(lab.node_address(node))
    served = served.for_repository(image.name)
    fallbacks = [line for line in node.daemon_log(since=started).splitlines() if FALLBACK in line]
    record_property("served_to_node", served.by_method_and_kind())
    record_property("fallbacks", len(fallbacks))

    answers = sorted({f"{r.method} {r.kind} -> {r.status}" for r in served.requests})
    assert served.count() > 0, (
        f"{node.name}'s pull of {image.reference} never reached the mirror {lab.mirror_url} "
        f"(pull {'succeeded' if result.ok else 'failed'}: {result.output.strip()[-300:]}). "
        "Fix: list the mirror first in /etc/docker/daemon.json registry-mirrors, reload dockerd"
    )
    assert served.count("GET", BLOB) >= 1, (
        f"{node.name} reached the mirror, which did not serve {image.reference} (answers: "
        f"{answers}); the daemon then fell back: {fallbacks[:1]}. Fix: the mirror's config "
        "(run the registry config lint: is it a pull-through cache of Docker Hub?)"
    )
    assert not fallbacks, (
        f"{node.name} fell back from the mirror to the next endpoint:\n"
        + "\n".join(fallbacks[:3])
        + "\nFix: make the mirror reachable and trusted from this node (DNS, /etc/docker/certs.d)"
    )
    assert result.ok, f"{node.name} could not pull through the mirror: {result.output[-600:]}"


def test_node_pull_of_the_probe_image_goes_through_the_mirror(
    node, deployment, settings, record_property
):
    probe = deployment.probe_pulls()
    try:
        pulled = probe.pull(node)
    except PullBudgetExhausted as spent:
        pytest.skip(str(spent))
    route = pulled.route(deployment.mirror_url)
    record_property("probe_pull", pulled.figures())
    if pulled.billable is not None:
        record_property("billable_manifest_gets", pulled.billable)
    record_property("evidence", route.proofs)
    record_property("not_proven", route.unproven)

    if pulled.counters_error:
        pytest.fail(pulled.counters_error, pytrace=False)
    outcome = "succeeded" if pulled.result.ok else "failed"
    fix = (
        "Fix: list the mirror first in /etc/docker/daemon.json registry-mirrors, make it "
        "reachable and trusted from this node (DNS, /etc/docker/certs.d/<mirror>/ca.crt), "
        "then reload dockerd"
    )
    if route.bypassed:
        pytest.fail(
            f"{node.name}'s pull of {pulled.reference} did not go through {deployment.mirror_url} "
            f"(the pull {outcome}): " + "; ".join(route.bypassed) + f". {fix}",
            pytrace=False,
        )
    if not pulled.result.ok:
        pytest.fail(
            f"{node.name} could not pull {pulled.reference} through {deployment.mirror_url}: "
            f"{pulled.result.output.strip()[-600:]}",
            pytrace=False,
        )
    if not route.proofs:
        pytest.skip(
            f"{node.name} pulled {pulled.reference}, but nothing shows the mirror served it: "
            + "; ".join(route.unproven)
        )

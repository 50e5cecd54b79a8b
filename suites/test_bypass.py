"""Bypass: a pull that worked proves nothing unless it went through the mirror.

dockerd silently tries the next endpoint (finally Docker Hub) on almost any
mirror error, logging ``Attempting next endpoint`` at info level. These checks
demand positive evidence per node:

- hermetic: the TLS proxy served this node's pull of a fresh image, manifest
  and every blob, and Docker Hub's stand-in saw no request from the node
  itself (the lab's stand-in answers, so a fallback succeeds silently there
  as in production: the node's own requests in its log are the bypass); the
  node's daemon log shows no fallback;
- both modes: the node pulls ``--probe-image``, and passes only on positive
  evidence for the manifest and every blob it fetched: the mirror's trusted
  counters moved (``--mirror-debug-url``, ``--registry-version``), or the
  mirror's access log shows them (the lab's TLS proxy log). Any sign of a
  bypass fails it: the running daemon does not list the mirror, its log shows a
  fallback, a trusted counter did not move, the mirror does not behave like a
  registry or cannot serve the digest the node got. An empty daemon log proves
  nothing (the containerd store fetches a blob the mirror answers 404 or 5xx
  for from Docker Hub without a log line); with no evidence either way the
  check skips, naming what would provide it. The access log's signs of the
  node's engine and image store (``?ns=docker.io``, ``containerd-client/``)
  are recorded.
"""

from __future__ import annotations

import pytest

from mirrorcheck.probes.access_log import BLOB
from mirrorcheck.targets.probe_pulls import PullBudgetExhausted
from mirrorcheck.versions import fallback_lines


def test_node_pull_goes_through_the_mirror(node, lab, first_pulls, record_property):
    # Every node pulled a fresh image of its own at once (first_pulls, suites/conftest.py),
    # read once the logs were quiet: a blob the node fetched from Docker Hub itself is counted.
    image, pull = first_pulls.images[node.name], first_pulls.pulls[node.name]
    result, served = pull.result, pull.served
    # Every request the node sent Docker Hub (its stand-in) itself: a bypass of the mirror.
    bypass = pull.bypass
    fallbacks = fallback_lines(node.daemon_log(since=first_pulls.started))
    record_property("served_to_node", served.by_method_and_kind())
    record_property("node_to_docker_hub", bypass.by_method_and_kind())
    record_property("fallbacks", len(fallbacks))

    answers = sorted({f"{r.method} {r.kind} -> {r.status}" for r in served.requests})
    asked_hub = bypass.by_method_and_kind() or "nothing"
    assert served.count() > 0, (
        f"{node.name}'s pull of {image.reference} never reached the mirror {lab.mirror_url} "
        f"(pull {'succeeded' if result.ok else 'failed'}: {result.output.strip()[-300:]}; "
        f"the node asked Docker Hub itself for {asked_hub}). "
        "Fix: list the mirror first in /etc/docker/daemon.json registry-mirrors, reload dockerd"
    )
    blobs = [d for m in image.manifests for d in (m.config_digest, *m.layer_digests)]
    # A blob counts as served on a 2xx, or a redirect to its storage; a 404 or 5xx is not.
    answered = {r.reference for r in served.requests if r.kind == BLOB and 200 <= r.status < 400}
    not_served = [d for d in blobs if d not in answered]
    from_hub = [d for d in not_served if bypass.blob_gets().get(d)]
    assert not not_served, (
        f"{node.name} reached the mirror, which did not serve {len(not_served)} of the "
        f"{len(blobs)} blobs of {image.reference}: {', '.join(not_served)} (answers: {answers}); "
        + (
            f"{node.name} fetched {', '.join(from_hub)} from Docker Hub itself"
            if from_hub
            else f"the node asked Docker Hub itself for {asked_hub}"
        )
        + f"; fallbacks in its daemon log: {fallbacks[:1] or 'none'} (the containerd store "
        "moves to the next host for one blob without a log line). Fix: the mirror's config "
        "(run the registry config lint: is it a pull-through cache of Docker Hub?) and its "
        "storage (a blob lost from it, e.g. by proxy.ttl expiry, distribution#2367)"
    )
    assert not bypass.count(), (
        f"{node.name} sent Docker Hub requests of its own during the pull of {image.reference} "
        f"({asked_hub}; blobs {sorted(bypass.blob_gets()) or 'none'}): it bypassed the mirror "
        f"for part of the pull. Fallbacks in its daemon log: {fallbacks[:2]}. Fix: make the "
        "mirror serve every request (reachable, trusted, caching Docker Hub)"
    )
    assert not fallbacks, (
        f"{node.name} fell back from the mirror to the next endpoint:\n"
        + "\n".join(fallbacks[:3])
        + "\nFix: make the mirror reachable and trusted from this node (DNS, /etc/docker/certs.d)"
    )
    assert result.ok, f"{node.name} could not pull through the mirror: {result.output[-600:]}"


def test_node_pull_of_the_probe_image_goes_through_the_mirror(
    node, deployment, probe_pulled, record_property
):
    # Every usable node's pull, made once (probe_pulled, suites/conftest.py).
    pulled = probe_pulled[node.name]
    if isinstance(pulled, PullBudgetExhausted):
        pytest.skip(str(pulled))
    route = pulled.route(deployment.mirror_url)
    record_property("probe_pull", pulled.figures())
    if pulled.billable is not None:
        record_property("billable_manifest_gets", pulled.billable)
    record_property("evidence", route.proofs)
    record_property("not_proven", route.unproven)
    if pulled.client is not None:  # the engine and image store the access log shows
        record_property("access_log_client", pulled.client.figures())

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
    if not route.proven:
        shown = f" (shown: {'; '.join(route.proofs)})" if route.proofs else ""
        pytest.skip(
            f"{node.name} pulled {pulled.reference}, but nothing shows the mirror served all "
            f"of it{shown}: " + "; ".join(route.unproven)
        )

"""One blob from Docker Hub: a containerd-store node behind a mirror that answers 404 for it.

An Engine 28.5 node (the lab's default, containerd image store) pulls an
image whose manifest the mirror serves while the mirror's proxy answers 404
for one layer. Measured here (``mirrorcheck.versions.BLOB_ANSWERS``): the node
fetches that layer alone from Docker Hub (the lab's stand-in, reachable as in
production), the manifest and the other blobs through the mirror; the pull
succeeds and the daemon log shows no fallback line. Both bypass checks must
fail, naming the blob and the node: the lab's (the TLS proxy's and the
stand-in's accounting) and the probe image's (the mirror's counters and access
log). One lab, one node.

A lost blob behind distribution 2.8 itself is a different answer
(``MIRROR_LOST_BLOB``: 200 with an empty body, or the blob fetched again), so
the 404 comes from the proxy in front of the mirror, as a cache or proxy there
answers. The lost blob itself (its data file deleted from the mirror's storage
after a pull, as a ``proxy.ttl`` expiry does, distribution#2367) fails the
containerd node's pull loudly, and the lab's bypass check with it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mirrorcheck.probes.image_content import blob_digests
from mirrorcheck.probes.synthetic_image import SyntheticImage
from mirrorcheck.targets.lab.first_pulls import pull_first_images
from mirrorcheck.targets.lab.topology import Lab
from mirrorcheck.targets.mirror_storage import MirrorStorage
from mirrorcheck.versions import BLOB_ANSWERS, CONTAINERD, DEFAULT_ENGINE, store_for
from mirrorcheck.waiting import wait_until
from tests.controls.labs import one_node_lab
from tests.suite_runner import load_suite

pytestmark = [pytest.mark.docker]

NGINX_CONF = "/etc/nginx/nginx.conf"
MIRROR_LOCATION = "        location / {"  # the proxy's location that passes to the mirror
NODE = "node-1"


class _Recorded:
    """``record_property`` outside pytest's own fixture."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def __call__(self, name: str, value: object) -> None:
        self.values[name] = value


def answer_404(lab: Lab, repository: str, digest: str) -> None:
    """Make the lab's TLS proxy answer 404 for one blob; the mirror behind it keeps it."""
    assert lab.proxy is not None
    rule = f"location = /v2/{repository}/blobs/{digest} {{ return 404; }}"
    script = (
        f"sed -i 's#^{MIRROR_LOCATION}#        {rule}\\n&#' {NGINX_CONF} && "
        f"grep -qF '{rule}' {NGINX_CONF} && nginx -s reload"
    )
    done = lab.proxy.exec_run(["sh", "-c", script])
    assert done.exit_code == 0, f"the proxy took no 404 rule: {done.output.decode()[-500:]}"
    session = lab.mirror_session()
    url = f"{lab.mirror_url}/v2/{repository}/blobs/{digest}"
    wait_until(
        lambda: session.head(url, timeout=5).status_code == 404,
        timeout=15,
        interval=0.2,
        what=f"the proxy to answer 404 for {url}",
    )


class LosingMirror:
    """The lab, whose mirror answers 404 for the first layer of every image pushed from now on."""

    def __init__(self, lab: Lab) -> None:
        self._lab = lab
        self.lost: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._lab, name)

    def push_image(self, name: str, tag: str = "v1", **kwargs) -> SyntheticImage:
        image = self._lab.push_image(name, tag, **kwargs)
        digest = image.manifests[0].layer_digests[0]
        answer_404(self._lab, image.name, digest)
        self.lost.append(digest)
        return image


class ExpiringMirror(LosingMirror):
    """The lab, whose mirror loses the first layer of each image pushed, once it has cached it.

    The node pulls the image through the mirror, forgets it, and the layer's
    data file is deleted from the mirror's storage; its inmemory blob
    descriptor cache still lists the layer (``MIRROR_LOST_BLOB``).
    """

    def push_image(self, name: str, tag: str = "v1", **kwargs) -> SyntheticImage:
        lab = self._lab
        image = lab.push_image(name, tag, **kwargs)
        node = lab.nodes[0]
        assert node.pull(image.reference).ok, f"the first pull of {image.reference} failed"
        lab.settle(image)
        for command in (("rmi", "-f", image.reference), ("image", "prune", "-af")):
            node.run("docker", *command, timeout=60)
        digest = image.manifests[0].layer_digests[0]
        assert lab.mirror is not None
        storage: MirrorStorage = lab.evidence().storage()
        assert storage.has_blob(digest), f"the mirror did not store {digest}"
        removed = lab.mirror.exec_run(["rm", storage.blob_path(digest)])
        assert removed.exit_code == 0, removed.output.decode()
        self.lost.append(digest)
        return image


@pytest.fixture(scope="module")
def lab(engine) -> Iterator[Lab]:
    """One node on the lab's default engine and store (28.5, containerd)."""
    assert store_for(DEFAULT_ENGINE, None) == CONTAINERD
    with one_node_lab(engine, "blobfallback") as started:
        yield started


def test_one_blob_from_docker_hub_fails_the_lab_bypass_check_naming_blob_and_node(lab):
    losing = LosingMirror(lab)
    recorded = _Recorded()
    check = load_suite("test_bypass").test_node_pull_goes_through_the_mirror
    first = pull_first_images(losing, lab.nodes)
    with pytest.raises(AssertionError) as failed:
        check(lab.nodes[0], losing, first, recorded)
    message = str(failed.value)
    (lost,) = losing.lost
    assert f"{NODE} fetched {lost} from Docker Hub itself" in message, message
    assert "did not serve 1 of the 2 blobs" in message, message
    # Silent, as measured: the pull worked and the daemon logged no fallback.
    assert recorded.values["fallbacks"] == 0, recorded.values
    assert "no log line" in BLOB_ANSWERS["404"][CONTAINERD].text


def test_one_blob_from_docker_hub_fails_the_probe_pull_check_naming_blob_and_node(lab):
    probe = lab.probe_pulls()  # pushes the probe image to Docker Hub's stand-in
    repository = probe.image.repository
    layer = blob_digests(lab.upstream_registry.client(), repository, "latest", ("linux", "", ""))
    lost = layer[1]
    answer_404(lab, repository, lost)
    check = load_suite("test_bypass").test_node_pull_of_the_probe_image_goes_through_the_mirror
    pulled = probe.pull_each(lab.nodes)  # as the suites' probe_pulled fixture makes them
    with pytest.raises(pytest.fail.Exception) as failed:
        check(lab.nodes[0], lab, pulled, _Recorded())
    message = str(failed.value)
    assert f"{NODE}'s pull of {probe.reference} did not go through" in message, message
    assert f"during {NODE}'s pull: {lost}" in message, message
    assert "(the pull succeeded)" in message, message


def test_a_blob_lost_from_the_mirror_fails_the_containerd_pull_and_the_bypass_check(lab):
    expiring = ExpiringMirror(lab)
    check = load_suite("test_bypass").test_node_pull_goes_through_the_mirror
    first = pull_first_images(expiring, lab.nodes)
    with pytest.raises(AssertionError) as failed:
        check(lab.nodes[0], expiring, first, _Recorded())
    message = str(failed.value)
    # 200 with an empty body: no move to Docker Hub, the pull fails (BLOB_ANSWERS["200-empty"]).
    assert f"{NODE} could not pull through the mirror" in message, message
    assert "unexpected EOF" in message, message
    assert BLOB_ANSWERS["200-empty"][CONTAINERD].text.startswith("no move")

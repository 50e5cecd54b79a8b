"""Live mode end to end: a hermetic lab treated as a real deployment, checked from outside.

A lab is started in-process and then forgotten as a lab: the suites reach its
mirror by URL (``--mirror-address`` at the TLS proxy, ``--ca-file`` its CA), its
nodes through ``docker://<container>`` and through real ssh (a node running
sshd with a throwaway key), exactly as an operator's post-deploy run would.
A synthetic image is pushed to the lab's upstream under the probe image's name,
so ``busybox:latest`` pulls through the mirror as it would from Docker Hub.
The healthy run checks a mirror and three nodes (two ``docker://``, one ssh),
the size the post-deploy check is meant to finish in seconds for.

- healthy: every check live mode can run passes, and gives the verdict the
  hermetic run of the same files gives; the run's time is recorded;
- a node without the mirror fails its own bypass and mirror checks, the other
  node passes them;
- a proxy whose certificate comes from a CA nobody trusts fails the chain check
  and the nodes' pulls (the daemon falls back, logging x509);
- an unreachable mirror address, an ssh port nobody listens on, a missing
  container and a container without Docker each fail with their own cause,
  while the reachable node is still checked;
- an ssh node whose host key is not the one known_hosts holds fails its checks,
  naming the key's fingerprint; with ``--insecure-skip-host-key-check`` the same
  run passes and its reports say the keys were not verified.

The child runs get a HOME of their own (known_hosts holding the ssh node's real
key, no ssh agent): the developer's ``~/.ssh`` is never read or written.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from mirrorcheck.options import EXAMPLES
from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab.certs import Variant
from mirrorcheck.targets.lab.configure import lab_spec
from mirrorcheck.targets.lab.images.supply import ImageSupply
from mirrorcheck.targets.lab.labels import RunLabels, new_run_id
from mirrorcheck.targets.lab.nodes import NodeSpec
from mirrorcheck.targets.lab.topology import Lab, fill_fqdn
from mirrorcheck.targets.nodes.ssh import IDENTITY_ENV
from tests.suite_runner import SuiteRun, run_suites

pytestmark = [pytest.mark.docker]

FQDN = "mirror.test"
PROBE_IMAGE = "busybox:latest"
REGISTRY_VERSION = "2.8.2"

BYPASS = "test_node_pull_of_the_probe_image_goes_through_the_mirror"
CACHE = "test_pull_after_the_first_fetches_no_manifest_upstream"
CATALOG = "test_mirror_catalog_lists_the_probe_image_after_its_first_pull"
STORAGE = "test_mirror_storage_holds_every_blob_of_the_probe_image_after_its_first_pull"
LISTS_MIRROR = "test_node_daemon_lists_the_mirror"
CHAIN = "test_proxy_certificate_chains_to_the_ca_the_nodes_trust"
NAME = "test_proxy_certificate_is_issued_for_the_mirror_name"
API = "test_registry_api_answers_through_the_proxy"
PUSH = "test_pushes_through_the_proxy_are_refused"
DELETE = "test_deletes_through_the_proxy_are_refused"
LAB_ONLY = "test_node_pulls_a_test_image_by_tag_through_the_mirror"
# Checks that must have run (not skipped) in a healthy live run.
MUST_RUN_LIVE = (BYPASS, CACHE, CATALOG, STORAGE, LISTS_MIRROR, CHAIN, NAME, API)
WITHOUT_MIRROR = b'{\n    "log-driver": "journald"\n}\n'
HOST_KEY_FILE = "/etc/ssh/ssh_host_ed25519_key.pub"
KEYS_VERIFIED = "verified"
KEYS_NOT_VERIFIED = "NOT verified (--insecure-skip-host-key-check)"


def _reference_settings(tmp_path: Path) -> tuple[Settings, Path]:
    """The reference files, named explicitly; daemon.json with the lab's FQDN filled in."""
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_bytes(fill_fqdn((EXAMPLES / "daemon.after.json").read_bytes(), FQDN))
    settings = Settings.from_mapping(
        {
            "registry-config": str(EXAMPLES / "registry-config.yml"),
            "stack-file": str(EXAMPLES / "registry-stack.yml"),
            "daemon-json": str(daemon_json),
            "mirror-fqdn": FQDN,
            "nodes": "2",
            "topology": "plain",
        }
    )
    return settings, daemon_json


def _throwaway_key(directory: Path) -> tuple[Path, bytes]:
    """An ed25519 key pair: the private key file (0600) and the public key line."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = directory / "id_ed25519"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    os.chmod(private, 0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public + b" mirrorcheck-live-control"


def _host_key(public_line: bytes) -> paramiko.PKey:
    """The key of an OpenSSH public key line (``ssh-ed25519 AAAA... comment``)."""
    kind, blob = public_line.split()[:2]
    return paramiko.PKey.from_type_string(kind.decode(), base64.b64decode(blob))


def _ssh_home(directory: Path, host: str, key: paramiko.PKey) -> Path:
    """A HOME for a child run whose ~/.ssh/known_hosts holds ``key`` for ``host`` (port 22)."""
    ssh = directory / ".ssh"
    ssh.mkdir(parents=True, mode=0o700)
    (ssh / "known_hosts").write_text(f"{host} {key.get_name()} {key.get_base64()}\n")
    return directory


@contextmanager
def started_lab(
    engine, settings: Settings, certificate: Variant = Variant.HEALTHY
) -> Iterator[Lab]:
    """A lab under its own run labels, removed whatever happens."""
    images = ImageSupply(engine).resolve_all()
    spec = lab_spec(settings, images, RunLabels.for_this_process(new_run_id()))
    spec.certificate = certificate
    lab = Lab(engine, spec)
    try:
        lab.start()
        lab.push_image("library/busybox", tag="latest")
        yield lab
    finally:
        lab.close()


@dataclass
class LiveTarget:
    """The lab as an operator sees it: URLs and files, no lab objects."""

    lab: Lab
    docker_node: str
    ssh_node: str
    second_docker_node: str
    no_mirror_node: str
    identity: Path
    daemon_json: Path
    home: Path  # known_hosts holds the ssh node's real host key
    ssh_address: str = ""
    ssh_host_key: paramiko.PKey | None = None

    def args(self, *nodes: str, ca_file: str | None = None, address: str | None = None) -> list:
        given = [
            "--mirror-url",
            f"https://{FQDN}",
            "--mirror-address",
            address or f"{self.lab.proxy_address}:443",
            "--ca-file",
            ca_file or str(self.lab.cert_files.ca_cert),
            "--mirror-debug-url",
            self.lab.mirror_debug_url,
            "--registry-version",
            REGISTRY_VERSION,
            "--probe-image",
            PROBE_IMAGE,
            "--mirror-storage",
            f"docker://{self.lab.mirror.name}/var/lib/registry",
            "--mirror-access-log",
            f"docker://{self.lab.mirror.name}",
            "--daemon-json",
            str(self.daemon_json),
        ]
        for node in nodes or (self.docker_node, self.second_docker_node, self.ssh_node):
            given += ["--node", node]
        return given

    def run(self, tmp_path: Path, *args: str, home: Path | None = None) -> SuiteRun:
        env = {
            IDENTITY_ENV: str(self.identity),
            "HOME": str(home or self.home),
            "SSH_AUTH_SOCK": "",
        }
        return run_suites("suites/", *args, tmp_path=tmp_path, env=env)


@pytest.fixture(scope="module")
def target(engine, tmp_path_factory) -> Iterator[LiveTarget]:
    """One lab: two docker:// nodes, an ssh node, and a node whose daemon.json lacks the mirror."""
    directory = tmp_path_factory.mktemp("live-target")
    settings, daemon_json = _reference_settings(directory)
    identity, public_key = _throwaway_key(directory)
    with started_lab(engine, settings) as lab:
        filled = daemon_json.read_bytes()
        ssh_node, no_mirror = lab.add_nodes(
            [
                NodeSpec("node-ssh", filled, authorized_key=public_key),
                NodeSpec("node-without-mirror", WITHOUT_MIRROR),
            ]
        )
        for node in (*lab.nodes[:2], ssh_node, no_mirror):
            assert not node.startup_error, node.startup_error
        address = lab.node_address(ssh_node)
        host_key = _host_key(ssh_node.read_file(HOST_KEY_FILE))
        yield LiveTarget(
            lab=lab,
            docker_node=f"docker://{lab.nodes[0].container.name}",
            ssh_node=f"ssh://root@{address}",
            second_docker_node=f"docker://{lab.nodes[1].container.name}",
            no_mirror_node=f"docker://{no_mirror.container.name}",
            identity=identity,
            daemon_json=daemon_json,
            home=_ssh_home(directory / "home", address, host_key),
            ssh_address=address,
            ssh_host_key=host_key,
        )


@dataclass
class TimedRun:
    run: SuiteRun
    seconds: float


@pytest.fixture(scope="module")
def healthy_run(target: LiveTarget, tmp_path_factory) -> TimedRun:
    started = time.monotonic()
    run = target.run(tmp_path_factory.mktemp("live-healthy"), *target.args())
    return TimedRun(run, time.monotonic() - started)


def _ran(run: SuiteRun) -> list[str]:
    """Test names (without node ids) that ran to a verdict, not skipped."""
    names = {o.name.split("[", 1)[0] for o in run.outcomes if o.outcome != "skipped"}
    return sorted(names)


def test_a_healthy_deployment_passes_every_check_live_mode_can_run(healthy_run, record_property):
    run = healthy_run.run
    record_property("live_run_seconds", round(healthy_run.seconds, 2))
    print(f"\nlive run, mirror and 3 nodes: {healthy_run.seconds:.1f} s (child process included)")
    assert run.exit_code == 0, run.output[-4000:]
    assert not run.failed()
    for name in MUST_RUN_LIVE:
        assert run.outcome(name) == "passed", (name, run.message(name))
    # One verdict per node, each under the node's own id.
    assert len(run.find(BYPASS)) == 3
    assert all(o.outcome == "passed" for o in run.find(BYPASS) + run.find(CACHE))
    # Read-only: the write checks say why they do not run; lab-only checks say so too.
    for name in (PUSH, DELETE):
        assert run.outcome(name) == "skipped"
        assert "read-only" in run.message(name)
    assert run.outcome(LAB_ONLY) == "skipped"
    assert "hermetic lab" in run.message(LAB_ONLY)
    # The ssh node was reached with its host key checked against known_hosts.
    assert run.summary()["target"]["ssh_host_keys"] == KEYS_VERIFIED


def test_the_first_pull_records_what_docker_hub_would_bill(healthy_run):
    billed = [
        int(o.properties["billable_manifest_gets"])
        for o in healthy_run.run.find(BYPASS) + healthy_run.run.find(CACHE)
        if "billable_manifest_gets" in o.properties
    ]
    # One cold pull by tag GETs the manifest upstream once; every later pull is served.
    assert sum(billed) == 1, billed
    assert len(billed) == 6


def test_checks_of_both_modes_give_the_hermetic_verdict_on_the_same_files(
    target, healthy_run, tmp_path
):
    live = healthy_run.run
    names = _ran(live)
    assert set(MUST_RUN_LIVE) <= set(names)
    hermetic = run_suites(
        "suites/",
        "-k",
        " or ".join(names),
        "--daemon-json",
        str(target.daemon_json),
        "--mirror-fqdn",
        FQDN,
        "--probe-image",
        PROBE_IMAGE,
        "--nodes",
        "2",
        tmp_path=tmp_path,
    )
    differing = {
        name: (live.outcome(name), hermetic.outcome(name))
        for name in names
        if live.outcome(name) != hermetic.outcome(name)
    }
    assert not differing, (
        f"live vs hermetic verdicts differ: {differing}\n{hermetic.output[-3000:]}"
    )


def test_a_node_without_the_mirror_fails_its_own_checks_and_the_other_passes(target, tmp_path):
    run = target.run(tmp_path, *target.args(target.docker_node, target.no_mirror_node))
    assert run.exit_code == 1, run.output[-3000:]
    by_name = {o.name: o for o in run.outcomes}
    for check in (BYPASS, CACHE, LISTS_MIRROR):
        assert by_name[f"{check}[{target.docker_node}]"].outcome == "passed"
    # The node's own configuration check fails on its evidence; the pulls that depend on
    # the node stop at once (an error at setup), naming that known cause.
    assert by_name[f"{LISTS_MIRROR}[{target.no_mirror_node}]"].outcome == "failed"
    for check in (BYPASS, CACHE):
        bad = by_name[f"{check}[{target.no_mirror_node}]"]
        assert bad.outcome == "error", bad
        assert "is not known to use the mirror" in bad.message, bad
        assert "does not list" in bad.message, bad


def test_a_proxy_certificate_nobody_trusts_fails_the_chain_and_the_pulls(engine, tmp_path):
    settings, daemon_json = _reference_settings(tmp_path)
    with started_lab(engine, settings, Variant.UNTRUSTED_CA) as lab:
        untrusted = LiveTarget(
            lab=lab,
            docker_node=f"docker://{lab.nodes[0].container.name}",
            ssh_node="",
            second_docker_node="",
            no_mirror_node="",
            identity=tmp_path / "no-key",
            daemon_json=daemon_json,
            home=tmp_path,
        )
        run = untrusted.run(tmp_path, *untrusted.args(untrusted.docker_node))
    assert run.outcome(CHAIN) == "failed"
    assert "untrusted-issuer" in run.message(CHAIN)
    assert run.outcome(NAME) == "passed"  # the certificate does name the mirror
    assert run.outcome(BYPASS) == "failed", run.message(BYPASS) + run.output[-3000:]
    assert "x509" in run.message(BYPASS) or "unknown authority" in run.message(BYPASS)


def test_each_unreachable_target_fails_with_its_cause_and_the_rest_is_checked(target, tmp_path):
    closed_port = target.ssh_node + ":2"
    missing = "docker://mirrorcheck-no-such-container"
    without_docker = f"docker://{target.lab.upstream.name}"
    run = target.run(
        tmp_path,
        *target.args(
            target.docker_node, closed_port, missing, without_docker, address="127.0.0.1:9"
        ),
    )
    messages = {o.name: o for o in run.outcomes if o.name.startswith(LISTS_MIRROR)}
    assert messages[f"{LISTS_MIRROR}[{target.docker_node}]"].outcome == "passed"
    assert "nothing accepts ssh connections" in messages[f"{LISTS_MIRROR}[{closed_port}]"].message
    assert "no container named" in messages[f"{LISTS_MIRROR}[{missing}]"].message
    assert "no Docker on this node" in messages[f"{LISTS_MIRROR}[{without_docker}]"].message
    # The mirror address answers nothing: its checks fail, naming the address.
    assert run.outcome(API) == "failed"
    assert "127.0.0.1:9" in run.message(API)
    # The reachable node still pulls through the mirror, which it reaches by its own DNS.
    assert run.find(BYPASS) and any(
        o.outcome == "passed" and o.name.endswith(f"[{target.docker_node}]")
        for o in run.find(BYPASS)
    )


def test_an_ssh_node_with_a_changed_host_key_fails_and_the_opt_out_passes_saying_so(
    target, tmp_path
):
    impostor = _host_key(_throwaway_key(tmp_path)[1])
    home = _ssh_home(tmp_path / "home", target.ssh_address, impostor)
    known_hosts = (home / ".ssh" / "known_hosts").read_text()
    real = target.ssh_host_key
    assert real is not None
    args = [*target.args(target.ssh_node), "-k", LISTS_MIRROR]

    refused = target.run(tmp_path, *args, home=home)
    assert refused.exit_code == 1, refused.output[-3000:]
    # A node that cannot be reached errors in the checks' setup, naming why.
    refused.expect(
        LISTS_MIRROR,
        "error",
        target.ssh_address,
        "has CHANGED",
        real.fingerprint,
        "ssh-keygen -R",
        "--insecure-skip-host-key-check",
    )
    assert refused.summary()["target"]["ssh_host_keys"] == KEYS_VERIFIED

    skipped = target.run(tmp_path, *args, "--insecure-skip-host-key-check", home=home)
    assert skipped.exit_code == 0, skipped.output[-3000:]
    assert skipped.outcome(LISTS_MIRROR) == "passed"
    assert skipped.summary()["target"]["ssh_host_keys"] == KEYS_NOT_VERIFIED
    assert KEYS_NOT_VERIFIED in skipped.junit.read_text(encoding="utf-8")
    # The opt-out reads and writes no known-hosts file.
    assert (home / ".ssh" / "known_hosts").read_text() == known_hosts

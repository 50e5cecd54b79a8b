"""Live mode's parts that need no Docker: URLs, references, budgets, evidence, daemon logs."""

from __future__ import annotations

import json
from dataclasses import dataclass

import paramiko
import pytest

from mirrorcheck.probes.daemon_log import (
    DaemonLogReader,
    DaemonLogUnavailable,
    lines_since,
    stamp_of,
)
from mirrorcheck.probes.image_content import blob_digests, platform_of
from mirrorcheck.probes.mirror_metrics import Counters
from mirrorcheck.probes.registry_api import RegistryClient
from mirrorcheck.rules.image_reference import ImageReferenceError, parse_reference
from mirrorcheck.settings import Settings
from mirrorcheck.targets.endpoint import MirrorEndpoint
from mirrorcheck.targets.evidence import (
    BLOB_MISSES,
    MANIFEST_MISSES,
    MANIFEST_REQUESTS,
    EvidenceUnavailable,
    MirrorEvidence,
)
from mirrorcheck.targets.live.deployment import (
    LiveDeployment,
    LiveTargetError,
    parse_address,
    parse_mirror_url,
)
from mirrorcheck.targets.mirror_storage import MirrorStorage, StorageError
from mirrorcheck.targets.nodes.connect import explain_engine_failure, node_from_url
from mirrorcheck.targets.nodes.host_keys import HostKeyRefused
from mirrorcheck.targets.nodes.node import PullResult
from mirrorcheck.targets.nodes.ssh import explain_ssh_error, parse_ssh_url
from mirrorcheck.targets.probe_pulls import PullBudget, PullBudgetExhausted
from mirrorcheck.targets.pull_route import ObservedPull
from mirrorcheck.versions import CLASSIC, FALLBACK_LOG_LINES

MIRROR = "https://mirror.example.com"
TRUSTED_28 = {MANIFEST_REQUESTS, MANIFEST_MISSES, "registry.proxy.manifests.BytesPulled"}
DIGEST = "sha256:" + "ab" * 32


# -- image references ------------------------------------------------------------


def test_a_one_word_name_is_a_docker_hub_library_image_at_latest():
    ref = parse_reference("busybox")
    assert (ref.domain, ref.repository, ref.reference, ref.docker_hub) == (
        "docker.io",
        "library/busybox",
        "latest",
        True,
    )
    assert ref.mirror_problem() is None


def test_a_docker_hub_host_in_the_name_is_still_docker_hub():
    ref = parse_reference("docker.io/library/busybox:1.36")
    assert (ref.repository, ref.tag, ref.docker_hub) == ("library/busybox", "1.36", True)


def test_an_image_of_another_registry_never_reaches_the_mirror():
    ref = parse_reference("ghcr.io/org/app:1")
    assert not ref.docker_hub
    assert "ghcr.io" in ref.mirror_problem() and "Docker Hub" in ref.mirror_problem()


def test_a_digest_reference_is_pulled_by_digest():
    ref = parse_reference(f"user/app@{DIGEST}")
    assert (ref.repository, ref.reference, ref.by_digest) == ("user/app", DIGEST, True)


def test_an_uppercase_repository_is_not_a_reference():
    with pytest.raises(ImageReferenceError, match="Busybox"):
        parse_reference("Busybox")


# -- mirror URL, address and nodes -------------------------------------------------


def test_mirror_url_gives_name_and_default_port():
    assert parse_mirror_url("https://mirror.example.com") == ("https", "mirror.example.com", 443)
    assert parse_mirror_url("https://mirror.example.com:8443/")[2] == 8443


@pytest.mark.parametrize("url", ["mirror.example.com", "ftp://m", "https://m/v2", "https://u@m"])
def test_a_mirror_url_dockerd_would_refuse_is_a_usage_error(url):
    with pytest.raises(LiveTargetError, match="--mirror-url"):
        parse_mirror_url(url)


def test_mirror_address_keeps_the_url_port_unless_given():
    assert parse_address("10.0.0.5", 443) == ("10.0.0.5", 443)
    assert parse_address("10.0.0.5:8443", 443) == ("10.0.0.5", 8443)
    assert parse_address("[fd00::5]:443", 80) == ("fd00::5", 443)
    with pytest.raises(LiveTargetError, match="HOST:PORT"):
        parse_address("10.0.0.5:https", 443)


def test_mirror_address_sends_the_url_name_and_port_to_the_address_and_port():
    endpoint = MirrorEndpoint(MIRROR, "mirror.example.com", "127.0.0.1", 9443, None, 443)
    assert endpoint.resolve == {"mirror.example.com:443": "127.0.0.1:9443"}
    plain = MirrorEndpoint(MIRROR, "mirror.example.com", "mirror.example.com", 443, None, 443)
    assert plain.resolve == {}


def test_a_node_url_of_no_known_kind_keeps_its_error_and_the_fix():
    node = node_from_url("ftp://node1")
    assert node.startup_error.startswith("--node 'ftp://node1'")
    assert "ssh://user@host" in node.startup_error


def test_an_ssh_node_without_user_names_the_form_to_use(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/config gives a User
    node = node_from_url("ssh://node1")
    assert "ssh://user@node1" in node.startup_error
    assert parse_ssh_url("ssh://admin@node1:2222") == ("admin", "node1", 2222)


def test_ssh_failures_are_told_apart():
    url = "ssh://admin@node1"
    refused = paramiko.ssh_exception.NoValidConnectionsError({("10.0.0.1", 22): OSError("no")})
    assert "start sshd" in explain_ssh_error(url, refused)
    assert "ssh-agent" in explain_ssh_error(url, paramiko.AuthenticationException("denied"))
    assert "within" in explain_ssh_error(url, TimeoutError())
    refused = HostKeyRefused(f"{url}: the ssh host key of node1 has CHANGED: ...")
    assert explain_ssh_error(url, refused) == str(refused)


def test_ssh_nodes_and_ssh_storage_verify_host_keys_unless_told_not_to(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert node_from_url("ssh://admin@node1").skip_host_key_check is False
    assert node_from_url("ssh://admin@node1", skip_host_key_check=True).skip_host_key_check
    url = "ssh://admin@storage1/var/lib/registry"
    assert MirrorStorage.from_url(url).runner.skip_host_key_check is False
    assert MirrorStorage.from_url(url, skip_host_key_check=True).runner.skip_host_key_check


@pytest.mark.parametrize(
    ("output", "told"),
    [
        ("sh: 1: docker: not found", "no Docker on this node"),
        ("timeout: failed to run command 'docker': No such file or directory", "no Docker"),
        ("permission denied while trying to connect to the Docker daemon socket", "docker group"),
        ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", "not running"),
    ],
)
def test_an_engine_that_does_not_answer_is_explained(output, told):
    assert told in explain_engine_failure("ssh://admin@node1", output)


def _settings(**values) -> Settings:
    return Settings.from_mapping({"mirror-url": MIRROR, **values})


def test_a_missing_ca_file_is_a_usage_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    with pytest.raises(LiveTargetError, match="no such file"):
        LiveDeployment.from_settings(_settings(**{"ca-file": str(tmp_path / "nope.pem")}))


def test_a_probe_image_of_another_registry_is_refused(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    with pytest.raises(LiveTargetError, match="not of Docker Hub"):
        LiveDeployment.from_settings(_settings(**{"probe-image": "quay.io/org/app"}))


def test_a_live_run_split_over_xdist_workers_is_refused(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    with pytest.raises(LiveTargetError, match="drop -n"):
        LiveDeployment.from_settings(_settings(node=["local"]))


def test_the_default_pull_budget_is_one_cold_and_one_warm_pull_per_node(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    live = LiveDeployment.from_settings(_settings(node=["bogus-1", "bogus-2", "bogus-3"]))
    assert live.probe_pulls().budget.limit == 6
    assert all(n.startup_error for n in live.nodes)  # unreachable nodes still count as targets
    assert live.describe()["max_pulls"] == 6


def test_every_live_report_states_whether_ssh_host_keys_were_verified(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    checked = LiveDeployment.from_settings(_settings(node=["bogus-1"]))
    assert checked.describe()["ssh_host_keys"] == "verified"
    skipped = LiveDeployment.from_settings(
        _settings(node=["bogus-1"], **{"insecure-skip-host-key-check": True})
    )
    assert skipped.describe()["ssh_host_keys"] == "NOT verified (--insecure-skip-host-key-check)"


def test_live_counters_are_read_at_the_prometheus_path_of_the_named_registry_config(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nproxy:\n  remoteurl: https://registry-1.docker.io\n"
        "http:\n  debug:\n    addr: :5001\n    prometheus:\n      enabled: true\n"
        "      path: /custom-metrics\n"
    )
    named = LiveDeployment.from_settings(
        _settings(node=["bogus-1"], **{"registry-config": str(config)})
    )
    assert named.evidence().prometheus_path == "/custom-metrics"
    unnamed = LiveDeployment.from_settings(_settings(node=["bogus-1"]))
    assert unnamed.evidence().prometheus_path == "/metrics"


# -- pull budget and the route of a pull --------------------------------------------


def test_a_pull_over_the_budget_is_refused_naming_the_option():
    budget = PullBudget(1)
    budget.take("busybox on node1")
    with pytest.raises(PullBudgetExhausted, match="--max-pulls 1"):
        budget.take("busybox on node2")
    PullBudget(None).take("anything")  # no limit in the lab


def _pull(**fields) -> ObservedPull:
    values = {
        "node": "node1",
        "reference": "busybox:latest",
        "result": PullResult("node1", "busybox:latest", True, 0.5, "Digest: x", "x"),
        "node_had_image": False,
        "mirrors": [MIRROR + "/"],
        "trusted": TRUSTED_28,
        "deltas": {MANIFEST_REQUESTS: 2, MANIFEST_MISSES: 1},
    }
    values.update(fields)
    return ObservedPull(**values)


def test_moved_manifest_counters_prove_a_pull_that_needed_no_blob():
    route = _pull(node_had_image=True).route(MIRROR)
    assert not route.bypassed and route.proven and len(route.proofs) == 2
    assert _pull().billable == 1 and _pull().mirror_was_cold


def test_a_node_that_does_not_list_the_mirror_bypassed_it():
    route = _pull(mirrors=[], deltas={MANIFEST_REQUESTS: 0, MANIFEST_MISSES: 0}).route(MIRROR)
    assert any("does not list" in b for b in route.bypassed)
    assert any("did not move" in b for b in route.bypassed)


def test_a_fallback_in_the_daemon_log_is_a_bypass():
    line = (
        f'level=info msg="{FALLBACK_LOG_LINES[CLASSIC].text} for pull after error: '
        "x509: certificate signed by unknown"
    )
    route = _pull(fallbacks=[line]).route(MIRROR)
    assert any("x509" in b for b in route.bypassed)


def test_untrusted_counters_prove_nothing():
    route = _pull(trusted=set(), log_problem="node1: no daemon log").route(MIRROR)
    assert not route.proofs and not route.bypassed
    assert "node1: no daemon log" in route.unproven
    assert _pull(trusted=set()).billable is None


def test_a_daemon_logging_at_warn_cannot_show_fallbacks():
    route = _pull(deltas=None, counters_problem="no counters", log_level="warn").route(MIRROR)
    assert not route.proofs
    assert any("'warn'" in u for u in route.unproven)


# -- evidence -------------------------------------------------------------------------


def _evidence(version: str = "2.8.2", debug: str | None = "http://m:5001") -> MirrorEvidence:
    return MirrorEvidence(lambda: RegistryClient(MIRROR), version, debug, None)


def test_counters_without_a_debug_server_name_the_option():
    with pytest.raises(EvidenceUnavailable, match="--mirror-debug-url"):
        _evidence(debug=None).require_trusted(MANIFEST_MISSES)


def test_counters_of_an_unknown_version_name_the_version_option():
    with pytest.raises(EvidenceUnavailable, match="--registry-version"):
        _evidence(version="").require_trusted(MANIFEST_MISSES)


def test_blob_counters_of_2_8_are_not_trusted_and_the_limitation_is_named():
    _evidence().require_trusted(MANIFEST_REQUESTS, MANIFEST_MISSES)
    with pytest.raises(EvidenceUnavailable, match="blob-counters-wrong"):
        _evidence().require_trusted(BLOB_MISSES)
    _evidence(version="3.0.0").require_trusted(BLOB_MISSES)


def test_storage_is_required_only_when_given():
    with pytest.raises(EvidenceUnavailable, match="--mirror-storage"):
        _evidence().storage()


def test_counter_deltas_compare_two_readings():
    before = Counters({MANIFEST_MISSES: 1})
    assert Counters({MANIFEST_MISSES: 3}).minus(before) == {MANIFEST_MISSES: 2}


# -- mirror storage -------------------------------------------------------------------


def test_blob_files_are_found_where_distribution_stores_them(tmp_path):
    hex_digest = "ab" * 32
    data = tmp_path / "docker/registry/v2/blobs/sha256/ab" / hex_digest / "data"
    data.parent.mkdir(parents=True)
    data.write_bytes(b"layer")
    storage = MirrorStorage.from_url(str(tmp_path))
    storage.check_reachable()
    assert storage.has_blob(DIGEST)
    assert not storage.has_blob("sha256:" + "cd" * 32)


@pytest.mark.parametrize(
    ("url", "told"),
    [
        ("relative/path", "absolute path"),
        ("ssh://admin@storage1", "names no folder"),
        ("s3://bucket/registry", "unknown scheme"),
    ],
)
def test_an_unusable_storage_location_says_what_to_give(url, told):
    with pytest.raises(StorageError, match=told):
        MirrorStorage.from_url(url)


# -- dockerd's log --------------------------------------------------------------------


def test_logrus_stamps_read_as_epoch_seconds_whatever_the_zone():
    assert stamp_of('time="1970-01-01T00:01:00.5Z" level=info') == 60.5
    assert stamp_of('time="1970-01-01T01:01:00+01:00" level=info') == 60.0
    assert stamp_of("no stamp here") is None


def test_a_log_file_is_read_from_the_given_time_on_with_continuation_lines():
    text = (
        'time="1970-01-01T00:00:10Z" level=info msg="old"\n'
        'time="1970-01-01T00:00:20Z" level=info msg="new"\n'
        "  a continuation line\n"
    )
    assert lines_since(text, 15.0) == (
        'time="1970-01-01T00:00:20Z" level=info msg="new"\n  a continuation line\n'
    )


@dataclass
class _Ran:
    exit_code: int
    output: str


def _runner(answers: dict[str, _Ran]):
    calls = []

    def run(*argv: str, timeout: float = 0) -> _Ran:
        calls.append(argv)
        return answers.get(argv[0], _Ran(1, ""))

    return run, calls


def test_the_journal_is_read_first_with_since():
    run, calls = _runner({"journalctl": _Ran(0, "dockerd[1]: started")})
    reader = DaemonLogReader(run, where="node1")
    assert reader.read(since=100.0) == "dockerd[1]: started"
    assert calls[-1][-2:] == ("--since", "@100.000000")
    assert reader.describe() == "journalctl -u docker.service"


def test_without_a_journal_the_log_file_is_read():
    line = 'time="1970-01-01T00:00:20Z" level=info msg="x"\n'
    run, _ = _runner({"journalctl": _Ran(0, ""), "test": _Ran(0, ""), "cat": _Ran(0, line)})
    reader = DaemonLogReader(run, where="node1")
    assert reader.read(since=10.0) == line
    assert reader.describe() == "/var/log/docker.log"


def test_no_journal_and_no_file_says_where_it_looked():
    run, _ = _runner({"journalctl": _Ran(1, "No journal files were found.")})
    with pytest.raises(DaemonLogUnavailable, match=r"journal.*/var/log/docker.log"):
        DaemonLogReader(run, where="node1").read()


# -- image content --------------------------------------------------------------------


class _FakeResponse:
    def __init__(self, document: dict) -> None:
        self.status_code = 200
        self.content = json.dumps(document).encode()
        self.url = "https://mirror"
        self.text = ""


class _FakeSession:
    def __init__(self, documents: dict[str, dict]) -> None:
        self.documents = documents

    def get(self, url: str, **kwargs) -> _FakeResponse:
        return _FakeResponse(self.documents[url.rsplit("/", 1)[-1]])


def test_an_index_is_followed_to_the_nodes_platform():
    index = {
        "manifests": [
            {"digest": "arm", "platform": {"os": "linux", "architecture": "arm64"}},
            {"digest": "amd", "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    }
    manifest = {"config": {"digest": "c"}, "layers": [{"digest": "l1"}, {"digest": "l2"}]}
    client = RegistryClient(MIRROR, session=_FakeSession({"top": index, "amd": manifest}))
    platform = platform_of({"OSType": "linux", "Architecture": "x86_64"})
    assert blob_digests(client, "library/busybox", "top", platform) == ["c", "l1", "l2"]

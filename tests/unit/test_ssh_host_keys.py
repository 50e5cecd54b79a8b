"""ssh host keys judged as OpenSSH judges them: generated keys, temporary files, no network."""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from paramiko.hostkeys import HostKeys

from mirrorcheck.targets.nodes.host_keys import (
    AcceptAnyKey,
    HostKeyPolicy,
    HostKeyRefused,
    KnownHosts,
    Status,
    key_name,
    strict_mode,
)
from mirrorcheck.targets.nodes.node import NodeError
from mirrorcheck.targets.nodes.ssh import SshNode, _transport
from mirrorcheck.targets.nodes.ssh_config import SshConfigError, resolve_target

URL = "ssh://admin@node1:2222"
NAME = "[node1]:2222"


def new_key() -> paramiko.PKey:
    """A fresh ed25519 public key, as a server would offer it."""
    line = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    kind, blob = line.split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(blob))


def line(host: str, key: paramiko.PKey) -> str:
    return f"{host} {key.get_name()} {key.get_base64()}\n"


def known(tmp_path: Path, text: str, global_text: str = "") -> KnownHosts:
    user, system = tmp_path / "known_hosts", tmp_path / "ssh_known_hosts"
    user.write_text(text)
    system.write_text(global_text)
    return KnownHosts.load([str(user)], [str(system)])


# -- the name a key is filed under ---------------------------------------------------


def test_a_key_is_filed_under_the_host_on_port_22_and_host_port_in_brackets_elsewhere():
    assert key_name("node1", 22) == "node1"
    assert key_name("node1", 2222) == "[node1]:2222"
    assert key_name("node1", 2222, alias="lab-node") == "lab-node"


# -- what the known-hosts files say ----------------------------------------------------


def test_a_key_listed_for_the_host_is_known_plain_or_hashed(tmp_path):
    key = new_key()
    assert known(tmp_path, line(NAME, key)).judge(NAME, key).status is Status.KNOWN
    hashed = known(tmp_path, line(HostKeys.hash_host(NAME), key))
    assert hashed.judge(NAME, key).status is Status.KNOWN
    assert hashed.judge("[node2]:2222", key).status is Status.UNKNOWN


def test_a_key_for_port_22_does_not_vouch_for_another_port(tmp_path):
    key = new_key()
    assert known(tmp_path, line("node1", key)).judge(NAME, key).status is Status.UNKNOWN


def test_a_key_in_the_global_file_is_known_and_any_matching_line_wins(tmp_path):
    key, old = new_key(), new_key()
    files = known(tmp_path, line(NAME, old), global_text=line(NAME, key))
    assert files.judge(NAME, key).status is Status.KNOWN


def test_another_key_of_the_same_type_is_a_changed_key_with_its_line(tmp_path):
    key, old = new_key(), new_key()
    files = known(tmp_path, "# comment\n\n" + line(NAME, old))
    judgement = files.judge(NAME, key)
    assert judgement.status is Status.CHANGED
    assert judgement.entry is not None and judgement.entry.where.endswith("known_hosts:3")


def test_a_revoked_key_is_refused_even_when_listed(tmp_path):
    key = new_key()
    files = known(tmp_path, line(NAME, key) + "@revoked " + line(NAME, key))
    assert files.judge(NAME, key).status is Status.REVOKED


def test_unreadable_lines_and_missing_files_are_skipped(tmp_path):
    key = new_key()
    files = known(tmp_path, "garbage\nnode1 ssh-ed25519 !!!notbase64\n" + line(NAME, key))
    assert files.judge(NAME, key).status is Status.KNOWN
    nothing = KnownHosts.load([str(tmp_path / "absent")], [])
    assert nothing.judge(NAME, key).status is Status.UNKNOWN


# -- StrictHostKeyChecking -------------------------------------------------------------


def policy(files: KnownHosts, strict: str, hashed: bool = False) -> HostKeyPolicy:
    return HostKeyPolicy(files, strict, URL, NAME, hash_known_hosts=hashed)


@pytest.mark.parametrize("strict", ["yes", "ask", "true"])
def test_an_unknown_key_is_refused_by_yes_and_ask(tmp_path, strict):
    key = new_key()
    with pytest.raises(HostKeyRefused) as refused:
        policy(known(tmp_path, ""), strict).missing_host_key(None, NAME, key)
    message = str(refused.value)
    assert NAME in message and key.fingerprint in message and "not known" in message
    assert "ssh-keyscan -p 2222 -t ed25519 node1 >>" in message
    assert "--insecure-skip-host-key-check" in message


@pytest.mark.parametrize("strict", ["accept-new", "no", "off"])
def test_an_unknown_key_is_accepted_and_recorded_by_accept_new_and_no(tmp_path, strict):
    key = new_key()
    files = known(tmp_path, "")
    policy(files, strict).missing_host_key(None, NAME, key)
    again = KnownHosts.load(files.user_files, files.global_files)
    assert again.judge(NAME, key).status is Status.KNOWN
    assert (tmp_path / "known_hosts").read_text() == line(NAME, key)


def test_a_recorded_key_is_hashed_when_hash_known_hosts_says_so(tmp_path):
    key = new_key()
    files = known(tmp_path, "")
    policy(files, "accept-new", hashed=True).missing_host_key(None, NAME, key)
    text = (tmp_path / "known_hosts").read_text()
    assert text.startswith("|1|") and "node1" not in text
    assert KnownHosts.load(files.user_files, []).judge(NAME, key).status is Status.KNOWN


def test_a_key_is_recorded_in_a_new_private_folder(tmp_path):
    key = new_key()
    files = KnownHosts.load([str(tmp_path / "home/.ssh/known_hosts")], [])
    policy(files, "accept-new").missing_host_key(None, NAME, key)
    assert (tmp_path / "home/.ssh").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "home/.ssh/known_hosts").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("strict", ["yes", "ask", "accept-new", "no"])
def test_a_changed_key_is_refused_whatever_strict_host_key_checking_says(tmp_path, strict):
    key, old = new_key(), new_key()
    files = known(tmp_path, line(NAME, old))
    with pytest.raises(HostKeyRefused) as refused:
        policy(files, strict).missing_host_key(None, NAME, key)
    message = str(refused.value)
    assert "has CHANGED" in message and key.fingerprint in message and old.fingerprint in message
    assert f"ssh-keygen -R '{NAME}' -f {tmp_path / 'known_hosts'}" in message
    assert (tmp_path / "known_hosts").read_text() == line(NAME, old)  # nothing recorded


def test_the_known_key_passes_and_the_opt_out_takes_any(tmp_path):
    key = new_key()
    policy(known(tmp_path, line(NAME, key)), "yes").missing_host_key(None, NAME, key)
    AcceptAnyKey().missing_host_key(None, NAME, new_key())


def test_strict_host_key_checking_values_are_openssh_s():
    assert [strict_mode(v) for v in ("YES", "ask", "accept-new", "no", "off", None)] == [
        "yes",
        "ask",
        "accept-new",
        "no",
        "no",
        "ask",
    ]
    with pytest.raises(ValueError, match="maybe"):
        strict_mode("maybe")


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="OpenSSH's ssh-keygen is not here")
def test_the_fingerprint_is_the_one_ssh_keygen_prints(tmp_path):
    key = new_key()
    public = tmp_path / "key.pub"
    public.write_text(f"{key.get_name()} {key.get_base64()}\n")
    printed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(public)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed.split()[1] == key.fingerprint
    assert key.fingerprint.startswith("SHA256:") and not key.fingerprint.endswith("=")


def test_the_server_is_asked_first_for_the_key_types_known_hosts_holds():
    near, far = socket.socketpair()
    with near, far:
        transport = _transport(near, preferred=["ecdsa-sha2-nistp256", "ssh-rsa"])
        kinds = list(transport.get_security_options().key_types)
    assert kinds[:3] == ["ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"]
    # Reordered only: no key type paramiko does not offer is added.
    assert sorted(kinds) == sorted(paramiko.Transport._preferred_keys)


# -- ssh_config ------------------------------------------------------------------------


def config(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config"
    path.write_text(text)
    return [str(path)]


def test_a_host_alias_gives_host_name_port_user_identity_and_known_hosts(tmp_path):
    paths = config(
        tmp_path,
        "Host lab\n  HostName 10.0.0.5\n  Port 2200\n  User ops\n  IdentityFile ~/.ssh/lab\n"
        f"  UserKnownHostsFile {tmp_path}/kh none\n  GlobalKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking accept-new\n  HashKnownHosts yes\n",
    )
    target = resolve_target("ssh://lab", paths)
    assert (target.hostname, target.port, target.user) == ("10.0.0.5", 2200, "ops")
    assert target.identity_files[0].endswith("/.ssh/lab") and "~" not in target.identity_files[0]
    assert target.user_known_hosts == (f"{tmp_path}/kh",)
    assert target.global_known_hosts == ("/dev/null",)
    assert (target.strict, target.hash_known_hosts) == ("accept-new", True)
    assert target.known_hosts_name == "[10.0.0.5]:2200"
    # The URL's own user and port win, as on ssh's command line.
    given = resolve_target("ssh://root@lab:22", paths)
    assert (given.user, given.port, given.known_hosts_name) == ("root", 22, "10.0.0.5")


def test_included_files_are_read_in_place_at_the_top_level(tmp_path):
    (tmp_path / "config.d").mkdir()
    (tmp_path / "config.d" / "lab.conf").write_text("Host lab\n  HostName 10.0.0.5\n")
    (tmp_path / "config.d" / "other.conf").write_text("Host other\n  HostName 10.0.0.6\n")
    paths = config(
        tmp_path,
        "Include config.d/lab.conf missing.conf\nStrictHostKeyChecking yes\n"
        "Host other\n  Include config.d/other.conf\n  Port 2201\n",
    )
    lab = resolve_target("ssh://admin@lab", paths)
    assert (lab.hostname, lab.port, lab.strict) == ("10.0.0.5", 22, "yes")
    # An Include inside a Host block is OpenSSH's conditional inclusion: not followed.
    other = resolve_target("ssh://admin@other", paths)
    assert (other.hostname, other.port, other.strict) == ("other", 2201, "yes")


def test_without_a_config_the_defaults_are_openssh_s(tmp_path):
    target = resolve_target("ssh://admin@node1", [str(tmp_path / "absent")])
    assert (target.hostname, target.port, target.strict) == ("node1", 22, "ask")
    assert target.user_known_hosts[0].endswith("/.ssh/known_hosts")
    assert target.global_known_hosts[0] == "/etc/ssh/ssh_known_hosts"


def test_a_url_without_a_user_anywhere_names_the_form(tmp_path):
    with pytest.raises(ValueError, match="ssh://user@node1"):
        resolve_target("ssh://node1", [str(tmp_path / "absent")])


def test_a_broken_config_stops_the_node_with_the_file_named(tmp_path):
    paths = config(tmp_path, "Host lab\n  StrictHostKeyChecking maybe\n")
    with pytest.raises(SshConfigError, match="maybe"):
        resolve_target("ssh://admin@lab", paths)
    node = SshNode("ssh://admin@lab", config_paths=paths)
    assert "StrictHostKeyChecking 'maybe'" in node.startup_error
    unparsable = config(tmp_path, "Host lab\n  =broken\n")
    assert (
        str(tmp_path / "config")
        in SshNode("ssh://admin@lab", config_paths=unparsable).startup_error
    )


# -- a node over a real ssh connection (an in-process paramiko server on loopback) -----


class CommandEcho(paramiko.ServerInterface):
    """Takes any public key; each command answers ``ran: <command>`` and exits 0."""

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel, command):
        channel.sendall(b"ran: " + command)
        channel.send_exit_status(0)
        channel.shutdown_write()
        return True


@pytest.fixture
def server():
    """An ssh server on 127.0.0.1 with its own host key: (port, host key)."""
    host_key = paramiko.ECDSAKey.generate()
    listener = socket.create_server(("127.0.0.1", 0))
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(connection)
            transport.add_server_key(host_key)
            transports.append(transport)
            try:
                transport.start_server(server=CommandEcho())
            except (paramiko.SSHException, EOFError, OSError):
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], host_key
    listener.close()
    for transport in transports:
        transport.close()


def ssh_node(tmp_path, monkeypatch, port, known_text, strict="ask", skip=False) -> SshNode:
    """A node for the local server, with its own HOME, known_hosts and identity; no agent."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    (tmp_path / "known_hosts").write_text(known_text)
    identity = tmp_path / "id"
    paramiko.ECDSAKey.generate().write_private_key_file(str(identity))
    paths = config(
        tmp_path,
        f"Host local\n  HostName 127.0.0.1\n  UserKnownHostsFile {tmp_path}/known_hosts\n"
        f"  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking {strict}\n",
    )
    return SshNode(
        f"ssh://admin@local:{port}",
        identity_file=str(identity),
        skip_host_key_check=skip,
        config_paths=paths,
    )


def test_a_node_with_its_known_key_runs_commands_bounded_and_quoted(server, tmp_path, monkeypatch):
    port, host_key = server
    node = ssh_node(tmp_path, monkeypatch, port, line(f"[127.0.0.1]:{port}", host_key))
    try:
        result = node.run("echo", "two words")
    finally:
        node.close()
    assert result.ok
    assert result.output == "ran: timeout -k 5 120 echo 'two words'"


def test_a_node_with_a_changed_key_is_stopped_before_any_command(server, tmp_path, monkeypatch):
    port, host_key = server
    impostor = paramiko.ECDSAKey.generate()
    node = ssh_node(tmp_path, monkeypatch, port, line(f"[127.0.0.1]:{port}", impostor), "no")
    with pytest.raises(NodeError) as stopped:
        node.run("docker", "version")
    message = str(stopped.value)
    assert message.startswith(f"ssh://admin@local:{port}: the ssh host key of [127.0.0.1]:")
    assert "has CHANGED" in message and host_key.fingerprint in message
    assert "Traceback" not in message


def test_an_unknown_key_is_recorded_by_accept_new_and_then_known(server, tmp_path, monkeypatch):
    port, host_key = server
    node = ssh_node(tmp_path, monkeypatch, port, "", "accept-new")
    try:
        assert node.run("true").ok
    finally:
        node.close()
    recorded = KnownHosts.load([str(tmp_path / "known_hosts")], [])
    assert recorded.judge(f"[127.0.0.1]:{port}", host_key).status is Status.KNOWN


def test_the_opt_out_connects_whatever_the_key_and_writes_nothing(server, tmp_path, monkeypatch):
    port, _ = server
    stale = line(f"[127.0.0.1]:{port}", paramiko.ECDSAKey.generate())
    node = ssh_node(tmp_path, monkeypatch, port, stale, skip=True)
    try:
        assert node.run("true").ok
    finally:
        node.close()
    assert (tmp_path / "known_hosts").read_text() == stale

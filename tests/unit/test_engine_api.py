"""curl on a node's socket asks dockerd what the docker CLI asks, and reads as the CLI prints."""

from __future__ import annotations

import json

from mirrorcheck.targets.nodes.engine_api import (
    image_path,
    pull_argv,
    read_answer,
    read_pull,
    remove_argv,
    request_argv,
)


def _stream(*messages: dict) -> str:
    return "".join(json.dumps(m) + "\r\n" for m in messages)


def test_a_pull_by_tag_sends_the_name_and_the_tag_as_the_cli_does():
    argv = pull_argv("mirror.test/team/app:v1")
    assert argv[-1] == "http://docker/images/create?fromImage=mirror.test%2Fteam%2Fapp&tag=v1"
    assert argv[argv.index("-X") + 1] == "POST"
    assert argv[argv.index("--unix-socket") + 1] == "/var/run/docker.sock"


def test_a_pull_without_a_tag_asks_for_latest_not_every_tag():
    # The Engine API pulls every tag of a repository when tag is empty (docker pull -a).
    assert pull_argv("registry.local:5000/app")[-1].endswith(
        "fromImage=registry.local%3A5000%2Fapp&tag=latest"
    )


def test_a_pull_by_digest_sends_the_digest_as_the_tag():
    argv = pull_argv("team/app@sha256:" + "a" * 64)
    assert argv[-1].endswith("fromImage=team%2Fapp&tag=sha256%3A" + "a" * 64)


def test_image_paths_keep_slashes_colons_and_the_digest_sign():
    assert image_path("mirror.test/a/b@sha256:ff") == "/images/mirror.test/a/b@sha256:ff"
    assert image_path("a b") == "/images/a%20b"


def test_removal_asks_for_every_reference_in_one_shell():
    argv = remove_argv(("a:v1", "a@sha256:ff"))
    assert argv[:2] == ["sh", "-c"] and argv[3] == "/var/run/docker.sock"
    assert argv[4:] == [
        "http://docker/images/a:v1?force=1",
        "http://docker/images/a@sha256:ff?force=1",
    ]


def test_the_status_is_read_from_the_last_line():
    answer = read_answer(0, '{"ID":"x"}\n200')
    assert answer.ok and answer.status == 200 and answer.body == '{"ID":"x"}'
    assert read_answer(0, '{"message":"No such image: a"}\n404').status == 404


def test_no_daemon_answering_says_so_with_curls_words():
    answer = read_answer(7, "curl: (7) Failed to connect to docker port 80\n000")
    assert not answer.ok and answer.status == 0
    assert answer.daemon_message().startswith("Cannot connect to the Docker daemon at unix://")
    assert "curl: (7)" in answer.daemon_message()


def test_a_command_stopped_by_its_time_limit_says_so():
    answer = read_answer(124, "")
    assert "within the time limit" in answer.daemon_message()


def test_a_refusal_reads_as_the_cli_prints_it():
    body = json.dumps({"message": "manifest for mirror.test/a:v1 not found: manifest unknown"})
    pulled = read_pull(0, body + "\n404")
    assert not pulled.ok and pulled.digest == ""
    assert pulled.output == (
        "Error response from daemon: manifest for mirror.test/a:v1 not found: manifest unknown"
    )


def test_a_pull_reads_as_status_lines_with_its_digest():
    body = _stream(
        {"status": "Pulling from team/app", "id": "v1"},
        {"status": "Pulling fs layer", "id": "abc"},
        {
            "status": "Downloading",
            "id": "abc",
            "progress": "[=>  ]",
            "progressDetail": {"current": 1},
        },
        {"status": "Pull complete", "id": "abc"},
        {"status": "Digest: sha256:" + "b" * 64},
        {"status": "Status: Downloaded newer image for mirror.test/team/app:v1"},
    )
    pulled = read_pull(0, body + "200")
    assert pulled.ok and pulled.digest == "sha256:" + "b" * 64
    assert pulled.output.splitlines() == [
        "v1: Pulling from team/app",
        "abc: Pulling fs layer",
        "abc: Pull complete",
        "Digest: sha256:" + "b" * 64,
        "Status: Downloaded newer image for mirror.test/team/app:v1",
    ]


def test_an_error_midway_fails_the_pull_with_its_message():
    body = _stream(
        {"status": "Pulling from team/app", "id": "v1"},
        {"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"},
    )
    pulled = read_pull(0, body + "200")
    assert not pulled.ok and pulled.output.splitlines()[-1] == "unexpected EOF"


def test_request_argv_puts_the_status_after_the_body():
    argv = request_argv("GET", "/info")
    assert argv[argv.index("-w") + 1] == "\n%{http_code}" and argv[-1] == "http://docker/info"

"""Where no shell can be kept in a container, each command gets its own exec."""

from __future__ import annotations

from types import SimpleNamespace

import docker.errors

from mirrorcheck.targets.nodes.docker_exec import DockerExecNode


class FakeApi:
    def __init__(self, fail_create: bool) -> None:
        self.fail_create = fail_create
        self.creates = 0

    def exec_create(self, *args, **kwargs):
        self.creates += 1
        if self.fail_create:
            raise docker.errors.APIError("container not running")
        return {"Id": "exec-1"}

    def exec_start(self, *args, **kwargs):
        return object()  # an engine transport that gives no socket


class FakeContainer:
    def __init__(self, fail_create: bool) -> None:
        self.id = "c0ffee"
        self.name = "fake"
        self.client = SimpleNamespace(api=FakeApi(fail_create))
        self.execs: list[list[str]] = []

    def exec_run(self, command, demux=False):
        self.execs.append(command)
        return 0, b"ran\n"


def test_a_transport_without_a_socket_runs_every_command_with_its_own_exec():
    container = FakeContainer(fail_create=False)
    node = DockerExecNode(container)
    assert node.run("true", timeout=7).output == "ran\n"
    assert node.run("true").ok
    assert container.execs[0] == ["timeout", "-k", "5", "7", "true"]
    assert len(container.execs) == 2
    assert container.client.api.creates == 1  # not asked again: no shell ever will be


def test_an_exec_that_cannot_start_is_tried_again_for_the_next_command():
    container = FakeContainer(fail_create=True)
    node = DockerExecNode(container)
    node.run("true")
    node.run("true")
    assert len(container.execs) == 2
    assert container.client.api.creates == 2  # a container starting: a shell may come later

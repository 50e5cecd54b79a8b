"""The swarm lab's start: its timeline, the image loads' command, steps that wait for others."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mirrorcheck.targets.lab.swarm.image_archives import archive_cache, load_command
from mirrorcheck.targets.lab.swarm.links import when_done
from mirrorcheck.targets.lab.timeline import Timeline


def test_the_timeline_gives_each_step_its_start_and_end_in_start_order():
    timeline = Timeline(origin=100.0)
    timeline.add("later", 103.0, 104.5)
    timeline.add("first", 100.0, 102.25)
    assert timeline.rows() == {"first": [0.0, 2.25], "later": [3.0, 4.5]}


def test_a_span_is_recorded_when_its_step_fails():
    timeline = Timeline()
    with pytest.raises(RuntimeError), timeline.span("broken"):
        raise RuntimeError("no")
    start, end = timeline.rows()["broken"]
    assert 0 <= start <= end


def test_restart_forgets_what_was_recorded():
    timeline = Timeline()
    timeline.add("old", time.monotonic())
    timeline.restart()
    assert timeline.rows() == {}


def test_a_node_loads_its_archives_then_tags_each_image_in_one_command():
    command = load_command(
        ["/srv/cache/ab12.tar", "/srv/images/registry.tar"],
        {"registry:2": "mirrorcheck/reg:abc", "traefik:v3.7": "sha256:ab12"},
    )
    assert command[:2] == ["sh", "-c"]
    assert command[2].split(" && ") == [
        "docker load -q -i /srv/cache/ab12.tar",
        "docker load -q -i /srv/images/registry.tar",
        "docker tag mirrorcheck/reg:abc registry:2",
        "docker tag sha256:ab12 traefik:v3.7",
    ]


def test_names_are_quoted_for_the_shell():
    command = load_command(["/srv/my images/a.tar"], {"x:1": "y:2"})
    assert "'/srv/my images/a.tar'" in command[2]


def test_a_step_runs_only_after_what_it_needs():
    order: list[str] = []
    release = threading.Event()
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(lambda: (release.wait(5), order.append("first")))
        second = when_done(pool, [first], lambda: order.append("second"))
        time.sleep(0.05)
        assert order == []
        release.set()
        second.result(timeout=5)
    assert order == ["first", "second"]


def test_a_step_whose_need_failed_does_not_run_and_carries_that_error():
    ran: list[str] = []

    def broken() -> None:
        raise ValueError("the swarm did not form")

    with ThreadPoolExecutor(max_workers=2) as pool:
        need = pool.submit(broken)
        step = when_done(pool, [need], lambda: ran.append("step"))
        with pytest.raises(ValueError, match="did not form"):
            step.result(timeout=5)
    assert ran == []


def test_the_archive_cache_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert archive_cache() == tmp_path / "mirrorcheck" / "image-archives"
    assert archive_cache().is_dir()


def test_no_archive_cache_where_it_cannot_be_made(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert archive_cache() is None

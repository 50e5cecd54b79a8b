"""Where the lab's images come from, for each role (registry, node, proxy).

Resolution order per role, first match wins:

1. an explicit override (``--registry-image`` / ``MIRRORCHECK_REGISTRY_IMAGE`` ...),
2. an image already present locally (the official one, else the recipe's build),
3. a pull of the official image with a short bound (``registry:2``; for the
   built roles, a Debian slim base to build on),
4. a build from the recipe in ``recipes/<role>/`` with Debian packages, on a base
   made by debootstrap + ``docker import`` when no base image can be pulled.

Built images are tagged with a hash of their recipe, so a changed recipe
rebuilds and an unchanged one is reused.

Usage::

    import docker
    from mirrorcheck.targets.lab.images.supply import ImageSupply

    supply = ImageSupply(docker.from_env(), progress=print)
    images = supply.resolve_all()          # {"registry": "mirrorcheck/registry:3f2a...", ...}
    print(images["node"])
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from mirrorcheck.targets.lab.images.locking import exclusive_lock
from mirrorcheck.targets.lab.labels import IMAGE_LABELS

RECIPES = Path(__file__).parent / "recipes"
ROLES = ("registry", "node", "proxy")
BASE_ROLE = "base"
DEBIAN_SUITE = "bookworm"


class ImageSupplyError(RuntimeError):
    """No image could be had for a role; the message says what was tried and the fix."""


@dataclass(frozen=True)
class RoleSource:
    """Where a role's image may come from, besides its recipe."""

    role: str
    override_env: str
    official: str | None  # an upstream image with the same contract, if there is one


ROLE_SOURCES: Mapping[str, RoleSource] = {
    # The official registry:2 is what the reference deployment runs; the recipe
    # builds the same software (distribution 2.8) from Debian's docker-registry.
    "registry": RoleSource("registry", "MIRRORCHECK_REGISTRY_IMAGE", "registry:2"),
    # docker:dind needs --privileged and does not remount cgroups (FINDINGS.md):
    # no official image fits the node role.
    "node": RoleSource("node", "MIRRORCHECK_NODE_IMAGE", None),
    "proxy": RoleSource("proxy", "MIRRORCHECK_PROXY_IMAGE", None),
}
OFFICIAL_BASE = "debian:bookworm-slim"


@dataclass
class Resolution:
    """How a role's image was found: the tag and the step that found it."""

    role: str
    image: str
    how: str  # override | local | pulled | built
    attempts: list[str] = field(default_factory=list)


def recipe_digest(role: str, base: str) -> str:
    """A short hash over the recipe's files and the base it builds on."""
    hasher = hashlib.sha256(base.encode())
    recipe_dir = RECIPES / role
    for path in sorted(recipe_dir.rglob("*")):
        if path.is_file():
            hasher.update(str(path.relative_to(recipe_dir)).encode())
            hasher.update(path.read_bytes())
    return hasher.hexdigest()[:12]


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


class ImageSupply:
    """Finds or builds one image per role; see the module docstring for the order."""

    def __init__(
        self,
        client: docker.DockerClient,
        overrides: Mapping[str, str] | None = None,
        progress: Callable[[str], None] | None = None,
        pull_timeout: float = 30.0,
        allow_pull: bool = True,
        allow_build: bool = True,
    ) -> None:
        self.client = client
        self.overrides = {
            role: value
            for role, value in {
                **{r: os.environ.get(s.override_env, "") for r, s in ROLE_SOURCES.items()},
                **(overrides or {}),
            }.items()
            if value
        }
        self.progress = progress or (lambda text: print(text, file=sys.stderr, flush=True))
        self.pull_timeout = pull_timeout
        self.allow_pull = allow_pull
        self.allow_build = allow_build
        self._base: str | None = None

    # -- public -------------------------------------------------------------

    def resolve_all(self) -> dict[str, str]:
        """Every role's image tag, finding or building what is missing."""
        return {role: self.resolve(role).image for role in ROLES}

    def resolve(self, role: str) -> Resolution:
        """One role's image, following the resolution order."""
        source = ROLE_SOURCES[role]
        resolution = Resolution(role=role, image="", how="")
        if role in self.overrides:
            image = self.overrides[role]
            if not self._present(image) and not self._pull(image, resolution):
                raise ImageSupplyError(
                    f"{role} image override {image!r} (from --{role}-image or "
                    f"{source.override_env}) is neither present locally nor pullable. "
                    f"Fix: build or load it (docker load), or unset the override."
                )
            return self._found(resolution, image, "override")
        # Serialise with other processes (xdist workers, parallel CI jobs) so
        # that one builds and the others reuse.
        with exclusive_lock(f"images-{role}"):
            if source.official and self._present(source.official):
                return self._found(resolution, source.official, "local")
            resolution.attempts.append(f"local {source.official or '-'}: absent")
            built_tag = self._local_build_tag(role)
            if built_tag:
                return self._found(resolution, built_tag, "local")
            if source.official and self._pull(source.official, resolution):
                return self._found(resolution, source.official, "pulled")
            return self._found(resolution, self._build(role, resolution), "built")

    def base_image(self) -> str:
        """The Debian image recipes build on: local, pulled, or made with debootstrap."""
        if self._base:
            return self._base
        with exclusive_lock("images-base"):
            resolution = Resolution(role=BASE_ROLE, image="", how="")
            if self._present(OFFICIAL_BASE):
                self._base = OFFICIAL_BASE
            else:
                tag = f"mirrorcheck/base:{DEBIAN_SUITE}-{self._base_digest()}"
                if self._present(tag):
                    self._base = tag
                elif self.allow_pull and self._pull(OFFICIAL_BASE, resolution):
                    self._base = OFFICIAL_BASE
                else:
                    self._base = self._debootstrap_base(tag, resolution)
        return self._base

    # -- steps --------------------------------------------------------------

    def _found(self, resolution: Resolution, image: str, how: str) -> Resolution:
        resolution.image, resolution.how = image, how
        return resolution

    def _present(self, image: str) -> bool:
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            return False
        return True

    def _local_build_tag(self, role: str) -> str | None:
        """The recipe's build for any base we could use, if one is present."""
        candidates = [OFFICIAL_BASE, f"mirrorcheck/base:{DEBIAN_SUITE}-{self._base_digest()}"]
        for base in candidates:
            tag = f"mirrorcheck/{role}:{recipe_digest(role, base)}"
            if self._present(tag):
                return tag
        return None

    def _pull(self, image: str, resolution: Resolution) -> bool:
        """Pull with a bound: a registry that hangs must not hang the run."""
        if not self.allow_pull:
            resolution.attempts.append(f"pull {image}: disabled")
            return False
        outcome: dict[str, BaseException | None] = {"error": None}

        def pull() -> None:
            try:
                self.client.images.pull(image)
            except BaseException as error:  # reported below, in the caller's thread
                outcome["error"] = error

        self.progress(f"[images] pulling {image} (at most {self.pull_timeout:.0f} s)")
        worker = threading.Thread(target=pull, daemon=True)
        worker.start()
        worker.join(self.pull_timeout)
        if worker.is_alive():
            resolution.attempts.append(f"pull {image}: no answer in {self.pull_timeout:.0f} s")
            return False
        if outcome["error"] is not None:
            first_line = str(outcome["error"]).splitlines()[0][:200]
            resolution.attempts.append(f"pull {image}: {first_line}")
            self.progress(f"[images] pull of {image} failed: {first_line}")
            return False
        return True

    def _build(self, role: str, resolution: Resolution) -> str:
        if not self.allow_build:
            raise ImageSupplyError(self._nothing_worked(role, resolution, "building is disabled"))
        base = self.base_image()
        tag = f"mirrorcheck/{role}:{recipe_digest(role, base)}"
        self.progress(f"[images] building {tag} from recipes/{role} on {base}")
        try:
            for chunk in self.client.api.build(
                path=str(RECIPES / role),
                tag=tag,
                buildargs={"BASE": base},
                labels=dict(IMAGE_LABELS),
                rm=True,
                forcerm=True,
                decode=True,
            ):
                if "error" in chunk:
                    raise ImageSupplyError(
                        self._nothing_worked(
                            role,
                            resolution,
                            f"build of recipes/{role} failed: {chunk['error'].strip()}. Fix: "
                            "the recipe installs Debian packages, so `docker build` must reach "
                            f"the Debian mirror ({debian_mirror_uri()}) on the default bridge "
                            "network; or give a ready image with "
                            f"{ROLE_SOURCES[role].override_env}",
                        )
                    )
                line = (chunk.get("stream") or "").rstrip()
                if line.startswith("Step ") or line.startswith("Successfully"):
                    self.progress(f"[images] {role}: {line}")
        except docker.errors.APIError as error:
            raise ImageSupplyError(self._nothing_worked(role, resolution, str(error))) from None
        return tag

    def _base_digest(self) -> str:
        hasher = hashlib.sha256(DEBIAN_SUITE.encode())
        hasher.update((RECIPES / BASE_ROLE / "make-rootfs.sh").read_bytes())
        hasher.update(host_apt_sources())
        return hasher.hexdigest()[:12]

    def _debootstrap_base(self, tag: str, resolution: Resolution) -> str:
        if shutil.which("debootstrap") is None:
            raise ImageSupplyError(
                self._nothing_worked(
                    BASE_ROLE,
                    resolution,
                    "debootstrap is not installed. Fix: apt-get install debootstrap "
                    f"(or make {OFFICIAL_BASE} available: docker load / a reachable registry)",
                )
            )
        if os.geteuid() != 0:
            raise ImageSupplyError(
                self._nothing_worked(
                    BASE_ROLE,
                    resolution,
                    "debootstrap needs root. Fix: run as root once, "
                    "or pre-build the images with `mirrorcheck images build` as root",
                )
            )
        mirror = debian_mirror_uri()
        self.progress(
            f"[images] making a Debian {DEBIAN_SUITE} base with debootstrap from {mirror}"
        )
        with tempfile.TemporaryDirectory(prefix="mirrorcheck-rootfs-") as workdir:
            rootfs = Path(workdir) / "rootfs"
            script = RECIPES / BASE_ROLE / "make-rootfs.sh"
            done = subprocess.run(
                ["sh", str(script), str(rootfs), DEBIAN_SUITE, mirror],
                capture_output=True,
                text=True,
                timeout=900,
            )
            if done.returncode != 0:
                tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
                raise ImageSupplyError(
                    self._nothing_worked(
                        BASE_ROLE,
                        resolution,
                        f"debootstrap from {mirror} failed:\n{tail}\nFix: make Debian's "
                        "package mirror reachable (see /etc/apt/sources.list.d)",
                    )
                )
            archive = Path(workdir) / "rootfs.tar"
            subprocess.run(
                ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(archive), "."],
                check=True,
                timeout=300,
            )
            repository, _, version = tag.partition(":")
            self.client.api.import_image_from_file(str(archive), repository=repository, tag=version)
        self.progress(f"[images] base ready: {tag}")
        return tag

    def _nothing_worked(self, role: str, resolution: Resolution, last: str) -> str:
        tried = "".join(f"\n  - {attempt}" for attempt in resolution.attempts)
        return f"no {role} image could be had. Tried:{tried}\n  - {last}"


def engine_or_explain(client_factory: Callable[[], docker.DockerClient] = docker.from_env):
    """A Docker client, or an ImageSupplyError saying how to get an engine."""
    try:
        client = client_factory()
        client.ping()
    except Exception as error:  # any failure means: no usable engine
        raise ImageSupplyError(
            f"no Docker engine answers ({str(error).splitlines()[0][:160]}). Fix: start one "
            "(`dockerd &` as root, or `systemctl start docker`), or on Debian/Ubuntu run "
            "`./run` which installs docker.io and starts dockerd; set DOCKER_HOST for a "
            "remote engine."
        ) from None
    return client

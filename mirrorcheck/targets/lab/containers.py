"""Starting the lab's containers: labelled, on the lab network, files copied in before start.

A thin layer over testcontainers' ``DockerContainer`` (which copies files in
between create and start, so a daemon never starts without its config) that
adds the run's labels and returns the docker-py container.

Usage::

    spec = ContainerSpec(image="mirrorcheck/registry:abc", name="mc-1-upstream",
                         role="upstream", aliases=["upstream"],
                         files={"/etc/docker/registry/config.yml": b"..."})
    container = start_container(spec, network_name, labels)
    exit_report(container)    # None while it runs; "<name> exited:\n<log tail>" once stopped
"""

from __future__ import annotations

from dataclasses import dataclass, field

from docker.models.containers import Container
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer

from mirrorcheck.targets.lab.labels import RunLabels

# Ryuk, testcontainers' reaper, is an image that cannot be pulled offline; the
# lab labels everything and sweeps by label instead (see sweeper.py).
testcontainers_config.ryuk_disabled = True
LOG_TAIL_LINES = 15


@dataclass
class ContainerSpec:
    """What one lab container is: image, name, role, aliases, files and engine options."""

    image: str
    name: str
    role: str
    aliases: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    tmpfs: dict[str, str] = field(default_factory=dict)  # path -> size ("" = unbounded)
    volumes: dict[str, str] = field(default_factory=dict)  # named volume -> path
    command: list[str] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    engine_options: dict[str, object] = field(default_factory=dict)


def start_container(spec: ContainerSpec, network, labels: RunLabels) -> Container:
    """Create, copy files in, start; returns the running docker-py container.

    ``network`` is a testcontainers ``Network``. A container that fails to
    start is removed before the error propagates (docker-py would leave it).
    """
    wrapper = DockerContainer(spec.image).with_name(spec.name).with_network(network)
    if spec.aliases:
        wrapper.with_network_aliases(*spec.aliases)
    if spec.command is not None:
        wrapper.with_command(spec.command)
    for path, size in spec.tmpfs.items():
        wrapper.with_tmpfs_mount(path, size or None)
    for volume, path in spec.volumes.items():
        wrapper.with_volume_mapping(volume, path, "rw")
    for path, content in spec.files.items():
        wrapper.with_copy_into_container(content, path)
    for key, value in spec.environment.items():
        wrapper.with_env(key, value)
    # with_kwargs replaces what it was given before: everything else goes in one call.
    wrapper.with_kwargs(labels=labels.as_dict(spec.role), **spec.engine_options)
    try:
        wrapper.start()
    except BaseException:
        created = wrapper._container
        if created is not None:
            created.remove(force=True, v=True)
        raise
    return wrapper.get_wrapped_container()


def container_ip(container: Container, network_name: str) -> str:
    """The container's address on the lab network (the host reaches it there)."""
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"][network_name]["IPAddress"]


def exit_report(container: Container, lines: int = LOG_TAIL_LINES) -> str | None:
    """``"<name> exited:\\n<log tail>"`` once the container has stopped, else None."""
    container.reload()
    if container.status in ("exited", "dead"):
        tail = "\n".join(container.logs().decode(errors="replace").splitlines()[-lines:])
        return f"{container.name} exited:\n{tail}"
    return None

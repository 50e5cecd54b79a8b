"""How a Docker-in-Docker node may run on this host: --privileged where it works.

Some hosts refuse ``--privileged`` ("unable to apply caps: operation not
permitted": the bounding set lacks CAP_SYS_RESOURCE). There the explicit form
works: every capability but SYS_RESOURCE, seccomp and AppArmor unconfined; the
node's entrypoint then remounts /sys, /proc/sys and the cgroups read-write.
The answer is found once per engine by starting a throw-away container.

``MIRRORCHECK_NODE_PRIVILEGED=1`` or ``=0`` forces the choice.

Usage::

    options = node_engine_options(client, "mirrorcheck/node:abc")
    client.containers.run(image, **options)
"""

from __future__ import annotations

import os
import threading

import docker
import docker.errors

from mirrorcheck.targets.lab.labels import RunLabels

PRIVILEGED = {"privileged": True}
EXPLICIT_CAPS = {
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
}

_decided: dict[str, dict[str, object]] = {}
_lock = threading.Lock()


def privileged_works(client: docker.DockerClient, image: str) -> bool:
    """Start ``true`` in a privileged container and see whether the engine allows it."""
    labels = RunLabels.for_this_process().as_dict("privilege-probe")
    container = client.containers.create(image, entrypoint=["true"], labels=labels, **PRIVILEGED)
    try:
        container.start()
        return container.wait(timeout=30).get("StatusCode") == 0
    except docker.errors.APIError:
        return False
    finally:
        container.remove(force=True, v=True)


def node_engine_options(client: docker.DockerClient, image: str) -> dict[str, object]:
    """The engine options a node container needs on this host (decided once per engine)."""
    forced = os.environ.get("MIRRORCHECK_NODE_PRIVILEGED", "")
    if forced in ("0", "1"):
        return dict(PRIVILEGED if forced == "1" else EXPLICIT_CAPS)
    key = client.api.base_url
    with _lock:
        if key not in _decided:
            _decided[key] = PRIVILEGED if privileged_works(client, image) else EXPLICIT_CAPS
        return dict(_decided[key])

"""Throwaway nodes: a check's node of its own beside the lab's, started ahead of the check.

Two checks start a node of their own: a node that lacks the mirror's CA (the
nodes verify the mirror's TLS), and an oracle node that runs the file under
test to hear dockerd's verdict on it. Each starts in about 2 s, which the
check used to wait for; a check marked ``lab_node(<name>)`` now has its node
started by the lab while other checks run (``Lab.start_aside``), and
``Lab.add_nodes`` hands it over when the check asks for the same spec.

Usage::

    lab.start_aside([THROWAWAY["node-without-ca"](lab.spec)])   # at the lab's start
    (node,) = lab.add_nodes([without_ca_spec(lab.spec)])        # in the check: ready at once
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mirrorcheck.targets.lab.nodes import NodeSpec
from mirrorcheck.targets.lab.spec import LabSpec

WITHOUT_CA = "node-without-ca"
ORACLE = "daemon-json-oracle"
MARKER = (
    "lab_node(name): the check starts a throwaway node of its own (node-without-ca, "
    "daemon-json-oracle); the lab starts it ahead, while other checks run"
)


def without_ca_spec(spec: LabSpec) -> NodeSpec:
    """A node like the first, running the file under test, without the mirror's CA."""
    first = spec.node_specs()[0]
    return NodeSpec(WITHOUT_CA, first.daemon_json, trust_ca=False, image_store=first.image_store)


def oracle_spec(daemon_json: bytes) -> NodeSpec:
    """A node that runs ``daemon_json`` (the file under test, its FQDN filled) as it is."""
    return NodeSpec(ORACLE, daemon_json)


# Each throwaway node by name, as the lab makes it from its own spec.
THROWAWAY: Mapping[str, Callable[[LabSpec], NodeSpec]] = {
    WITHOUT_CA: without_ca_spec,
    ORACLE: lambda spec: oracle_spec(spec.node_specs()[0].daemon_json),
}

"""Every rule on containerd ``hosts.toml`` files beside a daemon.json, declared once.

With the containerd image store, dockerd reads
``/etc/docker/certs.d/<host>/hosts.toml`` and, for Docker Hub, merges the
daemon.json ``registry-mirrors`` only when that file yields a single host
(``mirrorcheck.versions.HOSTS_TOML``). A ``[host]`` section in Docker Hub's
hosts.toml therefore makes the mirrors silently ignored.

Usage::

    from mirrorcheck.rules.hosts_toml.catalog import OVERRIDES_MIRRORS, RULES

    RULES["hosts-toml/overrides-mirrors"] is OVERRIDES_MIRRORS   # True
"""

from __future__ import annotations

from mirrorcheck.findings import Rule, Severity, rule_table

_SUITE = "suites/test_hosts_toml.py"
GATES = (f"{_SUITE}::test_node_hosts_toml_keeps_the_daemon_json_mirrors",)
"""The suite check that fails on every error finding of these rules."""

OVERRIDES_MIRRORS = Rule(
    "hosts-toml/overrides-mirrors",
    Severity.ERROR,
    "Docker Hub's hosts.toml has a [host] section: on the containerd store dockerd "
    "ignores the daemon.json registry-mirrors",
    fix="remove the [host] sections (keep only `server`) or the whole file, and list the "
    "mirror in daemon.json registry-mirrors",
    gated_by=GATES,
)
INVALID_TOML = Rule(
    "hosts-toml/invalid-toml",
    Severity.ERROR,
    "the file is not valid TOML: containerd cannot read it",
    fix="correct the TOML at the position shown (containerd docs/hosts.md gives the format)",
    gated_by=GATES,
)
UNREADABLE = Rule(
    "hosts-toml/unreadable",
    Severity.ERROR,
    "the file cannot be read (not UTF-8, a directory, no permission)",
    fix="save it as UTF-8 and make it readable by root",
    gated_by=GATES,
)

RULES = rule_table(OVERRIDES_MIRRORS, INVALID_TOML, UNREADABLE)

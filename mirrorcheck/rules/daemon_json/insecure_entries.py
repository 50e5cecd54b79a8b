"""daemon.json's insecure-registries: each entry as dockerd reads it, and a mirror under one.

An entry must be ``host[:port]`` or a CIDR (a scheme is stripped with a
warning); dockerd refuses to start on anything else. A mirror listed by name,
inside a listed CIDR or on a loopback address (127.0.0.0/8 is always
insecure) is used without certificate checks: the one rule
``daemon-json/mirror-insecure``, decided by
:func:`mirrorcheck.rules.daemon_json.insecure_registries.insecure_match` as
for a running daemon.

Usage::

    from mirrorcheck.rules.daemon_json.document import DocumentRules
    from mirrorcheck.rules.daemon_json.insecure_entries import check_mirror_insecure, read_entries

    rules = DocumentRules(doc)
    entries = read_entries(rules)          # findings on bad entries go to rules.issues
    check_mirror_insecure(rules, item, url, entries)   # item: the registry-mirrors JsonNode

Sources (moby/moby): ``registry/config.go`` (LoadInsecureRegistries,
validateHostPort, isSecureIndex).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mirrorcheck.rules.daemon_json import catalog
from mirrorcheck.rules.daemon_json.document import DocumentRules
from mirrorcheck.rules.daemon_json.insecure_registries import Network, insecure_match
from mirrorcheck.text.go_url import GoURL
from mirrorcheck.text.hostport import ip_of, split_host_port
from mirrorcheck.text.json_positions import JsonNode

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
"""dockerd adds this range to the insecure ones whatever daemon.json says
(moby registry/config.go loadInsecureRegistries)."""

_DOMAIN = re.compile(
    r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?"
)


@dataclass(frozen=True)
class InsecureEntry:
    """One usable insecure-registries entry: its node, its text without scheme, its range."""

    node: JsonNode
    text: str
    network: Network | None


def valid_host_port(text: str) -> bool:
    """moby validateHostPort: a reference.DomainRegexp match or an IP, and a port <= 65535."""
    host, port = split_host_port(text)
    if not _DOMAIN.fullmatch(text) and ip_of(host) is None:
        return False
    return not port or (port.isdigit() and int(port) <= 65535)


def read_entries(rules: DocumentRules) -> list[InsecureEntry]:
    """The usable insecure-registries entries; a finding on ``rules`` for each bad one."""
    member = rules.doc.member("insecure-registries")
    if member is None or member.value.kind != "array":
        return []
    entries = []
    for item in member.value.items:
        if item.kind != "string":
            continue
        raw: str = item.value
        text = raw
        if raw.lower().startswith(("http://", "https://")):
            text = raw.split("://", 1)[1]
            rules.add(
                catalog.INSECURE_SCHEME,
                f"insecure-registries entry {raw!r} has a scheme: dockerd strips it and "
                f"uses {text!r}",
                f"write {text!r}",
                refuses=False,
                offset=item.start,
                key="insecure-registries",
            )
        network = None
        problem = ""
        if "://" in text:
            problem = "should not contain '://'"
        elif text.startswith("-") or text.endswith("-"):
            problem = "cannot begin or end with a hyphen"
        elif "/" in text:
            try:
                network = ipaddress.ip_network(text, strict=False)
            except ValueError:
                problem = "is neither a CIDR nor host[:port]"
        elif not valid_host_port(text):
            problem = "is not a valid host[:port]"
        if problem:
            rules.add(
                catalog.INSECURE_INVALID,
                f"insecure-registries entry {raw!r} {problem}: "
                f"dockerd {rules.engine} refuses to start",
                refuses=True,
                offset=item.start,
                key="insecure-registries",
            )
            continue
        entries.append(InsecureEntry(item, text, network))
    return entries


def check_mirror_insecure(
    rules: DocumentRules,
    item: JsonNode,
    url: GoURL,
    entries: Sequence[InsecureEntry],
    mirror_ips: Sequence[str] = (),
) -> None:
    """A finding on ``rules`` when dockerd skips certificate checks for the mirror ``url``.

    ``item``: its registry-mirrors entry; ``mirror_ips``: what its name resolves to.
    """
    names: dict[str, InsecureEntry] = {}
    ranges: dict[Network, InsecureEntry] = {}
    for entry in entries:
        if entry.network is None:
            names.setdefault(entry.text, entry)
        else:
            ranges.setdefault(entry.network, entry)
    match = insecure_match(url.host, dict.fromkeys(names, False), [*ranges, LOOPBACK], mirror_ips)
    if match is None:
        return
    if match.name:
        entry = names[match.name]
        line, col = rules.doc.line_col(item.start)
        rules.add(
            catalog.MIRROR_INSECURE,
            f"the mirror host {url.host!r} (registry-mirrors at {line}:{col}) is listed in "
            "insecure-registries: dockerd does not verify its certificate, so a wrong or "
            "expired certificate goes unnoticed",
            f"remove {entry.node.value!r} from insecure-registries; put a private CA in "
            f"/etc/docker/certs.d/{url.host}/ca.crt",
            refuses=False,
            offset=entry.node.start,
            key="insecure-registries",
        )
    elif match.network in ranges:
        entry = ranges[match.network]
        rules.add(
            catalog.MIRROR_INSECURE,
            f"the mirror {item.value!r} falls in insecure-registries {entry.node.value!r}: "
            "dockerd does not verify its certificate",
            f"remove {entry.node.value!r} from insecure-registries, or address the mirror "
            "outside it",
            refuses=False,
            offset=entry.node.start,
            key="insecure-registries",
        )
    else:
        rules.add(
            catalog.MIRROR_INSECURE,
            f"the mirror {item.value!r} is a loopback address: dockerd always treats "
            "127.0.0.0/8 as insecure, so the mirror's certificate is never verified",
            "address the mirror by its FQDN, with a certificate for that name",
            refuses=False,
            offset=item.start,
            key="registry-mirrors",
        )

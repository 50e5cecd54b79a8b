"""Pebble, Let's Encrypt's test CA, as the lab's ACME server: a plain container on the lab network.

Facts (FINDINGS "ACME: Pebble as Let's Encrypt"): Debian's package ships no
certificates and no usable config, so the lab makes a CA and a certificate
for the ACME API's host name (``acme.test``) at each start and copies them in
with the config. There are two CAs: the ACME client (Traefik's lego) trusts
the API CA (``api_ca_pem``); nodes trust the ISSUING root, served at
``https://acme.test:15000/roots/0`` and new at every Pebble start. Pebble
validates http-01 and tls-alpn-01 by connecting to the name it resolves:
``resolve`` pins the mirror's name in its /etc/hosts (Go reads that first).

Usage::

    pebble = Pebble(context, images["pebble"], validity_seconds=None)
    pebble.start()                                # /dir answers; bounded
    pebble.resolve("mirror.test", "172.18.0.5")    # where http-01/tls-alpn-01 connect
    pebble.directory_url                          # https://acme.test:14000/dir
    pebble.issuing_root()                         # PEM bytes nodes must trust
    pebble.issued()                               # certificates issued since start
    pebble.accounts()                             # ACME accounts registered since start
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import time
from pathlib import Path

import requests
import trustme

from mirrorcheck.probes.http import make_session
from mirrorcheck.targets.lab.containers import ContainerSpec, exit_report
from mirrorcheck.targets.lab.lifecycle import START_TIMEOUT, LabContext, LoggedRole
from mirrorcheck.waiting import wait_until

ACME_HOST = "acme.test"
ACME_PORT = 14000
MANAGEMENT_PORT = 15000
CONFIG_PATH = "/etc/pebble/config.json"
API_CERT_PATH = "/etc/pebble/tls/api.crt"
API_KEY_PATH = "/etc/pebble/tls/api.key"
# Pebble logs one line per certificate it issues: "Issued certificate serial <hex> for order <id>".
ISSUED = re.compile(r"Issued certificate serial ([0-9a-f]+) for order")
# ... and one per ACME account it registers: "There are now <n> accounts in memory".
ACCOUNTS = re.compile(r"There are now (\d+) accounts in memory")


def pebble_config(validity_seconds: int | None = None) -> dict[str, object]:
    """Pebble's config: ACME on :14000, management on :15000, challenges on 80 and 443.

    ``validity_seconds`` None keeps Pebble's default validity (about 5 years).
    """
    settings: dict[str, object] = {
        "listenAddress": f"0.0.0.0:{ACME_PORT}",
        "managementListenAddress": f"0.0.0.0:{MANAGEMENT_PORT}",
        "certificate": API_CERT_PATH,
        "privateKey": API_KEY_PATH,
        "httpPort": 80,
        "tlsPort": 443,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }
    if validity_seconds is not None:
        settings["certificateValidityPeriod"] = validity_seconds
    return {"pebble": settings}


def issued_serials(log: str) -> list[str]:
    """The serials Pebble's log says it issued, as numbers in lower-case hex (no leading zeros).

    Pebble prints the serial's bytes (``0852afeb...``, leading zeros kept); a
    certificate's serial is a number: they are compared as numbers.
    """
    return [format(int(serial, 16), "x") for serial in ISSUED.findall(log)]


class Pebble(LoggedRole):
    """Pebble under the network alias ``acme.test``, with an API CA made for this start."""

    def __init__(
        self, context: LabContext, image: str, validity_seconds: int | None = None
    ) -> None:
        super().__init__(context)
        self.image = image
        self.validity_seconds = validity_seconds
        self.api_ca = trustme.CA(organization_name="mirrorcheck ACME API")
        self._files = tempfile.TemporaryDirectory(prefix="mirrorcheck-acme-")
        self.api_ca_file = Path(self._files.name) / "acme-api-ca.crt"
        self.api_ca_file.write_bytes(self.api_ca_pem)
        self.started_seconds: float | None = None  # from create to /dir answering

    @property
    def api_ca_pem(self) -> bytes:
        """The CA of Pebble's API certificate: what the ACME client must trust."""
        return self.api_ca.cert_pem.bytes()

    @property
    def directory_url(self) -> str:
        """The ACME directory, as Traefik's ``caServer`` names it."""
        return f"https://{ACME_HOST}:{ACME_PORT}/dir"

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start Pebble; wait (at most ``timeout`` s) until its ACME directory answers.

        Raises ``WaitTimeout`` naming the directory URL, at once with the log
        tail when Pebble exits (a broken config).
        """
        now = dt.datetime.now(dt.timezone.utc)
        leaf = self.api_ca.issue_cert(
            ACME_HOST, not_before=now - dt.timedelta(hours=1), not_after=now + dt.timedelta(days=30)
        )
        files = {
            CONFIG_PATH: json.dumps(pebble_config(self.validity_seconds), indent=2).encode(),
            API_CERT_PATH: b"".join(pem.bytes() for pem in leaf.cert_chain_pems),
            API_KEY_PATH: leaf.private_key_pem.bytes(),
        }
        started = time.monotonic()
        spec = ContainerSpec(
            image=self.image,
            name=self.context.name("acme"),
            role="acme",
            aliases=[ACME_HOST],
            files=files,
        )
        self.container = self.context.start(spec)
        container = self.container
        wait_until(
            lambda: self._get(ACME_PORT, "/dir").ok,
            timeout=timeout,
            what=f"Pebble's ACME directory {self.directory_url} to answer",
            give_up=lambda: exit_report(container),
        )
        self.started_seconds = round(time.monotonic() - started, 2)

    def _get(self, port: int, path: str) -> requests.Response:
        session = make_session(
            ca_file=str(self.api_ca_file), resolve={f"{ACME_HOST}:{port}": f"{self.address}:{port}"}
        )
        return session.get(f"https://{ACME_HOST}:{port}{path}", timeout=5)

    def issuing_root(self) -> bytes:
        """The root Pebble issues under in this start (PEM), from ``/roots/0``."""
        response = self._get(MANAGEMENT_PORT, "/roots/0")
        response.raise_for_status()
        return response.content

    def resolve(self, fqdn: str, address: str) -> None:
        """Make Pebble's validation connect to ``address`` for ``fqdn`` (its /etc/hosts)."""
        assert self.container is not None
        line = f"{address} {fqdn}"
        result = self.container.exec_run(["sh", "-c", f"echo '{line}' >> /etc/hosts"])
        if result.exit_code != 0:
            raise RuntimeError(f"cannot pin {fqdn} in Pebble's /etc/hosts: {result.output!r}")

    def issued(self) -> list[str]:
        """The serial numbers of the certificates issued since this Pebble started."""
        return issued_serials(self.log())

    def accounts(self) -> int:
        """How many ACME accounts were registered since this Pebble started."""
        return max((int(n) for n in ACCOUNTS.findall(self.log())), default=0)

    def version(self) -> str:
        """Debian's package version of the running Pebble (``2.4.0-...``); "" when unknown."""
        assert self.container is not None
        result = self.container.exec_run(["dpkg-query", "-W", "-f", "${Version}", "pebble"])
        return result.output.decode(errors="replace").strip() if result.exit_code == 0 else ""

    def close(self) -> None:
        """Remove the local copy of the API CA (the container goes with the lab)."""
        self._files.cleanup()

"""The TLS proxy: nginx serving the mirror FQDN over HTTPS, in front of the mirror's plain HTTP.

It stands for the reference setup's Traefik (see ``proxy_conf``). Nodes and
checks reach the mirror only through it, by name: its access log is what the
mirror's clients asked for, per client address.

Usage::

    proxy = Proxy(context, image, fqdn="mirror.test", cert_files=certs.write(...))
    proxy.start(backend="mirror:5000")
    proxy.session().get(f"{proxy.url}/v2/")     # by name, trusting the lab CA
    proxy.endpoint()                             # MirrorEndpoint for the TLS checks
"""

from __future__ import annotations

import requests
import urllib3

from mirrorcheck.probes.http import make_session
from mirrorcheck.targets.endpoint import MirrorEndpoint
from mirrorcheck.targets.lab.certs import CertFiles
from mirrorcheck.targets.lab.containers import ContainerSpec, exit_report
from mirrorcheck.targets.lab.lifecycle import START_TIMEOUT, LabContext, LoggedRole
from mirrorcheck.targets.lab.proxy_conf import CERT_DIR, nginx_conf
from mirrorcheck.text.hostport import DEFAULT_PORTS
from mirrorcheck.waiting import wait_until


class Proxy(LoggedRole):
    """nginx under the mirror's FQDN as network alias, with the lab's server certificate."""

    stderr = False  # nginx's error log is on stderr; the access log alone on stdout

    def __init__(
        self,
        context: LabContext,
        image: str,
        fqdn: str,
        cert_files: CertFiles,
        plaintext: bool = False,
    ) -> None:
        super().__init__(context)
        self.image = image
        self.fqdn = fqdn
        self.cert_files = cert_files
        self.plaintext = plaintext

    @property
    def url(self) -> str:
        """The mirror's URL as nodes name it: ``https://<fqdn>``."""
        return f"https://{self.fqdn}"

    def start(self, backend: str) -> None:
        """Start nginx in front of ``backend`` (``host:port``); wait until it answers ``/v2/``.

        The wait does not verify the certificate: a lab with a broken one must
        still come up, so that the TLS checks (not the lab) report what is
        wrong with it. ``WaitTimeout`` after 30 s, or at once if nginx exits.
        """
        files = {
            "/etc/nginx/nginx.conf": nginx_conf(self.fqdn, backend, self.plaintext).encode(),
            f"{CERT_DIR}/server.crt": self.cert_files.server_cert.read_bytes(),
            f"{CERT_DIR}/server.key": self.cert_files.server_key.read_bytes(),
        }
        spec = ContainerSpec(
            image=self.image,
            name=self.context.name("proxy"),
            role="proxy",
            aliases=[self.fqdn],
            files=files,
        )
        self.container = self.context.start(spec)
        container = self.container
        session = self.session()
        session.verify = False
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        wait_until(
            lambda: session.get(f"{self.url}/v2/", timeout=2).status_code in (200, 401),
            timeout=START_TIMEOUT,
            what=f"the TLS proxy to answer GET {self.url}/v2/",
            give_up=lambda: exit_report(container),
        )

    def session(self) -> requests.Session:
        """A requests session that reaches the mirror by its name, trusting the lab CA."""
        address = self.address
        return make_session(
            ca_file=str(self.cert_files.ca_cert),
            resolve={f"{self.fqdn}:443": f"{address}:443", f"{self.fqdn}:80": address},
        )

    def endpoint(self) -> MirrorEndpoint:
        """The mirror as nodes reach it: its name at this proxy, trusting the lab CA."""
        return MirrorEndpoint(
            url=self.url,
            fqdn=self.fqdn,
            address=self.address,
            port=DEFAULT_PORTS["https"],
            ca_file=str(self.cert_files.ca_cert),
        )

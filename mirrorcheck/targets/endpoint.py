"""Where a deployment's mirror is reached: its name, and the address and port connected to."""

from __future__ import annotations

from dataclasses import dataclass

from mirrorcheck.text.hostport import DEFAULT_PORTS

__all__ = ["DEFAULT_PORTS", "MirrorEndpoint"]


@dataclass(frozen=True)
class MirrorEndpoint:
    """Where the mirror is: its name (TLS and Host), and the address and port connected to.

    ``url_port`` is the port in the mirror URL (what the nodes use); ``port``
    is where this run connects, which ``--mirror-address`` may change.
    """

    url: str
    fqdn: str
    address: str
    port: int
    ca_file: str | None
    url_port: int = DEFAULT_PORTS["https"]

    @property
    def resolve(self) -> dict[str, str]:
        """For ``make_session``: the URL's ``name:port`` sent to ``address:port``."""
        if self.address == self.fqdn and self.port == self.url_port:
            return {}
        return {f"{self.fqdn}:{self.url_port}": f"{self.address}:{self.port}"}

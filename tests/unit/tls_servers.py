"""In-process TLS servers on 127.0.0.1 for the TLS probe and policy tests.

Each server handshakes with every client, records the SNI it was sent, then
closes; every socket carries a timeout so a test can never hang.

Usage::

    with LocalTlsServer(certs.issue(Variant.HEALTHY), minimum=ssl.TLSVersion.TLSv1_2) as server:
        inspect_tls(server.address, server.port, server_name="mirror.test")
        server.server_names  # ['mirror.test', ...]
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import warnings

import trustme

SOCKET_TIMEOUT = 2.0


class LocalTlsServer:
    """A threaded listener; ``leaf`` None makes it drop every connection at once."""

    def __init__(
        self,
        leaf: trustme.LeafCert | None,
        *,
        minimum: ssl.TLSVersion | None = None,
        maximum: ssl.TLSVersion | None = None,
        ciphers: str | None = None,
        reply: bytes | None = None,
    ) -> None:
        self.address = "127.0.0.1"
        self.reply = reply
        self.context = self._context(leaf, minimum, maximum, ciphers) if leaf else None
        self.connections = 0
        self.server_names: list[str | None] = []
        self.version_setup_error = ""
        self._listener = socket.create_server((self.address, 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _context(
        self,
        leaf: trustme.LeafCert,
        minimum: ssl.TLSVersion | None,
        maximum: ssl.TLSVersion | None,
        ciphers: str | None,
    ) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(context)
        if ciphers:
            context.set_ciphers(ciphers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                if minimum is not None:
                    context.minimum_version = minimum
                if maximum is not None:
                    context.maximum_version = maximum
            except ValueError as exc:
                # This OpenSSL cannot serve the version either; the test decides what that means.
                self.version_setup_error = str(exc)
        context.sni_callback = self._record_sni
        return context

    def _record_sni(self, _sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.server_names.append(name)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.settimeout(SOCKET_TIMEOUT)
            with contextlib.suppress(OSError), conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        if self.reply is not None:
            conn.recv(4096)
            conn.sendall(self.reply)
        elif self.context is None:
            # SO_LINGER 0: close with a reset, as a server refusing mid-handshake may.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(SOCKET_TIMEOUT)

    def __enter__(self) -> LocalTlsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=SOCKET_TIMEOUT + 1)
        self._listener.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just released)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]

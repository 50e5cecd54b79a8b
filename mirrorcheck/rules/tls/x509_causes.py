"""Why a Docker node refused the mirror's certificate, read from dockerd's log.

dockerd reports certificate problems in the words of Go's ``crypto/x509``
(``x509: certificate signed by unknown authority``, ...); each known phrase
maps to a cause and its fix.

Usage::

    from mirrorcheck.rules.tls.x509_causes import certificate_errors, explain_certificate_errors

    lines = certificate_errors(daemon_log_text, "mirror.test")
    explain_certificate_errors(lines, "mirror.test")
    # "the node does not trust the issuer of the proxy's certificate (daemon log: ...). Fix: ..."
"""

from __future__ import annotations

from mirrorcheck.rules.tls.policy import docker_ca_path

# What dockerd logs (Go's crypto/x509) for each certificate problem, and its fix.
X509_CAUSES: tuple[tuple[str, str, str], ...] = (
    (
        "certificate signed by unknown authority",
        "the node does not trust the issuer of the proxy's certificate",
        "install the CA the proxy's certificate chains to as {ca_path} on every node, "
        "or serve a certificate from a CA the nodes already trust",
    ),
    (
        "certificate is valid for",
        "the proxy's certificate names another host",
        "issue the proxy's certificate with DNS:{fqdn} in subjectAltName",
    ),
    (
        "certificate has expired or is not yet valid",
        "the proxy's certificate is expired (or not yet valid)",
        "renew the proxy's certificate (Traefik: see why the ACME renewal failed) and check "
        "the clocks of proxy and nodes",
    ),
)


def certificate_errors(daemon_log: str, fqdn: str) -> list[str]:
    """The lines of ``daemon_log`` (dockerd's log text) about a TLS error with host ``fqdn``."""
    return [
        line
        for line in daemon_log.splitlines()
        if fqdn in line and ("x509:" in line or "tls:" in line)
    ]


def explain_certificate_errors(lines: list[str], fqdn: str) -> str:
    """The cause and fix of the first known x509 phrase in ``lines``, else the last line."""
    text = "\n".join(lines)
    for pattern, cause, fix in X509_CAUSES:
        if pattern in text:
            fix_text = fix.format(fqdn=fqdn, ca_path=docker_ca_path(fqdn))
            return f"{cause} (daemon log: {pattern!r}). Fix: {fix_text}"
    if lines:
        return f"a TLS error (daemon log: {lines[-1][-300:]})"
    return "no certificate error in the daemon log"

"""Every TLS rule, declared once: code, severity, meaning, fix, and the suite check it gates.

The judges in :mod:`mirrorcheck.rules.tls.certificate` and
:mod:`mirrorcheck.rules.tls.versions` make their findings through these rules;
each suite check fails on every finding of the judge it runs, so ``gated_by``
names the check whose judge makes the rule's findings.

Usage::

    from mirrorcheck.rules.tls.catalog import RULES, HOSTNAME_MISMATCH

    HOSTNAME_MISMATCH.code        # 'tls/hostname-mismatch'
    sorted(RULES)                 # every TLS code
"""

from __future__ import annotations

from mirrorcheck.findings import Rule, Severity, rule_table

_CERTIFICATE = "suites/test_tls_certificate.py::"
_VERSIONS = "suites/test_tls_versions.py::"
NAME_CHECK = _CERTIFICATE + "test_proxy_certificate_is_issued_for_the_mirror_name"
TRUST_CHECK = _CERTIFICATE + "test_proxy_certificate_chains_to_the_ca_the_nodes_trust"
VALIDITY_CHECK = _CERTIFICATE + "test_proxy_certificate_has_at_least_min_cert_days_left"
STRENGTH_CHECK = _CERTIFICATE + "test_proxy_certificate_key_and_signature_are_not_weak"
MODERN_CHECK = _VERSIONS + "test_tls_1_2_and_1_3_are_accepted"
LEGACY_CHECK = _VERSIONS + "test_tls_1_0_and_1_1_are_refused_by_the_server"

# How to set the protocol list on the proxies the reference setups use.
PROXY_PROTOCOLS_FIX = (
    "nginx `ssl_protocols TLSv1.2 TLSv1.3;`, "
    "Traefik `tls.options.default.minVersion: VersionTLS12`, "
    "Caddy `tls { protocols tls1.2 tls1.3 }`"
)
_RENEW = (
    "renew the proxy's certificate and reload the proxy (Traefik with Let's Encrypt: "
    "find why the ACME renewal failed in Traefik's log)"
)

UNREACHABLE = Rule(
    "tls/unreachable",
    Severity.ERROR,
    "no TLS handshake with the mirror's endpoint: nodes fall back to Docker Hub",
    fix="make the proxy listen on the mirror's address and serve TLS for its name (SNI)",
    gated_by=(
        NAME_CHECK,
        TRUST_CHECK,
        VALIDITY_CHECK,
        STRENGTH_CHECK,
        MODERN_CHECK,
        LEGACY_CHECK,
    ),
)
HOSTNAME_MISMATCH = Rule(
    "tls/hostname-mismatch",
    Severity.ERROR,
    "the certificate's subjectAltName does not list the mirror's name",
    fix="issue the proxy's certificate with DNS:<mirror name> in subjectAltName",
    gated_by=(NAME_CHECK,),
)
HOSTNAME_UNCHECKED = Rule(
    "tls/hostname-unchecked",
    Severity.WARNING,
    "whether the certificate is valid for the mirror's name could not be decided",
    fix="inspect the certificate by hand: openssl s_client -connect <address>:<port> "
    "-servername <mirror name>",
    gated_by=(NAME_CHECK,),
)
EXPIRED = Rule(
    "tls/expired",
    Severity.ERROR,
    "the certificate has expired: nodes refuse it",
    fix=_RENEW,
    gated_by=(VALIDITY_CHECK,),
)
NOT_YET_VALID = Rule(
    "tls/not-yet-valid",
    Severity.ERROR,
    "the certificate is not valid yet: nodes refuse it",
    fix="check the clocks of the proxy host and the nodes, or reissue the certificate",
    gated_by=(VALIDITY_CHECK,),
)
EXPIRES_SOON = Rule(
    "tls/expires-soon",
    Severity.WARNING,
    "the certificate has fewer days left than the policy's minimum",
    fix=_RENEW,
    gated_by=(VALIDITY_CHECK,),
)
UNTRUSTED_ISSUER = Rule(
    "tls/untrusted-issuer",
    Severity.ERROR,
    "the certificate does not chain to a CA the client trusts",
    fix="serve the full chain from the proxy, or install the issuing CA on every node",
    gated_by=(TRUST_CHECK,),
)
CHAIN_INVALID = Rule(
    "tls/chain-invalid",
    Severity.ERROR,
    "the certificate chain does not verify",
    fix="check the chain the proxy serves: openssl s_client -showcerts",
    gated_by=(TRUST_CHECK,),
)
WEAK_KEY = Rule(
    "tls/weak-key",
    Severity.ERROR,
    "the certificate's key is shorter than the policy's minimum",
    fix="reissue it with an RSA key of at least 2048 bits or an EC key on P-256 or larger",
    gated_by=(STRENGTH_CHECK,),
)
WEAK_SIGNATURE = Rule(
    "tls/weak-signature",
    Severity.ERROR,
    "the certificate is signed with a broken hash (MD5, SHA-1)",
    fix="reissue it signed with SHA-256 or stronger",
    gated_by=(STRENGTH_CHECK,),
)
LEGACY_VERSION_ACCEPTED = Rule(
    "tls/legacy-version-accepted",
    Severity.ERROR,
    "the server accepts a TLS version deprecated by RFC 8996",
    fix=f"allow only TLS 1.2 and 1.3 on the proxy: {PROXY_PROTOCOLS_FIX}",
    gated_by=(LEGACY_CHECK,),
)
VERSION_REFUSED = Rule(
    "tls/version-refused",
    Severity.ERROR,
    "the server refuses a current TLS version",
    fix=f"enable TLS 1.2 and 1.3 on the proxy: {PROXY_PROTOCOLS_FIX}",
    gated_by=(MODERN_CHECK,),
)
VERSION_UNTESTABLE = Rule(
    "tls/version-untestable",
    Severity.WARNING,
    "whether the server accepts a TLS version is unknown: this run proves nothing about it",
    fix="probe from a client whose OpenSSL can offer that version",
    gated_by=(MODERN_CHECK, LEGACY_CHECK),
)

RULES = rule_table(
    UNREACHABLE,
    HOSTNAME_MISMATCH,
    HOSTNAME_UNCHECKED,
    EXPIRED,
    NOT_YET_VALID,
    EXPIRES_SOON,
    UNTRUSTED_ISSUER,
    CHAIN_INVALID,
    WEAK_KEY,
    WEAK_SIGNATURE,
    LEGACY_VERSION_ACCEPTED,
    VERSION_REFUSED,
    VERSION_UNTESTABLE,
)

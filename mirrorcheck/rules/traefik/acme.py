"""Judgement on Traefik's ACME certificates: issued for the mirror, kept across restarts, renewed.

Plain values in, findings out (the lab observes, ``suites/test_acme.py``
asks). Facts: Traefik keeps its ACME account and certificates in the
resolver's ``storage`` file, ``acme.json`` (default ``acme.json`` in the
working directory); lost at a restart, Traefik asks the CA again, and Let's
Encrypt allows 5 duplicate certificates per week (DOMAIN.md "The TLS proxy").
Traefik's renewal schedule follows the certificate's lifetime: under a day,
renewal starts 20 minutes before expiry, checked every minute (traefik
pkg/provider/acme getCertificateRenewDurations).

Usage::

    from mirrorcheck.rules.traefik.acme import judge_issued, lint_acme_storage

    judge_issued(fqdn="mirror.test", sans=("mirror.test",), trusted=True, trust_error="",
                 serial="62f9", issued=["62f9"], ca="Pebble")          # [] : issued by the CA
    lint_acme_storage(stack_text, path="traefik-stack.yml")            # acme.json not on a volume
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

import yaml

from mirrorcheck.findings import Finding
from mirrorcheck.rules.traefik import catalog as rules

STORAGE_ARGUMENT = ".acme.storage="
STORAGE_VARIABLE = "_ACME_STORAGE"  # TRAEFIK_CERTIFICATESRESOLVERS_<NAME>_ACME_STORAGE
DEFAULT_STORAGE = "acme.json"  # relative to the working directory, "/" in Traefik's image


def judge_issued(
    *,
    fqdn: str,
    sans: Sequence[str],
    trusted: bool,
    trust_error: str,
    serial: str,
    issued: Sequence[str],
    ca: str,
    registry_answer: str = "",
) -> list[Finding]:
    """Whether the mirror is served over HTTPS with a certificate ``ca`` issued for ``fqdn``.

    ``trusted``: its chain verified up to the CA's issuing root for ``fqdn``;
    ``issued``: the serial numbers the CA says it issued (hex);
    ``registry_answer``: "" when ``GET https://<fqdn>/v2/`` reached the
    registry, else what answered instead.
    """
    problems = [registry_answer] if registry_answer else []
    if fqdn not in sans:
        problems.append(f"it names {', '.join(sans) or 'no DNS name'}, not {fqdn}")
    if not trusted:
        problems.append(f"its chain does not lead to {ca}'s issuing root ({trust_error})")
    if serial not in issued:
        problems.append(f"{ca} issued no certificate with serial {serial}")
    if not problems:
        return []
    return [
        rules.ACME_NOT_ISSUED.finding(f"the certificate served for {fqdn}: " + "; ".join(problems))
    ]


def judge_kept(
    *,
    fqdn: str,
    before: str,
    after: str,
    issued_before: int,
    issued_after: int,
    new_accounts: int,
    storage: str,
    after_issued_before: bool = False,
) -> list[Finding]:
    """Whether a restart kept acme.json: nothing new at the CA, and a certificate from before.

    A proxy that lost acme.json registers a new ACME account (the account
    lives in the same file) and orders a new certificate. ``before`` and
    ``after`` are the served certificates' fingerprints; ``after_issued_before``
    says the certificate served afterwards is one the CA had issued before the
    restart: when the proxy ordered two for the name at its start, acme.json
    may hold the other one, and serving it proves the file was kept.
    """
    from_before = before == after or after_issued_before
    if from_before and issued_after == issued_before and new_accounts == 0:
        return []
    served = (
        "the same certificate"
        if before == after
        else f"another certificate (sha256 {after[:16]}…, before {before[:16]}…"
        + (", issued before the restart)" if after_issued_before else ")")
    )
    return [
        rules.ACME_STORAGE_LOST.finding(
            f"after a restart Traefik served {served} for {fqdn}, registered {new_accounts} "
            f"new ACME account(s) and got {issued_after - issued_before} new certificate(s): "
            f"acme.json ({storage}) did not survive the restart"
        )
    ]


def judge_renewed(
    *, fqdn: str, first_serial: str, serials_seen: Sequence[str], waited: float, lifetime: float
) -> list[Finding]:
    """Whether a certificate of ``lifetime`` seconds was replaced within ``waited`` seconds."""
    if any(serial != first_serial for serial in serials_seen):
        return []
    return [
        rules.ACME_NOT_RENEWED.finding(
            f"the certificate for {fqdn} (valid {lifetime:.0f} s) was still the same after "
            f"{waited:.0f} s: Traefik did not renew it before it expired"
        )
    ]


def _storage_paths(service: dict) -> list[str]:
    command = service.get("command") or []
    arguments = command.split() if isinstance(command, str) else [str(a) for a in command]
    found = [a.split("=", 1)[1] for a in arguments if STORAGE_ARGUMENT in a.lower()]
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(str(e).partition("=")[::2] for e in environment)
    found += [str(v) for k, v in environment.items() if str(k).upper().endswith(STORAGE_VARIABLE)]
    uses_acme = any(".acme." in a.lower() for a in arguments) or any(
        "_ACME_" in str(k).upper() for k in environment
    )
    return found or ([DEFAULT_STORAGE] if uses_acme else [])


def _mount_targets(service: dict) -> list[str]:
    targets = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            targets.append(str(volume.get("target", "")))
        else:
            parts = str(volume).split(":")
            if len(parts) >= 2:
                targets.append(parts[1])
    return [t for t in targets if t]


def storage_paths(text: str) -> dict[str, list[str]]:
    """Per Traefik service of a stack file, the acme.json paths it uses (absolute)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    services = document.get("services") if isinstance(document, dict) else None
    return {
        str(name): [str(PurePosixPath("/") / p) for p in _storage_paths(service)]
        for name, service in (services or {}).items()
        if isinstance(service, dict) and "traefik" in str(service.get("image", ""))
    }


def lint_acme_storage(text: str, *, path: str) -> list[Finding]:
    """acme.json of each Traefik service in a stack file, where no volume keeps it.

    A Traefik service is one whose image names ``traefik``. Its storage path
    comes from ``--certificatesresolvers.<r>.acme.storage`` or the matching
    ``TRAEFIK_..._ACME_STORAGE`` variable (default ``acme.json`` in ``/``).
    An unreadable file gives [] (the stack's reader reports it).
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    services = document.get("services") if isinstance(document, dict) else None
    found = []
    for name, service in (services or {}).items():
        if not isinstance(service, dict) or "traefik" not in str(service.get("image", "")):
            continue
        mounts = [PurePosixPath(t) for t in _mount_targets(service)]
        for storage in _storage_paths(service):
            file = PurePosixPath("/") / storage
            if not any(file.is_relative_to(mount) for mount in mounts):
                found.append(
                    rules.ACME_STORAGE_EPHEMERAL.finding(
                        f"service {name}: acme.json at {file} is on no volume",
                        path=path,
                    )
                )
    return found

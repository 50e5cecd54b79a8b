"""A strict lint of distribution's config.yml for a registry that must be a Docker Hub mirror.

Each finding names the file, the dotted key, line:column and the fix. The
checks are by concern: keys against the version's schema
(:mod:`~mirrorcheck.rules.registry.config_keys`), the proxy section
(:mod:`~mirrorcheck.rules.registry.config_proxy`), storage and the debug
server (:mod:`~mirrorcheck.rules.registry.config_storage`); the codes are in
:mod:`mirrorcheck.rules.registry.catalog`.

Usage::

    from mirrorcheck.rules.registry.config_lint import lint_config_file

    for finding in lint_config_file("registry-mirror-config.yml", registry_version="2.8.2"):
        print(finding.render())
"""

from __future__ import annotations

from pathlib import Path

from mirrorcheck.findings import Finding
from mirrorcheck.rules.limitations import RegistryVersion, parse_version
from mirrorcheck.rules.registry.catalog import (
    CONFIG_PATH,
    PROXY_REMOTEURL_CASE,
    VERSION_MISSING,
    VERSION_UNSUPPORTED,
)
from mirrorcheck.rules.registry.config import (
    CONSEQUENCE,
    RegistryConfig,
    load_config,
    read_config,
    structure,
)
from mirrorcheck.rules.registry.config_keys import check_keys
from mirrorcheck.rules.registry.config_proxy import check_proxy
from mirrorcheck.rules.registry.config_storage import check_debug, check_storage
from mirrorcheck.rules.registry.schema import DOCKER_HUB_REMOTEURL, config_path_for, schema_for
from mirrorcheck.text.yaml_source import YamlReadError, entry_for, is_null, kind, scalar_text

DEFAULT_VERSION = "2.8"


def parse_registry_version(text: str | RegistryVersion | None) -> RegistryVersion:
    """A distribution version, 2.8 when ``None``; ValueError for text that is not one."""
    parsed = parse_version(text if text is not None else DEFAULT_VERSION)
    if parsed is None:
        raise ValueError(f"registry version {text!r} is not a version like 2.8.2 or 3.0.0")
    return parsed


def check_config_path(
    mount_target: str,
    registry_version: str | RegistryVersion | None = DEFAULT_VERSION,
    *,
    path: str = "",
    line: int | None = None,
    column: int | None = None,
) -> list[Finding]:
    """A finding when the config is mounted where this image version does not read it."""
    parsed = parse_registry_version(registry_version)
    expected = config_path_for(parsed)
    if mount_target.rstrip("/") == expected:
        return []
    return [
        CONFIG_PATH.finding(
            f"the config is mounted at {mount_target} but distribution {parsed} "
            f"(registry:{parsed.major}) reads {expected}: the image's built-in config "
            "runs instead, a plain registry without proxy, NOT a mirror",
            fix=f"mount the config file at {expected}",
            path=path,
            line=line,
            column=column,
            key="config",
        )
    ]


def lint_config(
    config: RegistryConfig,
    *,
    registry_version: str | RegistryVersion | None = DEFAULT_VERSION,
    mount_target: str | None = None,
    expected_remoteurl: str = DOCKER_HUB_REMOTEURL,
) -> list[Finding]:
    """Every finding on a parsed config: file-level ones first, then in file order.

    ``registry_version``: distribution version the file is for (default 2.8;
    ValueError when it is not a version). ``mount_target``: where the file is
    mounted in the container, to check it is the path that version reads.
    ``expected_remoteurl``: the upstream the mirror must proxy; anything but
    Docker Hub only makes sense in a lab.
    """
    version = parse_registry_version(registry_version)
    findings = structure(config)
    if not findings:
        row = schema_for(version)
        findings = _version_key(config) + check_keys(config, row)
        case_reported = any(f.code == PROXY_REMOTEURL_CASE.code for f in findings)
        findings += check_proxy(
            config, row, expected_remoteurl, remoteurl_case_reported=case_reported
        )
        findings += check_storage(config, row) + check_debug(config)
        findings.sort(key=_file_order)
    if mount_target is not None:
        findings[:0] = check_config_path(mount_target, version, path=config.path)
    return findings


def lint_config_text(text: str, path: str = "config.yml", **options: object) -> list[Finding]:
    """Lint config text; a YAML syntax error is the one finding returned."""
    try:
        config = load_config(text, path)
    except YamlReadError as err:
        return [err.finding]
    return lint_config(config, **options)  # type: ignore[arg-type]


def lint_config_file(path: str | Path, **options: object) -> list[Finding]:
    """Lint a config file; a missing file or bad YAML is the one finding returned."""
    try:
        config = read_config(path)
    except YamlReadError as err:
        return [err.finding]
    return lint_config(config, **options)  # type: ignore[arg-type]


def _version_key(config: RegistryConfig) -> list[Finding]:
    entry = entry_for(config.doc.root, "version")
    if entry is None or is_null(entry.value):
        return [
            VERSION_MISSING.finding(
                f"no 'version' key: {CONSEQUENCE} ('unsupported version: \"\"')",
                fix="add 'version: 0.1' as the first line",
                key="version",
                **config.at(entry.key_node if entry else None),
            )
        ]
    text = scalar_text(entry.value)
    if text == "0.1":
        return []
    return [
        VERSION_UNSUPPORTED.finding(
            f"version is {text or kind(entry.value)!r}: the only config format distribution "
            f"knows is 0.1, so {CONSEQUENCE}",
            fix="write 'version: 0.1' (the format version, not the registry's)",
            key="version",
            **config.at(entry.value),
        )
    ]


def _file_order(finding: Finding) -> tuple[int, int]:
    """File-level findings first, then by line and column."""
    return finding.line or 0, finding.column or 0

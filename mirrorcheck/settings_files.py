"""Whether each file option of a run names a file the suites can read, and of the right kind.

The suites read the files of the deployment under test (``--registry-config``,
``--daemon-json``, ``--daemon-json-baseline``, ``--stack-file``,
``--traefik-config``) before anything starts. A path that is missing, a
directory, unreadable, binary, or a file of another kind (a stack file given
as the registry config) would otherwise fail check after check; here it is
one usage error naming the option, the file, what it looks like and the fix.

The kind is told as ``mirrorcheck lint`` tells it
(:func:`mirrorcheck.rules.lint_input.recognise_kind`: the file's top-level keys).

Usage::

    from mirrorcheck.settings_files import file_option_problem

    file_option_problem("registry-config", "examples/registry-stack.yml")
    # "--registry-config examples/registry-stack.yml: this looks like a stack file, not a
    #  registry config. Fix: give it as --stack-file examples/registry-stack.yml, and point
    #  --registry-config at the registry config (the registry's config.yml, ...)"
    file_option_problem("registry-config", "examples/registry-config.yml")   # None
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from mirrorcheck.options import OPTIONS_BY_NAME
from mirrorcheck.rules.lint_input import (
    DAEMON_JSON,
    HOSTS_TOML,
    REGISTRY_CONFIG,
    SNIFF_BYTES,
    STACK,
    Kind,
    is_binary,
    recognise_kind,
)

# The kind of file each file option takes; None: any kind but those in REFUSED_KINDS.
EXPECTED_KINDS: dict[str, Kind | None] = {
    "registry-config": REGISTRY_CONFIG,
    "daemon-json": DAEMON_JSON,
    "daemon-json-baseline": DAEMON_JSON,
    "stack-file": STACK,
    # A Traefik stack file or static configuration (traefik.yml): its `log:` key is a registry
    # config's too, so only kinds Traefik never reads are refused.
    "traefik-config": None,
}
REFUSED_KINDS: dict[str, tuple[Kind, ...]] = {"traefik-config": (DAEMON_JSON, HOSTS_TOML)}
# The option that takes each kind of file (hosts.toml: none; its linter checks it).
OPTION_OF_KIND = {
    DAEMON_JSON: "daemon-json",
    REGISTRY_CONFIG: "registry-config",
    STACK: "stack-file",
}
MOST_LISTED = 3  # files of the right kind named in a directory's fix
MOST_LOOKED_AT = 200  # entries of a directory looked at for them


def file_option_problem(name: str, value: str) -> str | None:
    """Why the file option ``name`` (``"daemon-json"``) cannot use ``value``, with the fix.

    None when ``value`` names a readable text file of the option's kind (or of
    no recognisable kind: its own checks judge it). Never raises.
    """
    path = Path(value)
    flag = f"--{name} {value}"
    fix_option = f"point --{name} (or {OPTIONS_BY_NAME[name].env}) at"
    expected = EXPECTED_KINDS.get(name)
    what = _wanted(name)
    if path.is_dir():
        found = files_of_kind(path, expected) if expected else []
        named = " or ".join(f"--{name} {candidate}" for candidate in found)
        return f"{flag}: is a directory, not a file. Fix: name the file in it" + (
            f", e.g. {named}" if named else f" ({what}{_example(expected)})"
        )
    if path.exists() and not path.is_file():  # reading a pipe or a terminal would block
        return f"{flag}: is not a regular file. Fix: {fix_option} {what}{_example(expected)}"
    try:
        head = _head(path)
    except FileNotFoundError:
        return (
            f"{flag}: no such file. Fix: {fix_option} the file, or leave it out for the "
            "reference example"
        )
    except ValueError:  # a NUL byte in the name
        return f"{flag}: not a file name. Fix: {fix_option} {what}{_example(expected)}"
    except OSError as error:
        return (
            f"{flag}: cannot be read ({error.strerror or error}). Fix: run as a user that may "
            f"read it, or {fix_option} a readable copy"
        )
    if is_binary(head):
        return f"{flag}: this is binary, not {what}. Fix: {fix_option} {what}{_example(expected)}"
    return _kind_problem(name, value, recognise_kind(head))


def _kind_problem(name: str, value: str, found: Kind | None) -> str | None:
    expected = EXPECTED_KINDS.get(name)
    refused = REFUSED_KINDS.get(name, ())
    if found is None or found is expected or (expected is None and found not in refused):
        return None
    wanted = _wanted(name)
    text = f"--{name} {value}: this looks like {found.name}, not {wanted}. Fix: "
    owner = OPTION_OF_KIND.get(found)
    if owner and owner != name:
        text += f"give it as --{owner} {value}, and "
    else:
        text += f"check it with `{found.command.format(path=value)}`, and "
    return text + f"point --{name} at {wanted}{_example(expected)}"


def _wanted(name: str) -> str:
    expected = EXPECTED_KINDS.get(name)
    return expected.name if expected else "a Traefik stack file or static configuration"


def _example(kind: Kind | None) -> str:
    return f" ({kind.example})" if kind else ""


def files_of_kind(directory: Path, kind: Kind) -> list[Path]:
    """Up to ``MOST_LISTED`` files directly in ``directory`` that read as ``kind``, by name."""
    found: list[Path] = []
    try:
        entries = sorted(directory.iterdir())[:MOST_LOOKED_AT]
    except OSError:
        return found
    for entry in entries:
        try:
            if not entry.is_file():
                continue
            head = _head(entry)
        except OSError:
            continue
        if not is_binary(head) and recognise_kind(head) is kind:
            found.append(entry)
        if len(found) == MOST_LISTED:
            break
    return found


def report_dir_problem(path: Path) -> str | None:
    """Why reports cannot be written into ``path``, or None; the folder is created if missing."""
    if path.exists() and not path.is_dir():
        return "is a file, not a folder"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        return f"cannot be written ({error.strerror or error})"
    return None


def _head(path: Path) -> bytes:
    """What the linters read of a file to tell its kind (``SNIFF_BYTES``); OSError as ``open``."""
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)

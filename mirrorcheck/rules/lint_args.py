"""The linters' command lines: one parser behaviour, the option values the suites take, exit codes.

Every ``mirrorcheck lint ...`` parser is a :class:`LintParser`: a usage error
is one line on stderr naming the option and the fix, exit
:data:`~mirrorcheck.rules.lint_input.EXIT_UNUSABLE`. Option values are checked
by the same parsers the suites use (:mod:`mirrorcheck.text.endpoints`), and an
empty value (``--mirror-url ''``) is refused rather than read as "not given".

Usage::

    parser = LintParser(prog="mirrorcheck lint traefik", description="...")
    parser.add_argument("stack", type=file_arg, metavar="STACK")
    parser.add_argument("--mirror-fqdn", type=host_name_arg, metavar="HOST")
    parser.parse_args(["registry.yml", "--mirror-fqdn", "https://mirror.example.com"])
    # stderr: mirrorcheck lint traefik: error: argument --mirror-fqdn: 'https://...' is a URL,
    #         not a host name. Fix: give its host, --mirror-fqdn mirror.example.com; exit 2
"""

from __future__ import annotations

import argparse
from typing import NoReturn
from urllib.parse import urlsplit

from mirrorcheck.rules.daemon_json.expected_mirror import ExpectedMirror
from mirrorcheck.rules.lint_input import EXIT_UNUSABLE
from mirrorcheck.text.endpoints import check_host_name, parse_host_port, parse_mirror_url

EXIT_CODES = f"""exit codes:
  0  no finding is an error
  1  a finding is an error (each printed as file:line:column, with its fix)
  {EXIT_UNUSABLE}  usage error: a bad option or value, or a file that cannot be linted (missing,
     a directory, not readable, binary, or another kind of file than this linter reads);
     one line on stderr each, naming the fix"""


class LintParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line naming the fix, exit 2."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("epilog", EXIT_CODES)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:
        hint = "" if "Fix:" in message else f" (see {self.prog} --help)"
        self.exit(EXIT_UNUSABLE, f"{self.prog}: error: {message}{hint}\n")


def _not_empty(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError(
            "an empty value. Fix: give it a value, or leave the option out for its default"
        )
    return value


def text_arg(value: str) -> str:
    """Any text but an empty one."""
    return _not_empty(value)


def file_arg(value: str) -> str:
    """A file name, not empty (whether it can be read is the linter's first look)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("an empty file name. Fix: name the file to lint")
    return value


def host_name_arg(value: str) -> str:
    """``--mirror-fqdn``: a DNS host name, as the suites take it (RFC 1123)."""
    _not_empty(value)
    if "://" in value:
        host = urlsplit(value.strip()).hostname or "mirror.example.com"
        raise argparse.ArgumentTypeError(
            f"{value!r} is a URL, not a host name. Fix: give its host, --mirror-fqdn {host}"
        )
    try:
        check_host_name(value.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{error}. Fix: give the mirror's DNS name, e.g. --mirror-fqdn mirror.example.com"
        ) from None
    return value.strip()


def mirror_url_arg(value: str) -> str:
    """``--mirror-url``: ``http(s)://host[:port]`` as dockerd takes a mirror, or ``host[:port]``."""
    _not_empty(value)
    text = value.strip()
    try:
        ExpectedMirror.parse(text)
        if "://" in text:
            parse_mirror_url(text)
        else:
            check_host_name(parse_host_port(text, 443)[0])
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{error}. Fix: --mirror-url https://mirror.example.com[:port], as in the nodes' "
            "registry-mirrors"
        ) from None
    return text

"""Secrets are taken out of every text that leaves the program; what is not a secret stays."""

from __future__ import annotations

import pytest

from mirrorcheck.report.redaction import redact_report
from mirrorcheck.text.redact import (
    MASK,
    Redactor,
    printable,
    secrets_in_file,
    secrets_in_text,
    url_secret,
)

REDACT = Redactor()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://u:pass1@mirror.example.com/v2/", "https://***@mirror.example.com/v2/"),
        ("ssh://admin:pw@node1:22", "ssh://***@node1:22"),
        ("'https://bob:t0k3n@registry-1.docker.io'", "'https://***@registry-1.docker.io'"),
        ("http://u:p@ss@proxy:3128", "http://***@proxy:3128"),
    ],
)
def test_url_userinfo_with_a_password_is_masked_whole(text, expected):
    assert REDACT.text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ssh://admin@node1",  # a user alone authenticates nothing
        "https://secret.example.com:443/v2/",  # a host named like a key is no key
        "https://mirror.example.com",
    ],
)
def test_what_is_not_a_secret_stays(text):
    assert REDACT.text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Password: hunter22", "  Password: ***"),  # YAML block, wrong case
        ("  password: my long pass # note", "  password: *** # note"),
        (
            "proxy: {remoteurl: https://x, password: hunter22}",
            "proxy: {remoteurl: https://x, password: ***}",
        ),
        ('{"password": "hun\\"ter", "a": 1}', '{"password": "***", "a": 1}'),  # JSON
        ('{"password":"x"}', '{"password":"***"}'),
        ("REGISTRY_PROXY_PASSWORD=hunter22 next", "REGISTRY_PROXY_PASSWORD=*** next"),  # env
        ("- REGISTRY_HTTP_SECRET='abc def'", "- REGISTRY_HTTP_SECRET='***'"),
        ("{'token': 'abcd'}", "{'token': '***'}"),  # a Python repr in a failure message
        ("Authorization: Bearer abcdef", "Authorization: ***"),
        ("api_key = k-123", "api_key = ***"),
    ],
)
def test_values_of_credential_keys_are_masked_in_every_style(text, expected):
    assert REDACT.text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        '"passed": 3',
        "bypassed: node-1",
        "WWW-Authenticate: Bearer realm=x",
        "author: someone",
        "auth:",  # a section: its value is on the next lines
        '"auths": {"x": 1}',
    ],
)
def test_words_that_only_look_like_credential_keys_stay(text):
    assert REDACT.text(text) == text


def test_known_secrets_are_masked_wherever_they_appear_also_percent_encoded():
    redactor = Redactor({"hunter22", "p@ss/word"})
    assert redactor.text("got hunter22 back") == f"got {MASK} back"
    assert redactor.text("url p%40ss%2Fword here") == f"url {MASK} here"


def test_short_known_secrets_are_left_to_the_forms():
    assert Redactor({"pw"}).text("pw in a sweeping pwd") == "pw in a sweeping pwd"


def test_secrets_are_found_in_each_input_kind():
    registry = (
        "proxy:\n  remoteurl: https://bob:tok3nvalue@registry-1.docker.io\n  Password: hunter22\n"
    )
    stack = (
        "environment:\n  - REGISTRY_PROXY_PASSWORD=envsecret1\n  REGISTRY_HTTP_SECRET: s3cr3t!\n"
    )
    daemon = '{"proxies": {"http-proxy": "http://u:proxypass@proxy:3128"}}'
    found = secrets_in_text(registry) | secrets_in_text(stack) | secrets_in_text(daemon)
    assert {"tok3nvalue", "hunter22", "envsecret1", "s3cr3t!", "proxypass"} <= found
    assert url_secret("ssh://u:pw1234@h") == ["pw1234"]


def test_secrets_in_a_file_and_an_unreadable_one(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text("proxy:\n  password: filesecret\n", encoding="utf-8")
    assert secrets_in_file(path) == {"filesecret"}
    assert secrets_in_file(tmp_path / "missing.yml") == set()


def test_json_like_values_are_redacted_keys_and_all():
    value = {"msg": ["token=abcdef", ("https://u:pw@h",)], "n": 3, "https://u:pw@k": None}
    assert REDACT.value(value) == {
        "msg": ["token=***", ("https://***@h",)],
        "n": 3,
        "https://***@k": None,
    }


def test_control_characters_are_escaped_newlines_and_tabs_kept():
    assert printable("a\x1b[31mb\x00\r\n\tc\u200bé") == "a\\x1b[31mb\\x00\\r\n\tc\\u200bé"


class _Crash:  # stands for pytest's ReprFileLocation (module _pytest...)
    __module__ = "_pytest._code.code"

    def __init__(self, message: str) -> None:
        self.message = message


class _Report:
    def __init__(self) -> None:
        self.longrepr = _Crash("--mirror-url https://u:hunter22@m failed")
        self.sections = [("Captured stdout call", "password: hunter22\n\x1b[2J")]
        self.user_properties = [("mirror_url", "https://u:hunter22@m"), ("n", 2)]


def test_a_test_report_is_redacted_in_place():
    report = _Report()
    crash = report.longrepr
    redact_report(report, Redactor({"hunter22"}))
    assert report.longrepr is crash and "hunter22" not in crash.message
    assert report.sections == [("Captured stdout call", "password: ***\n\\x1b[2J")]
    assert report.user_properties == [("mirror_url", "https://***@m"), ("n", 2)]


@pytest.mark.parametrize(
    "text",
    [
        "--report-dir /etc/passwd: is a file, not a folder. Fix: point --report-dir elsewhere",
        "cannot read /run/secrets/registry_token: No such file or directory",
        "--report-dir=/etc/passwd",
        r"C:\deploy\secrets\token: not found",
    ],
)
def test_a_word_in_a_path_is_no_key_and_stays(text):
    assert REDACT.text(text) == text
    assert secrets_in_text(text) == set()


def test_keys_after_a_space_or_a_quote_still_mask_their_values():
    assert REDACT.text("passwd: hunter22") == "passwd: ***"
    assert REDACT.text("--opt token=abcd1234 x") == "--opt token=*** x"
    assert REDACT.text('{"password": "x1y2z3"}') == '{"password": "***"}'

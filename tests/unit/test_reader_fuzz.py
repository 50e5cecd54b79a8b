"""A bounded fuzz pass over the two readers: no input makes either raise but its own error.

The daemon.json reader raises nothing at all: every problem is a finding. The
YAML reader (registry config and stack file) raises only YamlReadError, and a
file it returns can be judged by every rule without an exception. Inputs are
structured (JSON-like text with nesting, YAML-like text with tags, anchors,
merge keys and tabs) and raw (bytes with byte-order marks and invalid UTF-8).
Derandomized and without an example database, so CI sees the same inputs each run.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirrorcheck.findings import Finding
from mirrorcheck.rules.daemon_json.assess import assess, parse_daemon_json
from mirrorcheck.rules.registry.config import load_config, load_runnable_config
from mirrorcheck.rules.registry.config_lint import lint_config
from mirrorcheck.rules.registry.deployment import lint_config_and_stack
from mirrorcheck.rules.registry.stack import load_stack
from mirrorcheck.rules.registry.stack_lint import lint_stack
from mirrorcheck.text.yaml_source import YamlReadError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REFERENCE_CONFIG = (EXAMPLES / "registry-config.yml").read_text(encoding="utf-8")
REFERENCE_STACK = (EXAMPLES / "registry-stack.yml").read_text(encoding="utf-8")
REFERENCE_DAEMON_JSON = (EXAMPLES / "daemon.after.json").read_text(encoding="utf-8")

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- inputs -----------------------------------------------------------------------

BOMS = st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff"])
BAD_UTF8 = st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe9", b"\x80\x80", b"\xf8"])
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)

KEYS = st.sampled_from(
    [
        "registry-mirrors", "insecure-registries", "debug", "proxies", "log-opts", "features",
        "version", "proxy", "remoteurl", "storage", "filesystem", "rootdirectory", "http",
        "addr", "debug", "services", "image", "volumes", "ports", "<<", "", "a",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.sampled_from(["", " ", "https://mirror.example.com", "mirror.example.com", ":5000"]),
    ANY_TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20,
)
JSON_NOISE = st.sampled_from(["{", "}", "[", "]", ",", ":", '"', "'", "\\", "//", "/*", "\n"])


@st.composite
def json_like(draw: st.DrawFn) -> str:
    """JSON text, sometimes cut, spliced with stray tokens, or wrapped in deep nesting."""
    text = json.dumps(draw(VALUES), indent=draw(st.sampled_from([None, 0, 2])))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.one_of(JSON_NOISE, ANY_TEXT)) + text[at:]
    if draw(st.booleans()):
        depth = draw(st.integers(50, 3000))
        opener = draw(st.sampled_from(["[", '{"a":', '{"registry-mirrors":']))
        closer = {"[": "]", '{"a":': "}", '{"registry-mirrors":': "}"}[opener]
        text = opener * depth + text + closer * draw(st.integers(0, depth))
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


YAML_TOKENS = st.sampled_from(
    [
        "", "~", "null", "yes", "0.1", "0x1F", "1_000", "1:20", "2001-13-45", ".inf", "!!int x",
        "!!float", "!!binary AAAA", "!!timestamp x", "!!set {a}", "!!omap [1]", "!!map [1]",
        "!foo 1", "&a", "&a [1, *a]", "*a", "*missing", "[1, 2", "{a: 1}", "{? [1]: 2}", "|",
        ">-", "'quoted", '"esc \\x"', "@x", "%x", "- item", "? key", ": value", "\t",
        "https://registry-1.docker.io", "/var/lib/registry", ":5000", "<<: *a", "[[[[[[[[",
    ]
)  # fmt: skip


@st.composite
def yaml_like(draw: st.DrawFn) -> str:
    """Block YAML: indented keys, lists, tags, anchors, aliases, merge keys, tabs, documents."""
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        indent = draw(st.sampled_from(["", "  ", "    ", "\t", " ", "      "]))
        key = draw(KEYS)
        shape = draw(st.integers(0, 3))
        if shape == 0:
            lines.append(f"{indent}{key}: {draw(YAML_TOKENS)}")
        elif shape == 1:
            lines.append(f"{indent}- {draw(YAML_TOKENS)}")
        elif shape == 2:
            lines.append(f"{indent}{key}:")
        else:
            lines.append(f"{indent}{draw(st.sampled_from(['---', '...', '#', '%YAML 1.1']))}")
    text = "\n".join(lines)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(ANY_TEXT) + text[at:]
    return text


def mutated(base: str) -> st.SearchStrategy[str]:
    """A known-good file with a slice replaced by YAML tokens or arbitrary text."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        start = draw(st.integers(0, len(base)))
        end = draw(st.integers(start, min(len(base), start + 40)))
        return base[:start] + draw(st.one_of(YAML_TOKENS, ANY_TEXT)) + base[end:]

    return build()


def decoded(data: bytes) -> str:
    """Bytes as the lab reads a file under test (invalid UTF-8 becomes U+FFFD)."""
    return data.decode("utf-8", "replace")


RAW_BYTES = st.builds(
    lambda bom, body, bad, at: bom + body[:at] + bad + body[at:],
    BOMS,
    st.binary(max_size=200),
    BAD_UTF8,
    st.integers(0, 200),
)
YAML_INPUTS = st.one_of(
    yaml_like(),
    mutated(REFERENCE_CONFIG),
    mutated(REFERENCE_STACK),
    json_like(),
    ANY_TEXT,
    RAW_BYTES.map(decoded),
)

# -- the daemon.json reader ---------------------------------------------------------


def _judge_daemon_json(data: bytes | str) -> None:
    doc = parse_daemon_json(data, path="daemon.json", engine="20.10")
    result = assess(doc, mirror_url="https://mirror.example.com")
    for finding in result.findings:
        assert isinstance(finding, Finding)
        assert finding.render()


@FUZZ
@given(st.one_of(json_like(), mutated(REFERENCE_DAEMON_JSON), ANY_TEXT))
def test_daemon_json_reader_turns_any_text_into_findings(text: str) -> None:
    _judge_daemon_json(text)


@FUZZ
@given(st.one_of(RAW_BYTES, json_like().map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_daemon_json_reader_turns_any_bytes_into_findings(data: bytes) -> None:
    _judge_daemon_json(data)


# -- the YAML reader: registry config and stack file ------------------------------------


@FUZZ
@given(YAML_INPUTS)
def test_registry_config_reader_raises_only_its_own_error(text: str) -> None:
    try:
        config = load_config(text, "config.yml")
    except YamlReadError as error:
        assert error.finding.path == "config.yml"
        return
    for finding in lint_config(config):
        assert finding.render()
    try:
        runnable = load_runnable_config(text, "config.yml")
    except YamlReadError as error:
        assert error.finding.code == "registry-config/not-a-mapping"
        return
    # What the lab asks of a config it runs.
    runnable.doc.value(runnable.doc.root)
    assert runnable.listen_port > 0
    assert runnable.rootdirectory is None or isinstance(runnable.rootdirectory, str)
    assert runnable.debug_port is None or runnable.debug_port >= 0


@FUZZ
@given(YAML_INPUTS)
def test_stack_reader_raises_only_its_own_error(text: str) -> None:
    try:
        stack = load_stack(text, path="stack.yml")
    except YamlReadError as error:
        assert error.finding.path == "stack.yml"
        return
    for finding in lint_stack(stack):
        assert finding.render()
    config = load_runnable_config(REFERENCE_CONFIG, "config.yml")
    for finding in lint_config_and_stack(config, stack):
        assert finding.render()

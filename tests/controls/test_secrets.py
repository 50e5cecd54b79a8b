"""No secret planted in any input reaches any output: terminal, junit, summary, html report.

Each input kind carries a secret of its own: the registry config (a block
``Password:`` in the wrong case that the lint reports with its line, a
``remoteurl`` with ``user:token@``, or a flow-style ``proxy:`` line with an
error), the stack file's environment (list and map style), daemon.json's
``proxies`` URLs, ``--mirror-debug-url`` userinfo, and the ``--mirror-url`` /
``--node`` userinfo a usage error quotes. The runs stay cheap: the file checks
only, or live mode against a closed port and a container that does not
exist, which fails every check at once through the same report paths.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.suite_runner import SuiteRun, run_suites

REGISTRY_BLOCK = """version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  debug:
    addr: :5001
proxy:
  remoteurl: https://bob:remotetok3n1@registry-1.docker.io
  username: bob
  Password: blockpass991
"""
REGISTRY_FLOW = """version: 0.1
storage:
  filesystem: {rootdirectory: /var/lib/registry}
http: {addr: ":5000"}
proxy: {remoteurl: "https://registry-1.docker.io", Username: bob, password: flowpass881}
"""
STACK = """version: "3.8"
services:
  registry:
    image: registry:2
    environment:
      - REGISTRY_PROXY_PASSWORD=stackenv771
      REGISTRY_HTTP_SECRET: httpsecret551
    volumes:
      - registry-data:/var/lib/registry
volumes:
  registry-data:
"""
DAEMON_JSON = """{
  "registry-mirrors": ["https://127.0.0.1:1"],
  "proxies": {"http-proxy": "http://proxyuser:proxypass661@proxy.corp:3128"},
  "log-level": "info"
}
"""
FILE_SECRETS = ("remotetok3n1", "blockpass991", "stackenv771", "httpsecret551", "proxypass661")
FILE_CHECKS = (
    "test_registry_config_passes_the_lint or test_stack_file_passes_the_lint "
    "or test_daemon_json_passes_the_reader"
)


def _files(tmp_path: Path, registry_config: str) -> list[str]:
    paths = {
        "registry-config": ("config.yml", registry_config),
        "stack-file": ("registry-stack.yml", STACK),
        "daemon-json": ("daemon.json", DAEMON_JSON),
    }
    args = []
    for option, (name, text) in paths.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        args += [f"--{option}", str(path)]
    return args


def _outputs(run: SuiteRun) -> dict[str, str]:
    assert run.report_dir is not None
    found = {"terminal": run.output}
    for name in ("summary.json", "junit.xml", "report.html"):
        path = run.report_dir / name
        if path.exists():
            found[name] = path.read_text(encoding="utf-8")
    return found


def _assert_no_secret(run: SuiteRun, secrets: tuple[str, ...], files: int = 3) -> None:
    outputs = _outputs(run)
    assert len(outputs) == 1 + files, f"reports missing: {sorted(outputs)}\n{run.output[-2000:]}"
    leaks = {
        (where, secret): text.count(secret)
        for where, text in outputs.items()
        for secret in secrets
        if secret in text
    }
    assert not leaks, f"secrets in the outputs (where, secret): count = {leaks}"


@pytest.mark.usefixtures("engine")
def test_a_live_run_against_nothing_leaks_no_secret_of_any_input(tmp_path):
    run = run_suites(
        "suites/",
        *_files(tmp_path, REGISTRY_BLOCK),
        "--mirror-url",
        "https://127.0.0.1:1",
        "--node",
        "docker://mirrorcheck-no-such-node",
        "--mirror-debug-url",
        "http://debug:dbgpass441@127.0.0.1:2",
        tmp_path=tmp_path,
        timeout=300,
    )
    assert run.exit_code == 1, run.output[-3000:]
    # The planted mistakes were reported, with their lines: only the secrets are gone.
    run.expect("test_registry_config_passes_the_lint", "failed", "proxy.Password", "***")
    run.expect("test_stack_file_passes_the_lint", "failed", "REGISTRY_HTTP_SECRET: ***")
    _assert_no_secret(run, (*FILE_SECRETS, "dbgpass441"))


def test_a_flow_style_line_with_an_error_is_reported_without_its_secret(tmp_path):
    run = run_suites(
        "suites/", *_files(tmp_path, REGISTRY_FLOW), "-k", FILE_CHECKS, tmp_path=tmp_path
    )
    run.expect("test_registry_config_passes_the_lint", "failed", "Username", "password: ***")
    _assert_no_secret(run, ("flowpass881", *FILE_SECRETS))


def test_a_usage_error_quoting_the_options_leaks_no_secret(tmp_path):
    run = run_suites(
        "suites/",
        "--mirror-url",
        "https://user:urlpass331@mirror.example.com",
        "--node",
        "ssh://admin:nodepass221@node1",
        tmp_path=tmp_path,
        timeout=120,
    )
    assert run.exit_code == 4, run.output[-3000:]
    assert "--mirror-url" in run.output and "--node" in run.output
    _assert_no_secret(run, ("urlpass331", "nodepass221"), files=1)  # the usage error's summary

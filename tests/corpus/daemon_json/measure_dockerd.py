"""Measure whether dockerd starts with each corpus file; write the answer into cases.json.

Each file gets its own throwaway dockerd: its own data root, exec root, pid
file and unix socket under a fresh temporary directory, no bridge, no
iptables, the vfs driver and its own containerd namespaces, so the engine
already running on the machine (/var/run/docker.sock) is left alone. The
verdict is "started" when ``GET /_ping`` answers 200 within the time limit,
"refused" when the process exits first. Started daemons also report
``RegistryConfig.Mirrors`` from ``GET /info``. Then the daemon's process
group is stopped and its directory removed.

Usage (as root, on a machine with Docker Engine 20.10 installed)::

    python tests/corpus/daemon_json/measure_dockerd.py [--dockerd /usr/sbin/dockerd]

Engines with ``dockerd --validate`` (23.0 and later) are measured without
starting a daemon or being root: every file goes through ``dockerd --validate
--config-file FILE --bridge=none --iptables=false`` in one throwaway container
of that engine's node image (labelled, removed after), and the answers land in
``dockerd_validate[<engine>]`` (``ok``: exit 0, ``said``: dockerd's last line)::

    .venv/bin/python tests/corpus/daemon_json/measure_dockerd.py \
        --validate 26.1=mirrorcheck/node:<tag> --validate 28.5=mirrorcheck/node:<tag>

(``mirrorcheck images build`` prints the node image of each engine.)

The files must not set any key given as a flag below: dockerd refuses a key
set both ways (the flag-conflict case does it on purpose).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases.json"
ISOLATION_FLAGS = [
    "--bridge=none",
    "--iptables=false",
    "--storage-driver=vfs",
    "--containerd-namespace=mirrorcheck-oracle",
    "--containerd-plugins-namespace=mirrorcheck-oracle-plugins",
]
"""Flags besides --config-file/--data-root/--exec-root/--pidfile/-H (see cases.json)."""


def _get(sock: str, path: str) -> tuple[int, bytes]:
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(2)
        conn.connect(sock)
        conn.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _stop(process: subprocess.Popen) -> None:
    # The group holds dockerd and the containerd it supervises.
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def start_dockerd(dockerd: str, config: Path, timeout: float = 10.0) -> dict:
    """Start one throwaway dockerd with ``config``; report whether it came up."""
    root = tempfile.mkdtemp(prefix="mcd-", dir="/tmp")  # short: socket paths are limited
    sock = f"{root}/d.sock"
    command = [
        dockerd,
        f"--config-file={config}",
        f"--data-root={root}/root",
        f"--exec-root={root}/exec",
        f"--pidfile={root}/d.pid",
        f"--host=unix://{sock}",
        *ISOLATION_FLAGS,
    ]
    log_path = Path(root, "log")
    result: dict = {"started": False, "error": "", "mirrors": None}
    with open(log_path, "w+") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and process.poll() is None:
                if os.path.exists(sock):
                    try:
                        if _get(sock, "/_ping")[0] == 200:
                            info = json.loads(_get(sock, "/info")[1])
                            result["started"] = True
                            result["mirrors"] = info["RegistryConfig"]["Mirrors"]
                            break
                    except OSError:
                        pass
                time.sleep(0.05)
        finally:
            _stop(process)
        log.seek(0)
        lines = log.read().splitlines()
    if not result["started"]:
        fatal = [line for line in lines if "level=fatal" in line or "failed to start" in line]
        last = (fatal or lines or [""])[-1]
        quoted = re.search(r'msg="((?:[^"\\]|\\.)*)"', last)
        message = json.loads(f'"{quoted.group(1)}"') if quoted else last
        result["error"] = message.replace(str(config), "FILE")
        if process.returncode is None:
            result["error"] = f"no answer within {timeout:.0f} s: {result['error']}"
    with open("/proc/mounts") as mounts:
        inside = [m.split()[1] for m in mounts if m.split()[1].startswith(root)]
    for mount in sorted(inside, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)
    shutil.rmtree(root, ignore_errors=True)
    return result


VALIDATE_FLAGS = ["--bridge=none", "--iptables=false"]
# One line per file: name, exit code, dockerd's last line (its verdict).
VALIDATE_SCRIPT = (
    'for f in /corpus/*.json; do out=$(dockerd --validate --config-file "$f" '
    + " ".join(VALIDATE_FLAGS)
    + ' 2>&1); rc=$?; printf "%s\\t%s\\t%s\\n" "$(basename "$f")" "$rc" '
    '"$(printf "%s" "$out" | tail -n 1)"; done'
)
VALIDATE_SECONDS = 120  # the container's life: all files of one engine take about 10 s


def validate_in_image(
    client, image: str, files: list[str], labels: dict[str, str], name: str
) -> tuple[str, dict[str, dict]]:
    """``dockerd --validate`` on each of ``files`` (in this directory), in one ``image`` container.

    Returns dockerd's ``--version`` line and ``{file: {"ok": bool, "said": str}}``
    (``said``: the last line of a refusal, the file's path shown as FILE). The
    container (``name``, ``labels``, no network) is removed whatever happens;
    it stops by itself after VALIDATE_SECONDS. AssertionError when the loop fails.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for file in files:
            archive.add(HERE / file, arcname=f"corpus/{file}")
    container = client.containers.create(
        image,
        entrypoint=["sleep", str(VALIDATE_SECONDS)],
        labels=labels,
        name=name,
        network_disabled=True,
    )
    try:
        container.start()
        container.put_archive("/", buffer.getvalue())
        version = container.exec_run(["dockerd", "--version"]).output.decode().strip()
        code, output = container.exec_run(["sh", "-c", VALIDATE_SCRIPT])
        assert code == 0, f"the --validate loop in {image} failed: {output.decode()[-300:]}"
    finally:
        container.remove(force=True, v=True)
    answers = {}
    for line in output.decode().splitlines():
        file, status, said = line.split("\t", 2)
        ok = status == "0"
        answers[file] = {"ok": ok, "said": "" if ok else said.replace(f"/corpus/{file}", "FILE")}
    return version, answers


def measure_validate(pairs: list[str]) -> int:
    """``--validate ENGINE=IMAGE``...: record each engine's answers into cases.json."""
    import docker  # only this mode needs the Docker SDK

    client = docker.from_env()
    index = json.loads(CASES.read_text())
    files = sorted({case["file"] for case in index["cases"]})
    for pair in pairs:
        engine, _, image = pair.partition("=")
        version, answers = validate_in_image(
            client,
            image,
            files,
            {"mirrorcheck.measure": "daemon-json-corpus"},
            f"mirrorcheck-measure-validate-{os.getpid()}",
        )
        for case in index["cases"]:
            case.setdefault("dockerd_validate", {})[engine] = answers[case["file"]]
        index["measured_with"].setdefault("validate", {})[engine] = version
        print(f"{engine}: {version}: {sum(not a['ok'] for a in answers.values())} refused")
    CASES.write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dockerd", default="/usr/sbin/dockerd")
    parser.add_argument(
        "--validate",
        action="append",
        default=[],
        metavar="ENGINE=IMAGE",
        help="measure dockerd --validate of that engine's node image instead (23.0 and later)",
    )
    args = parser.parse_args(argv)
    if args.validate:
        return measure_validate(args.validate)
    version = subprocess.run(
        [args.dockerd, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if " 20.10." not in version:
        print(f"{args.dockerd} is not Engine 20.10: {version}", file=sys.stderr)
        return 2
    index = json.loads(CASES.read_text())
    measured: dict[str, dict] = {}
    for case in index["cases"]:
        name = case["file"]
        if name not in measured:
            measured[name] = start_dockerd(args.dockerd, HERE / name)
            print(f"{name}: {'started' if measured[name]['started'] else 'refused'}", flush=True)
        result = measured[name]
        case["dockerd_20_10_starts"] = result["started"]
        case["dockerd_20_10_error"] = result["error"]
        case["dockerd_20_10_mirrors"] = result["mirrors"]
    index["measured_with"]["dockerd"] = f"{args.dockerd}: {version}"
    CASES.write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Opens a local HTML file in headless Chromium and watches it through the DevTools protocol.

The report controls use it to see ``report.html`` as a reader would: what
rendered, what the console said, whether anything was fetched from outside the
file, and a screenshot. Chromium runs offline: the flags below stop it from
reaching out for updates, sync or field trials, and each visit gets a new,
empty profile.

Usage::

    with open_page(Path("reports/report.html")) as page:
        rows = page.evaluate("document.querySelectorAll('#mc-nodes tbody tr').length")
        page.screenshot(Path("reports/report.png"))
        assert not page.console_errors, page.console_errors
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Debian's chromium, as root: no sandbox; no GPU; and every background fetch off.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:", "chrome:", "devtools:")


class BrowserError(RuntimeError):
    """Chromium could not be started or driven; the message says what and the fix."""


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Page:
    """An open page: evaluate JavaScript, take a screenshot, read what the page logged."""

    connection: object
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    _next_id: int = 0

    def command(self, method: str, **params: object) -> dict:
        """Send a DevTools command and return its result, noting every event on the way."""
        self._next_id += 1
        wanted = self._next_id
        self.connection.send(json.dumps({"id": wanted, "method": method, "params": params}))
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while time.monotonic() < deadline:
            message = json.loads(self.connection.recv())
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            self._note(message)
        raise BrowserError(f"{method}: no answer within {COMMAND_TIMEOUT} s")

    def wait_for(self, event: str, timeout: float = COMMAND_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.connection.recv())
            self._note(message)
            if message.get("method") == event:
                return message.get("params", {})
        raise BrowserError(f"{event} did not come within {timeout} s")

    def _note(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            texts = [str(a.get("value", a.get("description", ""))) for a in params.get("args", [])]
            self.console_errors.append("console: " + " ".join(texts))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.console_errors.append(f"exception: {text}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.console_errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(LOCAL_SCHEMES):
                self.outside_requests.append(url)

    def evaluate(self, expression: str) -> object:
        """The value of a JavaScript expression in the page (JSON-able values only)."""
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """The whole page (not only the viewport) as a PNG."""
        width, height = self.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = self.command(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


def _devtools_port(profile: Path, process: subprocess.Popen, log: Path) -> int:
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if active.exists() and active.read_text().strip():
            return int(active.read_text().splitlines()[0])
        if process.poll() is not None:
            break
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
    raise BrowserError(f"chromium did not open its DevTools port within {START_TIMEOUT} s:\n{tail}")


def _page_socket_url(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
        targets = json.load(answer)
    pages = [t for t in targets if t.get("type") == "page"]
    if not pages:
        raise BrowserError(f"chromium on port {port} lists no page: {targets}")
    return pages[0]["webSocketDebuggerUrl"]


@contextlib.contextmanager
def open_page(html_file: Path, width: int = 1280, height: int = 900) -> Iterator[Page]:
    """Start Chromium with a fresh profile, load ``html_file``, and stop Chromium afterwards."""
    import websocket  # websocket-client

    executable = chromium_path()
    if executable is None:
        raise BrowserError(
            "chromium is not installed. Fix: apt-get install -y chromium (./run does it as root)"
        )
    with tempfile.TemporaryDirectory(prefix="mirrorcheck-chromium-") as scratch:
        profile = Path(scratch) / "profile"
        profile.mkdir()
        log = Path(scratch) / "chromium.log"
        command = [
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        with log.open("wb") as output:
            process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        connection = None
        try:
            port = _devtools_port(profile, process, log)
            # Chromium refuses sockets that send an Origin it does not allow; send none.
            connection = websocket.create_connection(
                _page_socket_url(port), suppress_origin=True, timeout=COMMAND_TIMEOUT
            )
            page = Page(connection)
            for domain in ("Runtime", "Log", "Page", "Network"):
                page.command(f"{domain}.enable")
            page.command("Page.navigate", url=html_file.resolve().as_uri())
            page.wait_for("Page.loadEventFired")
            page.evaluate("document.readyState")  # drains the events logged while loading
            yield page
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Stop the Chromium this module started: its own process group, nothing else."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

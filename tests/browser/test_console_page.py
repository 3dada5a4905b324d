"""The console page in a real browser: headless Chromium, driven over the DevTools protocol, opens the URL
that get_console gives, shows the boot log, takes typing, and shows the guest's answer.

Needs Debian's ``chromium`` package (``apt-get install -y chromium``). Without it the test skips, except
under ``CI=true``, where it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, IN_CI, Server, database_url, run_server

UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)

# The terminal's text, line by line, from xterm.js's buffer (the page exposes the Terminal as cloudletTerminal).
SCREEN_JS = """(() => {
  const t = window.cloudletTerminal;
  if (!t) return "";
  const b = t.buffer.active, lines = [];
  for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
  return lines.join("\\n");
})()"""


class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out)."""

    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int) -> None:
        self.process, self._out, self._in = process, to_browser, from_browser
        self._next_id = 0
        self._buffer = b""

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                raise TimeoutError("Chromium did not answer over the DevTools pipe")
            ready, _, _ = select.select([self._in], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise ConnectionError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout: float = 30) -> dict[str, Any]:
        self._next_id += 1
        request: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self._out, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            message = self._message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})  # type: ignore[no-any-return]


@contextlib.contextmanager
def chromium() -> Iterator[DevTools]:
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()

    def as_fd3_fd4() -> None:  # the child's DevTools pipe must be fds 3 and 4
        os.dup2(to_browser_r, 3)
        os.dup2(from_browser_w, 4)

    # Chromium's helper processes may still write to the profile while it is removed
    with tempfile.TemporaryDirectory(prefix="cloudlet-chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--window-size=1200,800", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=as_fd3_fd4, close_fds=False,  # noqa: PLW1509 (only pytest's thread runs here)
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        try:
            yield DevTools(process, to_browser_w, from_browser_r)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            os.close(to_browser_w)
            os.close(from_browser_r)


class Page:
    def __init__(self, browser: DevTools, url: str) -> None:
        self.browser = browser
        target = browser.call("Target.createTarget", {"url": url})["targetId"]
        self.session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def evaluate(self, expression: str) -> Any:
        result = self.browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                   session=self.session)
        return result["result"].get("value")

    def screen(self) -> str:
        return str(self.evaluate(SCREEN_JS) or "")

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear on the console page; it shows:\n{screen}")
            time.sleep(0.2)

    def type(self, text: str) -> None:
        self.evaluate("window.cloudletTerminal.focus()")
        self.browser.call("Input.insertText", {"text": text}, session=self.session)
        for kind in ("keyDown", "keyUp"):
            self.browser.call("Input.dispatchKeyEvent", {
                "type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
                **({"text": "\r"} if kind == "keyDown" else {}),
            }, session=self.session)

    def screenshot(self, path: Path) -> None:
        import base64

        data = self.browser.call("Page.captureScreenshot", {"format": "png"}, session=self.session)["data"]
        path.write_bytes(base64.b64decode(data))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("CI=true but Chromium is not installed (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed (apt-get install -y chromium): the console page test needs it")
    with database_url("sqlite") as url, run_server(url, tmp_path_factory.mktemp("console-server")) as srv:
        yield srv


def test_console_page_shows_boot_log_and_answers_commands(server: Server, tmp_path: Path) -> None:
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"APIKey {ADMIN_TOKEN}"}, timeout=30)
    r = api.post("/cloud/v2/instances/1/1", json={
        "flavor": "g1-standard-2-4", "name": "console-test", "interfaces": [{"type": "external"}],
        "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}],
    })
    assert r.status_code == 200, r.text
    task = api.get(f"/cloud/v1/tasks/{r.json()['tasks'][0]}").json()
    assert task["state"] == "FINISHED", task
    instance_id = task["created_resources"]["instances"][0]
    instance = api.get(f"/cloud/v1/instances/1/1/{instance_id}").json()
    address = instance["addresses"]["public"][0]["addr"]
    console = api.get(f"/cloud/v1/instances/1/1/{instance_id}/get_console").json()["remote_console"]
    assert console["type"] == "novnc" and console["url"].startswith(server.url + "/console/vnc_auto.html?path=")

    try:
        with chromium() as browser:
            page = Page(browser, console["url"])
            try:
                boot = page.wait_for("console-test login:")
                assert "Linux version" in boot and "Hostname set to <console-test>" in boot and address in boot
                assert page.evaluate("document.title") == "console-test - cloudlet console"
                assert page.evaluate("document.getElementById('status').textContent") == "connected"
                page.type("root")
                page.wait_for("Password:")
                page.type("secret")
                page.wait_for("root@console-test:~#")
                page.type("hostname")
                screen = page.wait_for("hostname\nconsole-test\n")
                assert "secret" not in screen
                page.type("ip addr")
                page.wait_for(f"inet {address}/20")
            finally:
                page.screenshot(tmp_path / "console.png")
            # a token another cloudlet signed (here: a mangled one) opens nothing
            bad = Page(browser, server.url + "/console/serial.html?token=bm9wZQ.bm9wZQ")
            deadline = time.monotonic() + 15
            while "Console unavailable" not in str(bad.evaluate("document.body && document.body.innerText")):
                assert time.monotonic() < deadline, "the page for a bad token did not say it is unavailable"
                time.sleep(0.2)
    finally:
        api.close()

"""Real cloudlet processes for the reliability tests: ``cloudlet serve`` (with flags) and ``cloudlet worker``,
and a SIGKILL that takes down a server's granian worker process too (killing only granian's parent would
leave its worker serving, orphaned)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import ADMIN_TOKEN, _free_port

HEADERS = {"Authorization": f"APIKey {ADMIN_TOKEN}"}


class Process:
    def __init__(self, popen: subprocess.Popen[bytes], log: Path, url: str | None = None) -> None:
        self.popen = popen
        self.log = log
        self.url = url

    def descendants(self) -> list[int]:
        found, queue = [], [self.popen.pid]
        while queue:
            pid = queue.pop()
            for path in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    children = [int(c) for c in path.read_text().split()]
                    found.extend(children)
                    queue.extend(children)
        return found

    def kill(self) -> None:
        """SIGKILL the process and everything it started, parent first (so nothing is respawned)."""
        children = self.descendants()
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait()
        for pid in children:  # reaped by init; wait until they are gone
            deadline = time.monotonic() + 10
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                if _is_zombie(pid):
                    break
                time.sleep(0.02)

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _env(db_url: str, data_dir: Path, env: dict[str, str] | None) -> dict[str, str]:
    return {**os.environ, "CLOUDLET_DATA_DIR": str(data_dir), "CLOUDLET_DATABASE_URL": db_url,
            "CLOUDLET_ADMIN_API_KEY": ADMIN_TOKEN, "CLOUDLET_SIM_PROFILE": "instant", **(env or {})}


def start_server(db_url: str, data_dir: Path, *, env: dict[str, str] | None = None, args: tuple[str, ...] = (),
                 log_name: str = "server.log", port: int | None = None) -> Process:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    log = data_dir / log_name
    with log.open("ab") as out:
        popen = subprocess.Popen([sys.executable, "-m", "cloudlet", "serve", "--host", "127.0.0.1", "--port",
                                  str(port), *args], env=_env(db_url, data_dir, env), stdout=out,
                                 stderr=subprocess.STDOUT)
    server = Process(popen, log, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        if popen.poll() is not None:
            raise RuntimeError(f"cloudlet serve exited early:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/v1/regions", headers=HEADERS, timeout=2).status_code < 500:
                return server
        if time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"cloudlet serve did not answer in 60 s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def start_worker(db_url: str, data_dir: Path, *, env: dict[str, str] | None = None, concurrency: int = 8,
                 log_name: str = "worker.log") -> Process:
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / log_name
    with log.open("ab") as out:
        popen = subprocess.Popen([sys.executable, "-m", "cloudlet", "worker", "--concurrency", str(concurrency),
                                  "--grace", "2"], env=_env(db_url, data_dir, env), stdout=out,
                                 stderr=subprocess.STDOUT)
    return Process(popen, log)


@contextlib.contextmanager
def server(db_url: str, data_dir: Path, **kwargs: object) -> Iterator[Process]:
    proc = start_server(db_url, data_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield proc
    finally:
        proc.stop()

"""Shared fixtures. Every API test runs once per database backend: ``[sqlite]`` and ``[postgres]``.

PostgreSQL comes from ``CLOUDLET_TEST_PG_URL`` (default: the machine's server, database ``test``);
each test session makes its own database there and drops it afterwards. Without a reachable
server the ``[postgres]`` tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloudlet.config import Settings

ADMIN_TOKEN = "test-admin-token"
PG_URL = os.environ.get("CLOUDLET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ["sqlite", "postgres"]


def _pg_reachable() -> bool:
    host_port = PG_URL.split("@", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 5432)), timeout=1):
            return True
    except OSError:
        return False


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def database_url(backend: str) -> Iterator[str]:
    """A fresh, empty database of the backend for one test session."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cloudlet-test-") as tmp:
            yield f"sqlite:///{tmp}/cloudlet.db"
        return
    if not _pg_reachable():
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is not reachable at {PG_URL}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL}")
    name = f"cloudlet_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class LifespanApp:
    """Runs an ASGI app's lifespan (start-up and shut-down) around in-process tests."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._receive: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LifespanApp:
        async def send(message: dict[str, Any]) -> None:
            await self._sent.put(message)

        self._task = asyncio.create_task(
            self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, self._receive.get, send)
        )
        await self._receive.put({"type": "lifespan.startup"})
        message = await asyncio.wait_for(self._sent.get(), timeout=60)
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"start-up failed: {message}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._receive.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self._sent.get(), timeout=60)
        if self._task is not None:
            await self._task


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def db_url(backend: str) -> Iterator[str]:
    with database_url(backend) as url:
        yield url


@pytest.fixture(scope="session")
async def app(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """The app in this process (``instant`` profile, in-process workers), started once per backend."""
    from cloudlet.app import create_app

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"), database_url=db_url, admin_api_key=ADMIN_TOKEN,
        sim_profile="instant", sim_hosts=50, log_level="warning",
    )
    application = create_app(settings)
    async with LifespanApp(application):
        # Every test's project belongs to client 1: give it room for the whole session's resources.
        # Quota tests set their own limits (on their own clients).
        from cloudlet.quotas.repository import set_limits
        from cloudlet.seed import default_quota_limits

        runtime = application.app.state.runtime
        async with runtime.db.transaction() as conn:
            await set_limits(conn, 1, 1, {k: 1_000_000 for k in default_quota_limits()})
        yield application


@pytest.fixture(scope="session")
def runtime(app: Any) -> Any:
    return app.app.state.runtime


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client authenticated as the admin, talking to the in-process app."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cloudlet.test",
                                 headers={"Authorization": f"APIKey {ADMIN_TOKEN}"}, timeout=30) as c:
        yield c


@pytest.fixture
async def project_id(runtime: Any) -> int:
    """A fresh project of the default client, so each test's lists hold only its own resources."""
    from cloudlet.projects.service import create_project

    async with runtime.db.transaction() as conn:
        project = await create_project(conn, client_id=1, name=f"test-{uuid.uuid4().hex[:10]}")
    return int(project.id)


# --- a real `cloudlet serve` process, for the SDK end-to-end tests ---------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def kill(self) -> None:
        """SIGKILL the server and its granian worker: a crash, not a shutdown."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group; SIGKILL what is left after 20 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def run_server(db_url: str, data_dir: Path, *, profile: str = "instant", extra_env: dict[str, str] | None = None
               ) -> Iterator[Server]:
    port = _free_port()
    log = data_dir / "server.log"
    env = {**os.environ, "CLOUDLET_DATA_DIR": str(data_dir), "CLOUDLET_DATABASE_URL": db_url,
           "CLOUDLET_ADMIN_API_KEY": ADMIN_TOKEN, "CLOUDLET_SIM_PROFILE": profile, **(extra_env or {})}
    with log.open("wb") as out:
        # its own process group: granian runs the app in a child process, and a kill must reach both
        process = subprocess.Popen(
            [sys.executable, "-m", "cloudlet", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"cloudlet serve exited early:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/v1/regions", headers={"Authorization": f"APIKey {ADMIN_TOKEN}"},
                             timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"cloudlet serve did not answer in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield Server(url, process, log)
    finally:
        stop_server(process)

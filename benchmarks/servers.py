"""The processes under test, all on loopback: ``cloudlet serve``, the raw granian ceiling app, moto's server;
and the databases behind them (a SQLite file, or a fresh PostgreSQL database dropped afterwards)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
MOTO_VENV = Path(__file__).resolve().parent / ".venv-moto"
ADMIN_TOKEN = "bench-admin-token"
AUTH = {"Authorization": f"APIKey {ADMIN_TOKEN}"}
# moto routes a request to a service by the credential scope of a SigV4-shaped Authorization header;
# it does not check the signature unless told to.
MOTO_REGION = "us-east-1"
MOTO_AUTH = {
    "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{MOTO_REGION}/ec2/aws4_request, "
                     "SignedHeaders=content-type;host;x-amz-date, Signature=00",
    "Content-Type": "application/x-www-form-urlencoded",
}
PG_URL = os.environ.get("CLOUDLET_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


class BenchmarkError(RuntimeError):
    """The harness cannot run as asked (a tool is missing, a server did not start, an answer was wrong)."""


class Server:
    def __init__(self, name: str, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.url = url
        self.process = process
        self.log = log

    def stop(self) -> None:
        """End the server before its context does (its database connections with it)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def check_alive(self) -> None:
        """Raise a BenchmarkError that says how the server ended, if it has."""
        if self.process.poll() is not None:
            raise BenchmarkError(f"{self.name} is no longer running (exit code {self.process.returncode}; a "
                                 f"negative code is the signal that ended it). Its log {self.log}:\n{_tail(self.log)}")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and all its descendants (granian's workers are
    children of the process started). A noisy machine moves req/s a lot; CPU per request much less."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(p, 0.0) for p in tree)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _process(name: str, argv: list[str], *, env: dict[str, str], log: Path, url: str,
             ready: Callable[[str], bool], timeout: float = 120) -> Iterator[Server]:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = Server(name, url, process, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise BenchmarkError(f"{name} exited at start-up (code {process.returncode}):\n{_tail(log)}")
            try:
                if ready(url):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise BenchmarkError(f"{name} did not answer within {timeout:.0f} s:\n{_tail(log)}")
            time.sleep(0.2)
        yield server
    finally:
        server.stop()


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def cloudlet(name: str, database_url: str, data_dir: Path, *, sim_hosts: int) -> contextlib.AbstractContextManager[Server]:
    """``cloudlet serve`` (one API process, granian, in-process task workers) under the ``instant`` profile."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ, "CLOUDLET_DATA_DIR": str(data_dir), "CLOUDLET_DATABASE_URL": database_url,
        "CLOUDLET_ADMIN_API_KEY": ADMIN_TOKEN, "CLOUDLET_SIM_HOSTS": str(sim_hosts), "CLOUDLET_LOG_LEVEL": "warning",
    }
    argv = [sys.executable, "-m", "cloudlet", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--sim-profile", "instant"]

    def ready(url: str) -> bool:
        return httpx.get(f"{url}/v1/regions", headers=AUTH, timeout=5).status_code == 200

    return _process(name, argv, env=env, log=data_dir / "server.log", url=f"http://127.0.0.1:{port}", ready=ready)


def ceiling(body_file: Path, work: Path) -> contextlib.AbstractContextManager[Server]:
    """The bare ASGI app of ceiling_app.py on granian, configured as ``cloudlet serve`` configures it."""
    port = free_port()
    env = {**os.environ, "BENCH_CEILING_BODY": str(body_file), "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "benchmarks.ceiling_app", "127.0.0.1", str(port)]

    def ready(url: str) -> bool:
        return httpx.get(url, timeout=5).status_code == 200

    return _process("ceiling", argv, env=env, log=work / "ceiling.log", url=f"http://127.0.0.1:{port}", ready=ready)


def ensure_moto(log: Callable[[str], None] = print) -> Path:
    """The moto_server of benchmarks/.venv-moto, made on first use (``pip install 'moto[server]'``)."""
    binary = MOTO_VENV / "bin" / "moto_server"
    if binary.exists():
        return binary
    log(f"creating {MOTO_VENV.relative_to(REPO)} with moto[server] (once) ...")
    subprocess.run([sys.executable, "-m", "venv", str(MOTO_VENV)], check=True)
    result = subprocess.run([str(MOTO_VENV / "bin" / "pip"), "install", "-q", "moto[server]"],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 or not binary.exists():
        raise BenchmarkError(f"could not install moto[server] into {MOTO_VENV}:\n{result.stdout}\n{result.stderr}")
    return binary


def moto_python() -> Path:
    return MOTO_VENV / "bin" / "python"


def moto(name: str, work: Path) -> contextlib.AbstractContextManager[Server]:
    """moto's own threaded server (``moto_server``), as a user would start it."""
    port = free_port()
    argv = [str(ensure_moto()), "-H", "127.0.0.1", "-p", str(port)]

    def ready(url: str) -> bool:
        return httpx.get(f"{url}/moto-api/data.json", timeout=5).status_code == 200

    return _process(name, argv, env=dict(os.environ), log=work / f"{name}.log", url=f"http://127.0.0.1:{port}",
                    ready=ready)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def database(backend: str, work: Path, label: str) -> Iterator[str]:
    """An empty database for one dataset: a SQLite file in ``work``, or ``cloudlet_bench_<random>_<label>``."""
    if backend == "sqlite":
        path = work / f"{label}.db"
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = f"cloudlet_bench_{uuid.uuid4().hex[:8]}_{label}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        raise BenchmarkError(f"PostgreSQL is not reachable at {PG_URL} ({exc}); set CLOUDLET_BENCH_PG_URL "
                             "or run with --backends sqlite") from exc
    try:
        yield f"{PG_URL.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def postgres_version() -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()

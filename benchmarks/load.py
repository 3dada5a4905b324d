"""Load generators, each in a process of its own apart from the servers.

- ``run_wrk``: wrk (``-t1``, fixed connections, bounded duration) cycling through prepared requests
  (requests.lua), with latency percentiles from wrk's own histogram.
- ``run_python``: the fallback for requests so slow that a duration-bounded wrk run would finish
  too few of them (moto's filtered DescribeInstances takes seconds): httpx, same connections,
  bounded by duration but finishing at least one request.
- ``cloudlet_creates`` / ``moto_creates``: count-bounded create loaders (16 concurrent workers, each on a
  keep-alive connection of benchmarks/http1.py, far lighter than httpx); a create counts when the
  instance is ACTIVE (cloudlet: its task FINISHED; moto: ``running``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from benchmarks.http1 import Connection, HttpError
from benchmarks.results import Sample
from benchmarks.servers import AUTH, MOTO_AUTH, BenchmarkError

LUA = Path(__file__).with_name("requests.lua")
WRK_TIMEOUT = "30s"  # far above any latency measured, so slow answers count as slow, not as errors


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """What one case requests: a server, the requests to cycle through, the headers they carry."""

    base_url: str
    requests: tuple[tuple[str, str, str], ...]  # (method, path, body)
    headers: dict[str, str]
    check: Callable[[httpx.Response], None]  # raises BenchmarkError when an answer is not what it should be


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian's packages when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True, env=env)
        result = subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, text=True, env=env,
                                check=False)
        found = shutil.which("wrk")
        if found:
            return found
        raise BenchmarkError(f"could not install wrk with apt-get:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    raise BenchmarkError("wrk is not installed: install it (Debian/Ubuntu: `sudo apt-get install -y wrk`) and rerun")


def wrk_version() -> str:
    result = subprocess.run([ensure_wrk(), "-v"], capture_output=True, text=True, check=False)
    first = (result.stdout or result.stderr).splitlines()
    return first[0].split(" [")[0].removeprefix("wrk ") if first else "?"


def _request_file(target: Target, directory: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix="requests-", suffix=".tsv", dir=directory)
    with os.fdopen(fd, "w") as out:
        for method, path, body in target.requests:
            out.write(f"{method}\t{path}\t{body}\n" if body else f"{method}\t{path}\n")
    return Path(name)


def run_wrk(target: Target, *, seconds: float, concurrency: int, work: Path) -> Sample:
    request_file = _request_file(target, work)
    argv = [ensure_wrk(), "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", f"--timeout={WRK_TIMEOUT}",
            "--latency", "-s", str(LUA)]
    for name, value in target.headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv += [target.base_url, "--", str(request_file)]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, check=False)
    finally:
        request_file.unlink(missing_ok=True)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise BenchmarkError(f"wrk failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Sample(requests=data["requests"], seconds=data["duration_us"] / 1e6, p50_ms=data["p50_us"] / 1000,
                  p99_ms=data["p99_us"] / 1000, errors=errors)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the largest value for p99 of fewer than 100 values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _sample(latencies: list[float], errors: int, elapsed: float) -> Sample:
    return Sample(requests=len(latencies), seconds=elapsed, p50_ms=percentile(latencies, 50) * 1000,
                  p99_ms=percentile(latencies, 99) * 1000, errors=errors)


async def _python_load(target: Target, seconds: float, concurrency: int) -> Sample:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=target.base_url, headers=target.headers, limits=limits,
                                 timeout=600) as client:
        started = time.perf_counter()
        deadline = started + seconds
        counter = iter(range(1 << 62))

        async def worker() -> None:
            nonlocal errors
            while True:
                n = next(counter)
                if n > 0 and time.perf_counter() >= deadline:
                    return
                method, path, body = target.requests[n % len(target.requests)]
                t0 = time.perf_counter()
                response = await client.request(method, path, content=body or None)
                latencies.append(time.perf_counter() - t0)
                if response.status_code >= 400:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return _sample(latencies, errors, time.perf_counter() - started)


def run_python(target: Target, *, seconds: float, concurrency: int) -> Sample:
    return asyncio.run(_python_load(target, seconds, concurrency))


def probe(target: Target, *, tries: int = 3, budget: float = 2.0) -> float:
    """Check the answers are right (``target.check``) and return how long one request takes, in seconds.

    The first request may pay for cold caches, so the answer is the fastest of the later ones; a
    slow target (over ``budget`` seconds in all) is not asked again.
    """
    latencies: list[float] = []
    with httpx.Client(base_url=target.base_url, headers=target.headers, timeout=600) as client:
        for n in range(tries):
            method, path, body = target.requests[n % len(target.requests)]
            t0 = time.perf_counter()
            response = client.request(method, path, content=body or None)
            latencies.append(time.perf_counter() - t0)
            target.check(response)
            if sum(latencies) > budget:
                break
    return min(latencies[1:]) if len(latencies) > 1 else latencies[0]


# --- creates ---------------------------------------------------------------------------------------


CreateOne = Callable[[Connection, int], Awaitable[None]]


async def _run_workers(base_url: str, headers: dict[str, str], count: int, workers: int,
                       create_one: CreateOne) -> Sample:
    """Run ``create_one(connection, n)`` for n in range(count) on ``workers`` concurrent workers, each with
    a keep-alive connection of its own (benchmarks/http1.py); time each and all."""
    latencies: list[float] = []
    errors = 0
    next_index = iter(range(count))

    async def worker() -> None:
        nonlocal errors
        connection = Connection(base_url, headers)
        try:
            for n in next_index:
                t0 = time.perf_counter()
                try:
                    await create_one(connection, n)
                except (BenchmarkError, HttpError, OSError, ValueError):
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return _sample(latencies, errors, time.perf_counter() - started)


CREATE_BODY = {
    "flavor": "g1-standard-1-2",
    "interfaces": [{"type": "external"}],
    "volumes": [{"source": "image", "image_id": "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001", "size": 10}],
}


async def _cloudlet_creates(base_url: str, count: int, workers: int, label: str) -> Sample:
    async def create_one(connection: Connection, n: int) -> None:
        body = {**CREATE_BODY, "name": f"{label}-{n:06d}", "tags": {"env": "bench", "team": "team-00"}}
        status, answer = await connection.request("POST", "/cloud/v2/instances/1/1", json.dumps(body).encode())
        if status != 200:
            raise BenchmarkError(f"create answered {status}: {answer[:300]!r}")
        (task_id,) = json.loads(answer)["tasks"]
        deadline = time.perf_counter() + 60
        while True:  # under `instant` the first read already shows FINISHED; verify, never assume
            task = json.loads((await connection.request("GET", f"/v1/tasks/{task_id}"))[1])
            if task["state"] == "FINISHED":
                if len(task["created_resources"]["instances"]) != 1:
                    raise BenchmarkError(f"task {task_id} finished without an instance: {task}")
                return
            if task["state"] == "ERROR" or time.perf_counter() > deadline:
                raise BenchmarkError(f"task {task_id} ended {task['state']}: {task.get('error')}")
            await asyncio.sleep(0.01)

    return await _run_workers(base_url, AUTH, count, workers, create_one)


def cloudlet_creates(base_url: str, *, count: int, workers: int, label: str) -> Sample:
    return asyncio.run(_cloudlet_creates(base_url, count, workers, label))


_INSTANCE_ID = re.compile(r"<instanceId>(i-[0-9a-f]+)</instanceId>")
_STATE = re.compile(r"<instanceState>\s*<code>\d+</code>\s*<name>([a-z-]+)</name>")


async def _moto_creates(base_url: str, image_id: str, count: int, workers: int, label: str) -> Sample:
    form = "application/x-www-form-urlencoded"
    headers = {k: v for k, v in MOTO_AUTH.items() if k != "Content-Type"}

    async def create_one(connection: Connection, n: int) -> None:
        body = str(httpx.QueryParams({
            "Action": "RunInstances", "Version": "2016-11-15", "ImageId": image_id, "MinCount": "1",
            "MaxCount": "1", "InstanceType": "t3.micro", "TagSpecification.1.ResourceType": "instance",
            "TagSpecification.1.Tag.1.Key": "Name", "TagSpecification.1.Tag.1.Value": f"{label}-{n:06d}",
        })).encode()
        status, answer = await connection.request("POST", "/", body, form)
        text = answer.decode()
        found = _INSTANCE_ID.search(text)
        if status != 200 or found is None:
            raise BenchmarkError(f"RunInstances answered {status}: {text[:300]}")
        describe = str(httpx.QueryParams({"Action": "DescribeInstances", "Version": "2016-11-15",
                                          "InstanceId.1": found.group(1)})).encode()
        deadline = time.perf_counter() + 60
        while True:
            text = (await connection.request("POST", "/", describe, form))[1].decode()
            state = _STATE.search(text)
            if state is not None and state.group(1) == "running":
                return
            if time.perf_counter() > deadline:
                raise BenchmarkError(f"{found.group(1)} is not running: {text[:300]}")
            await asyncio.sleep(0.01)

    return await _run_workers(base_url, headers, count, workers, create_one)


def moto_creates(base_url: str, *, image_id: str, count: int, workers: int, label: str) -> Sample:
    return asyncio.run(_moto_creates(base_url, image_id, count, workers, label))

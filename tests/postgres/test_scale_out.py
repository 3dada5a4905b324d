"""Scale-out on PostgreSQL: 2 API processes and 2 workers, one worker SIGKILLed in the middle.

Drives 100 creates and 100 actions through both APIs at once, then checks the invariants: every task
terminal, every instance settled (no transitional state, no lock), no duplicate resources, quota
usage equal to what exists.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, _free_port, database_url, run_server

pytestmark = pytest.mark.postgres

HEADERS = {"Authorization": f"APIKey {ADMIN_TOKEN}"}
CREATES = 100
UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"
ENV = {"CLOUDLET_TASK_LEASE_SECONDS": "2", "CLOUDLET_INLINE_WORKERS": "0"}


@contextlib.contextmanager
def worker(db_url: str, data_dir: Path, name: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, **ENV, "CLOUDLET_DATABASE_URL": db_url, "CLOUDLET_DATA_DIR": str(data_dir),
           "CLOUDLET_ADMIN_API_KEY": ADMIN_TOKEN, "CLOUDLET_SIM_PROFILE": "fast"}
    with (data_dir / f"{name}.log").open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cloudlet", "worker", "--concurrency", "8", "--grace", "5"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_task(client: httpx.Client, task_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get(f"/v1/tasks/{task_id}").json()
        if task["state"] in ("FINISHED", "ERROR"):
            return task
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} still not terminal after {timeout} s")


def drive_one(client: httpx.Client, n: int) -> tuple[str, str | None]:
    """Create an instance, wait for it, then reboot it (retrying 409s while it is busy)."""
    body = {"flavor": "g1-standard-1-2", "interfaces": [{"type": "external"}], "name": f"scale-{n:03d}",
            "volumes": [{"source": "image", "image_id": UBUNTU, "size": 5}]}
    create_task = client.post("/v2/instances/1/1", json=body).json()["tasks"][0]
    task = wait_task(client, create_task)
    if task["state"] != "FINISHED":
        return create_task, None
    instance_id = task["created_resources"]["instances"][0]
    for _ in range(100):
        r = client.post(f"/v2/instances/1/1/{instance_id}/action", json={"action": "reboot"})
        if r.status_code == 200:
            return create_task, r.json()["tasks"][0]
        assert r.status_code == 409, r.text
        time.sleep(0.2)
    raise AssertionError(f"could not reboot {instance_id}")


def test_two_apis_two_workers_one_killed(tmp_path):
    with database_url("postgres") as url:
        api_a_dir, api_b_dir = tmp_path / "a", tmp_path / "b"
        api_a_dir.mkdir()
        api_b_dir.mkdir()
        with (
            run_server(url, api_a_dir, profile="fast", extra_env=ENV) as api_a,
            run_server(url, api_b_dir, profile="fast", extra_env=ENV) as api_b,
            worker(url, tmp_path, "worker-1") as victim,
            worker(url, tmp_path, "worker-2"),
        ):
            clients = [httpx.Client(base_url=s.url, headers=HEADERS, timeout=30) for s in (api_a, api_b)]
            killed = threading.Event()

            def kill_later() -> None:
                time.sleep(4)
                victim.send_signal(signal.SIGKILL)
                killed.set()

            threading.Thread(target=kill_later, daemon=True).start()
            with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
                results = list(pool.map(lambda n: drive_one(clients[n % 2], n), range(CREATES)))
            assert killed.is_set()
            client = clients[0]
            action_tasks = [a for _, a in results if a]
            for task_id in [c for c, _ in results] + action_tasks:
                assert wait_task(client, task_id)["state"] in ("FINISHED", "ERROR")
            assert len(action_tasks) == CREATES, "every create finished and was rebooted"

            active = client.get("/v1/tasks/1/1/active").json()
            assert active["count"] == 0
            instances = client.get("/v1/instances/1/1", params={"name": "scale-", "limit": 1000}).json()
            assert instances["count"] == CREATES
            for inst in instances["results"]:
                assert inst["task_id"] is None and inst["task_state"] is None, inst
                assert inst["status"] in ("ACTIVE", "ERROR"), inst
                assert len(inst["volumes"]) == 1 and len(inst["addresses"]["public"]) == 1
            ips = [i["addresses"]["public"][0]["addr"] for i in instances["results"]]
            assert len(set(ips)) == CREATES
            volumes = client.get("/v1/volumes/1/1", params={"limit": 1000})
            if volumes.status_code == 200:
                assert volumes.json()["count"] == CREATES
            quotas = client.get("/v2/regional_quotas/1/1").json()
            assert quotas["vm_count_usage"] == CREATES
            assert quotas["cpu_count_usage"] == CREATES
            assert quotas["external_ip_count_usage"] == CREATES
            for c in clients:
                c.close()
        # the killed worker held running tasks: the survivor took them over when their leases expired
        assert "task.lease_expired.resumed" in (tmp_path / "worker-2.log").read_text()

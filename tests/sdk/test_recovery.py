"""A server killed mid-task: after a restart the task is resumed, the instance ends ACTIVE and unlocked."""

from __future__ import annotations

import time

import httpx

from tests.conftest import ADMIN_TOKEN, database_url, run_server

HEADERS = {"Authorization": f"APIKey {ADMIN_TOKEN}"}
BODY = {
    "flavor": "g1-standard-1-2",
    "interfaces": [{"type": "external"}],
    "volumes": [{"source": "image", "image_id": "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001", "size": 10}],
    "name": "survivor",
}


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")


def test_task_running_when_the_process_dies_is_resumed(backend, tmp_path):
    lease = {"CLOUDLET_TASK_LEASE_SECONDS": "2"}
    with database_url(backend) as url:
        with run_server(url, tmp_path, profile="realistic", extra_env=lease) as srv:
            task_id = httpx.post(f"{srv.url}/v2/instances/1/1", json=BODY, headers=HEADERS).json()["tasks"][0]
            wait_for(lambda: httpx.get(f"{srv.url}/v1/tasks/{task_id}", headers=HEADERS).json()["state"] == "RUNNING")
            instance_id = httpx.get(f"{srv.url}/v1/tasks/{task_id}", headers=HEADERS).json()["data"]["instance_id"]
            srv.kill()
        with run_server(url, tmp_path, profile="instant", extra_env=lease) as srv:
            task = wait_for(lambda: (t := httpx.get(f"{srv.url}/v1/tasks/{task_id}", headers=HEADERS).json())
                            ["state"] in ("FINISHED", "ERROR") and t)
            assert task["state"] == "FINISHED", task
            assert task["created_resources"]["instances"] == [instance_id]
            inst = httpx.get(f"{srv.url}/v1/instances/1/1/{instance_id}", headers=HEADERS).json()
            assert inst["status"] == "ACTIVE" and inst["task_id"] is None and inst["task_state"] is None
            listed = httpx.get(f"{srv.url}/v1/instances/1/1", params={"name": "survivor"}, headers=HEADERS).json()
            assert listed["count"] == 1

"""Races: many clients at once against a real ``cloudlet serve`` (on PostgreSQL, two API processes).

- N actions on one instance at the same moment: exactly one is accepted, the rest get 409.
- N creates racing for the last free IP of a /29 subnet: exactly one gets it.
- N creates racing for the last unit of a quota: exactly one passes the limit.

Each race starts its threads on a barrier, so the requests leave together over separate connections.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, database_url
from tests.reliability.figures import FIGURES
from tests.reliability.servers import Process, start_server

RACERS = 12
UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"
HEADERS = {"Authorization": f"APIKey {ADMIN_TOKEN}"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    backend = request.param
    with database_url(backend) as url:
        args = ("--processes", "2") if backend == "postgres" else ()
        # fast: an action holds its instance's lock for about a second, long enough for every racer to arrive
        srv = start_server(url, tmp_path_factory.mktemp(f"race-{backend}"), args=args,
                           env={"CLOUDLET_SIM_PROFILE": "fast"})
        try:
            yield srv
        finally:
            srv.stop()


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


def wait_task(http: httpx.Client, task_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = ok(http.get(f"/v1/tasks/{task_id}"))
        if task["state"] in ("FINISHED", "ERROR"):
            return task  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not end in {timeout} s")


def tenant(http: httpx.Client, **quota: int) -> tuple[httpx.Client, int, int]:
    """A new client with its own key and project (and these quota limits): (its http client, project, client id)."""
    made = ok(http.post("/admin/v1/clients", json={"name": f"racer-{uuid.uuid4().hex[:8]}"}))
    key = ok(http.post("/admin/v1/api_keys", json={"name": "racer", "role": "client", "client_id": made["id"]}))
    if quota:
        ok(http.put(f"/admin/v1/regional_quotas/{made['id']}/1", json=quota))
    own = httpx.Client(base_url=str(http.base_url), headers={"Authorization": f"APIKey {key['token']}"}, timeout=60)
    project = ok(own.post("/v1/projects", json={"name": f"race-{uuid.uuid4().hex[:8]}"}))["id"]
    return own, project, made["id"]


def create_body(**extra: Any) -> dict[str, Any]:
    return {"flavor": "g1-standard-1-2", "name": f"racer-{uuid.uuid4().hex[:6]}", "interfaces": [{"type": "external"}],
            "volumes": [{"source": "image", "image_id": UBUNTU, "size": 5}], **extra}


def race(url: str, headers: dict[str, str], call: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """RACERS threads, each with its own connection, fire ``call`` at the same moment."""
    barrier = threading.Barrier(RACERS)
    clients = [httpx.Client(base_url=url, headers=headers, timeout=60) for _ in range(RACERS)]
    for c in clients:  # open the connections before the start
        c.get("/v1/regions")

    def run(c: httpx.Client) -> httpx.Response:
        barrier.wait()
        return call(c)

    try:
        with concurrent.futures.ThreadPoolExecutor(RACERS) as pool:
            answers = list(pool.map(run, clients))
    finally:
        for c in clients:
            c.close()
    FIGURES["concurrent requests raced"] += len(answers)
    return answers


def statuses(answers: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in answers)


class TestOneInstanceManyActions:
    @pytest.mark.parametrize("action", ["reboot", "stop"])
    def test_exactly_one_action_wins(self, server, action):
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as http:
            own, project, _ = tenant(http)
            (task,) = ok(own.post(f"/v2/instances/{project}/1", json=create_body()))["tasks"]
            instance = wait_task(own, task)["created_resources"]["instances"][0]
            answers = race(server.url, own.headers, lambda c: c.post(
                f"/v2/instances/{project}/1/{instance}/action", json={"action": action}))
            assert statuses(answers) == [200] + [409] * (RACERS - 1), [r.text for r in answers]
            for r in answers:
                if r.status_code == 409:
                    assert r.json()["exception_class"] == "ConflictError", r.text
            (winner,) = [r.json()["tasks"][0] for r in answers if r.status_code == 200]
            assert wait_task(own, winner)["state"] == "FINISHED"
            tasks = ok(own.get("/v1/tasks", params={"project_id": project, "limit": 100}))
            assert tasks["count"] == 2, tasks  # the create and the one action: the losers made no task
            inst = ok(own.get(f"/v1/instances/{project}/1/{instance}"))
            assert inst["task_id"] is None and inst["status"] == ("ACTIVE" if action == "reboot" else "SHUTOFF")
            own.close()


class TestLastIpOfASubnet:
    def test_never_two_winners(self, server):
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as http:
            own, project, _ = tenant(http)
            base = f"/{project}/1"
            (task,) = ok(own.post(f"/v1/networks{base}", json={"name": "race-net"}))["tasks"]
            network = wait_task(own, task)["created_resources"]["networks"][0]
            (task,) = ok(own.post(f"/v1/subnets{base}", json={"name": "race-29", "network_id": network,
                                                               "cidr": "10.99.0.0/29"}))["tasks"]
            subnet = wait_task(own, task)["created_resources"]["subnets"][0]
            # a /29 has 5 assignable addresses besides the gateway: take 4
            for _ in range(4):
                (task,) = ok(own.post(f"/v1/reserved_fixed_ips{base}", json={"type": "subnet",
                                                                             "subnet_id": subnet}))["tasks"]
                assert wait_task(own, task)["state"] == "FINISHED"
            answers = race(server.url, own.headers, lambda c: c.post(
                f"/v1/reserved_fixed_ips{base}", json={"type": "subnet", "subnet_id": subnet}))
            assert statuses(answers) == [200] + [400] * (RACERS - 1), [r.text for r in answers]
            assert all("no free IP address" in r.json()["message"] for r in answers if r.status_code == 400)
            (winner,) = [r.json()["tasks"][0] for r in answers if r.status_code == 200]
            assert wait_task(own, winner)["state"] == "FINISHED"
            ports = ok(own.get(f"/v1/reserved_fixed_ips{base}", params={"limit": 100}))["results"]
            addresses = [p["fixed_ip_address"] for p in ports]
            assert len(addresses) == 5 and len(set(addresses)) == 5, addresses
            own.close()

    def test_instances_racing_for_the_last_ip(self, server):
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as http:
            own, project, _ = tenant(http)
            base = f"/{project}/1"
            (task,) = ok(own.post(f"/v1/networks{base}", json={"name": "race-net"}))["tasks"]
            network = wait_task(own, task)["created_resources"]["networks"][0]
            (task,) = ok(own.post(f"/v1/subnets{base}", json={"name": "race-29", "network_id": network,
                                                               "cidr": "10.98.0.0/29"}))["tasks"]
            subnet = wait_task(own, task)["created_resources"]["subnets"][0]
            for _ in range(4):
                (task,) = ok(own.post(f"/v1/reserved_fixed_ips{base}", json={"type": "subnet",
                                                                             "subnet_id": subnet}))["tasks"]
                wait_task(own, task)
            iface = [{"type": "subnet", "network_id": network, "subnet_id": subnet}]
            answers = race(server.url, own.headers, lambda c: c.post(f"/v2/instances{base}",
                                                                     json=create_body(interfaces=iface)))
            assert statuses(answers) == [200] + [400] * (RACERS - 1), [r.text for r in answers]
            (winner,) = [r.json()["tasks"][0] for r in answers if r.status_code == 200]
            assert wait_task(own, winner)["state"] == "FINISHED"
            assert ok(own.get(f"/v1/instances{base}"))["count"] == 1
            own.close()


class TestLastUnitOfQuota:
    def test_never_two_winners(self, server):
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as http:
            own, project, client_id = tenant(http, vm_count_limit=3)
            for _ in range(2):
                (task,) = ok(own.post(f"/v2/instances/{project}/1", json=create_body()))["tasks"]
                assert wait_task(own, task)["state"] == "FINISHED"
            answers = race(server.url, own.headers, lambda c: c.post(f"/v2/instances/{project}/1",
                                                                     json=create_body()))
            assert statuses(answers) == [200] + [400] * (RACERS - 1), [r.text for r in answers]
            assert all(r.json()["exception_class"] == "QuotaLimitExceed" for r in answers if r.status_code == 400)
            (winner,) = [r.json()["tasks"][0] for r in answers if r.status_code == 200]
            assert wait_task(own, winner)["state"] == "FINISHED"
            quotas = ok(http.get(f"/v2/regional_quotas/{client_id}/1"))
            assert quotas["vm_count_usage"] == 3 == ok(own.get(f"/v1/instances/{project}/1"))["count"]
            own.close()

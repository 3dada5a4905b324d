"""Power actions: POST /v2/.../{id}/action and the deprecated v1 per-action endpoints (endpoints.md 2.6-2.12).

Under the default ``instant`` profile tasks have ended when the POST returns. The ``fast_client``
fixture runs a second app under the ``fast`` profile, where a running task can be watched.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from gcore.types.cloud import Instance, TaskIDList

from cloudlet.compute.base import DriverInfo
from cloudlet.compute.sim import CREATE_PHASES
from cloudlet.config import Settings
from tests.api.instances.test_create import create
from tests.conftest import ADMIN_TOKEN, LifespanApp, database_url

POWER_TASKS = {
    "start": "start_vm", "stop": "stop_vm", "reboot": "soft_reboot_vm", "reboot_hard": "hard_reboot_vm",
    "powercycle": "hard_reboot_vm", "suspend": "suspend_vm", "resume": "resume_vm",
}


# --- helpers shared with test_resize.py ------------------------------------------------------


async def new_instance(client: httpx.AsyncClient, project_id: int, **overrides: Any) -> str:
    task = await create(client, project_id, **overrides)
    if task["state"] != "FINISHED":
        task = await wait_task(client, task["id"])
    assert task["state"] == "FINISHED", task.get("error")
    return str(task["created_resources"]["instances"][0])


async def get_instance(client: httpx.AsyncClient, project_id: int, instance_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/instances/{project_id}/1/{instance_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def act(client: httpx.AsyncClient, project_id: int, instance_id: str, action: str) -> httpx.Response:
    return await client.post(f"/cloud/v2/instances/{project_id}/1/{instance_id}/action", json={"action": action})


async def act_ok(client: httpx.AsyncClient, project_id: int, instance_id: str, action: str) -> str:
    r = await act(client, project_id, instance_id, action)
    assert r.status_code == 200, r.text
    (task_id,) = TaskIDList.model_validate(r.json()).tasks
    return task_id


async def wait_until(fetch: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s; last seen: {value}")
        await asyncio.sleep(0.05)


async def wait_task(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        return (await client.get(f"/v1/tasks/{task_id}")).json()  # type: ignore[no-any-return]

    return await wait_until(fetch, lambda t: t["state"] in ("FINISHED", "ERROR"))  # type: ignore[no-any-return]


def state_of(instance: dict[str, Any]) -> tuple[str, str, str | None, str | None]:
    return instance["status"], instance["vm_state"], instance["task_state"], instance["task_id"]


async def task_count(client: httpx.AsyncClient, project_id: int) -> int:
    return int((await client.get("/v1/tasks", params={"project_id": project_id})).json()["count"])


async def arm_fault(client: httpx.AsyncClient, task_type: str) -> None:
    r = await client.post("/admin/v1/faults", json={"operation": task_type, "mode": "once"})
    assert r.status_code == 200, r.text


@pytest.fixture(autouse=True)
async def _delete_instances_afterwards(client: httpx.AsyncClient, project_id: int) -> AsyncIterator[None]:
    """Every test shares the session app's simulated hosts: give back the room this test took."""
    yield
    for inst in (await client.get(f"/v1/instances/{project_id}/1")).json()["results"]:
        await client.delete(f"/v1/instances/{project_id}/1/{inst['id']}")


# --- a second app under the ``fast`` profile ---------------------------------------------------


@pytest.fixture(scope="module")
def fast_db_url(backend: str) -> Iterator[str]:
    with database_url(backend) as url:
        yield url


@pytest.fixture(scope="module")
async def fast_app(fast_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    from cloudlet.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("fast"), database_url=fast_db_url,
                        admin_api_key=ADMIN_TOKEN, sim_profile="fast", sim_hosts=3, log_level="warning")
    application = create_app(settings)
    async with LifespanApp(application):
        yield application


@pytest.fixture(scope="module")
async def fast_client(fast_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fast_app), base_url="http://cloudlet.test",
                                 headers={"Authorization": f"APIKey {ADMIN_TOKEN}"}, timeout=30) as c:
        yield c


@pytest.fixture
async def fast_project(fast_app: Any) -> int:
    from cloudlet.projects.service import create_project

    async with fast_app.app.state.runtime.db.transaction() as conn:
        project = await create_project(conn, client_id=1, name=f"fast-{uuid.uuid4().hex[:10]}")
    return int(project.id)


# --- tests -----------------------------------------------------------------------------------


class TestPerformAction:
    @pytest.mark.parametrize(
        "before, action, status, vm_state",
        [
            ([], "stop", "SHUTOFF", "stopped"),
            (["stop"], "start", "ACTIVE", "active"),
            ([], "reboot", "ACTIVE", "active"),
            ([], "reboot_hard", "ACTIVE", "active"),
            (["stop"], "reboot_hard", "ACTIVE", "active"),
            ([], "powercycle", "ACTIVE", "active"),
            ([], "suspend", "SUSPENDED", "suspended"),
            (["suspend"], "resume", "ACTIVE", "active"),
            (["suspend"], "reboot_hard", "ACTIVE", "active"),
        ],
    )
    async def test_action_runs_its_task_to_the_final_state(self, client, project_id, before, action, status,
                                                           vm_state):
        instance_id = await new_instance(client, project_id)
        for step in before:
            await act_ok(client, project_id, instance_id, step)
        task_id = await act_ok(client, project_id, instance_id, action)
        task = (await client.get(f"/v1/tasks/{task_id}")).json()
        assert task["state"] == "FINISHED" and task["task_type"] == POWER_TASKS[action]
        assert task["created_resources"]["instances"] == []
        inst = await get_instance(client, project_id, instance_id)
        Instance.model_validate(inst)
        assert state_of(inst) == (status, vm_state, None, None)

    async def test_each_transition_moves_updated_at(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        since = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
        url = f"/v1/instances/{project_id}/1"
        assert (await client.get(url, params={"changes-since": since})).json()["count"] == 0
        await act_ok(client, project_id, instance_id, "stop")
        changed = (await client.get(url, params={"changes-since": since})).json()
        assert [i["id"] for i in changed["results"]] == [instance_id]
        assert (await client.get(url, params={"changes-before": since})).json()["count"] == 0

    async def test_start_accepts_activate_profile(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        await act_ok(client, project_id, instance_id, "stop")
        r = await client.post(f"/v2/instances/{project_id}/1/{instance_id}/action",
                              json={"action": "start", "activate_profile": True})
        assert r.status_code == 200, r.text
        assert (await get_instance(client, project_id, instance_id))["vm_state"] == "active"

    @pytest.mark.parametrize(
        "before, action, vm_state",
        [
            ([], "start", "active"),
            ([], "resume", "active"),
            (["stop"], "stop", "stopped"),
            (["stop"], "reboot", "stopped"),
            (["stop"], "suspend", "stopped"),
            (["stop"], "resume", "stopped"),
            (["suspend"], "suspend", "suspended"),
            (["suspend"], "stop", "suspended"),
            (["suspend"], "reboot", "suspended"),
            (["suspend"], "start", "suspended"),
        ],
    )
    async def test_wrong_state_is_409_and_changes_nothing(self, client, project_id, before, action, vm_state):
        instance_id = await new_instance(client, project_id)
        for step in before:
            await act_ok(client, project_id, instance_id, step)
        was, tasks = await get_instance(client, project_id, instance_id), await task_count(client, project_id)
        r = await act(client, project_id, instance_id, action)
        assert r.status_code == 409, r.text
        err = r.json()
        assert err["exception_class"] == "ConflictError"
        assert f"'{action}'" in err["message"] and f"vm_state {vm_state}" in err["message"]
        assert await get_instance(client, project_id, instance_id) == was
        assert await task_count(client, project_id) == tasks

    @pytest.mark.parametrize("payload", [{"action": "explode"}, {"action": "delete"}, {"action": "resize"},
                                         {"action": 3}, {}, {"activate_profile": True}])
    async def test_unknown_action_is_400_and_changes_nothing(self, client, project_id, payload):
        instance_id = await new_instance(client, project_id)
        was, tasks = await get_instance(client, project_id, instance_id), await task_count(client, project_id)
        r = await client.post(f"/v2/instances/{project_id}/1/{instance_id}/action", json=payload)
        assert r.status_code == 400, r.text
        assert r.json()["exception_class"] == "ValidationError"
        assert await get_instance(client, project_id, instance_id) == was
        assert await task_count(client, project_id) == tasks

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await act(client, project_id, "00000000-0000-0000-0000-000000000000", "stop")
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"

    async def test_instance_of_another_project_is_404(self, client, project_id, runtime):
        from cloudlet.projects.service import create_project

        instance_id = await new_instance(client, project_id)
        async with runtime.db.transaction() as conn:
            other = (await create_project(conn, client_id=1, name=f"other-{uuid.uuid4().hex[:8]}")).id
        r = await act(client, other, instance_id, "stop")
        assert r.status_code == 404
        assert (await get_instance(client, project_id, instance_id))["vm_state"] == "active"

    async def test_unknown_project_is_404(self, client):
        r = await act(client, 999999, "00000000-0000-0000-0000-000000000000", "stop")
        assert r.status_code == 404

    @pytest.mark.parametrize(
        "before, action, vm_state, status",
        [
            ([], "stop", "active", "ACTIVE"),
            (["stop"], "start", "stopped", "SHUTOFF"),
            ([], "reboot", "active", "ACTIVE"),
            ([], "reboot_hard", "active", "ACTIVE"),
            ([], "suspend", "active", "ACTIVE"),
            (["suspend"], "resume", "suspended", "SUSPENDED"),
        ],
    )
    async def test_failed_task_puts_the_instance_back(self, client, project_id, before, action, vm_state, status):
        instance_id = await new_instance(client, project_id)
        for step in before:
            await act_ok(client, project_id, instance_id, step)
        await arm_fault(client, POWER_TASKS[action])
        task = (await client.get(f"/v1/tasks/{await act_ok(client, project_id, instance_id, action)}")).json()
        assert task["state"] == "ERROR" and task["error"]
        inst = await get_instance(client, project_id, instance_id)
        assert state_of(inst) == (status, vm_state, None, None)
        # the lock is free: the same action now goes through
        retried = (await client.get(f"/v1/tasks/{await act_ok(client, project_id, instance_id, action)}")).json()
        assert retried["state"] == "FINISHED"

    @pytest.mark.parametrize("before, action", [([], "suspend"), (["suspend"], "resume")])
    async def test_driver_without_suspend_is_400(self, client, project_id, runtime, monkeypatch, before, action):
        instance_id = await new_instance(client, project_id)
        for step in before:
            await act_ok(client, project_id, instance_id, step)
        was = await get_instance(client, project_id, instance_id)
        monkeypatch.setattr(runtime.driver, "info", lambda: DriverInfo("plain", "1", frozenset()))
        r = await act(client, project_id, instance_id, action)
        assert r.status_code == 400, r.text
        assert "suspend" in r.json()["message"]
        assert await get_instance(client, project_id, instance_id) == was


class TestDeprecatedV1Actions:
    @pytest.mark.parametrize(
        "before, verb, shown, final",
        [
            ([], "stop", ("ACTIVE", "active", "powering-off"), ("SHUTOFF", "stopped")),
            (["stop"], "start", ("SHUTOFF", "stopped", "powering-on"), ("ACTIVE", "active")),
            ([], "reboot", ("REBOOT", "active", "rebooting"), ("ACTIVE", "active")),
            ([], "powercycle", ("HARD_REBOOT", "active", "rebooting_hard"), ("ACTIVE", "active")),
            ([], "suspend", ("ACTIVE", "active", "suspending"), ("SUSPENDED", "suspended")),
            (["suspend"], "resume", ("SUSPENDED", "suspended", "resuming"), ("ACTIVE", "active")),
        ],
    )
    async def test_returns_the_instance_with_its_task(self, client, project_id, before, verb, shown, final):
        instance_id = await new_instance(client, project_id)
        for step in before:
            await act_ok(client, project_id, instance_id, step)
        r = await client.post(f"/cloud/v1/instances/{project_id}/1/{instance_id}/{verb}")
        assert r.status_code == 200, r.text
        body = r.json()
        Instance.model_validate(body)
        assert "tasks" not in body
        assert body["id"] == body["instance_id"] == instance_id
        assert (body["status"], body["vm_state"], body["task_state"]) == shown
        task = (await client.get(f"/v1/tasks/{body['task_id']}")).json()
        assert task["task_type"] == POWER_TASKS[verb] and task["state"] == "FINISHED"
        assert state_of(await get_instance(client, project_id, instance_id)) == (*final, None, None)

    async def test_start_takes_an_optional_body(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        await act_ok(client, project_id, instance_id, "stop")
        r = await client.post(f"/v1/instances/{project_id}/1/{instance_id}/start", json={"activate_profile": False})
        assert r.status_code == 200, r.text
        await act_ok(client, project_id, instance_id, "stop")
        r = await client.post(f"/v1/instances/{project_id}/1/{instance_id}/start")
        assert r.status_code == 200, r.text

    async def test_wrong_state_is_409(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.post(f"/v1/instances/{project_id}/1/{instance_id}/resume")
        assert r.status_code == 409
        assert "'resume'" in r.json()["message"] and "vm_state active" in r.json()["message"]

    @pytest.mark.parametrize("verb", ["start", "stop", "reboot", "powercycle", "suspend", "resume"])
    async def test_unknown_instance_is_404(self, client, project_id, verb):
        r = await client.post(f"/v1/instances/{project_id}/1/00000000-0000-0000-0000-000000000000/{verb}")
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"


class TestWhileRunning:
    """Under the ``fast`` profile: what a client sees while the task runs, and the lock it holds."""

    async def test_a_create_shows_its_build_phases_until_it_ends(self, fast_client, fast_project):
        # the driver waits here, so placement and each phase commit on their own (instant: one transaction)
        task = await create(fast_client, fast_project, name="built-1")
        seen = set()
        while task["state"] not in ("FINISHED", "ERROR"):
            r = await fast_client.get(f"/v1/instances/{fast_project}/1", params={"name": "built-1"})
            seen |= {(i["status"], i["task_state"]) for i in r.json()["results"]}
            await asyncio.sleep(0.01)
            task = (await fast_client.get(f"/v1/tasks/{task['id']}")).json()
        assert task["state"] == "FINISHED", task.get("error")
        assert seen & {("BUILD", phase) for phase in CREATE_PHASES}, seen
        (instance_id,) = task["created_resources"]["instances"]
        assert state_of(await get_instance(fast_client, fast_project, instance_id)) == ("ACTIVE", "active", None, None)

    async def test_each_action_shows_nova_states_until_it_ends(self, fast_client, fast_project):
        instance_id = await new_instance(fast_client, fast_project)
        walk = [
            ("stop", ("ACTIVE", "active", "powering-off"), ("SHUTOFF", "stopped")),
            ("start", ("SHUTOFF", "stopped", "powering-on"), ("ACTIVE", "active")),
            ("reboot", ("REBOOT", "active", "rebooting"), ("ACTIVE", "active")),
            ("reboot_hard", ("HARD_REBOOT", "active", "rebooting_hard"), ("ACTIVE", "active")),
            ("suspend", ("ACTIVE", "active", "suspending"), ("SUSPENDED", "suspended")),
            ("resume", ("SUSPENDED", "suspended", "resuming"), ("ACTIVE", "active")),
        ]
        for action, running, final in walk:
            task_id = await act_ok(fast_client, fast_project, instance_id, action)
            seen = await get_instance(fast_client, fast_project, instance_id)
            assert state_of(seen) == (*running, task_id), action
            Instance.model_validate(seen)
            task = await wait_task(fast_client, task_id)
            assert task["state"] == "FINISHED", task.get("error")
            assert state_of(await get_instance(fast_client, fast_project, instance_id)) == (*final, None, None)

    async def test_every_mutation_is_409_while_a_stop_runs(self, fast_client, fast_project):
        instance_id = await new_instance(fast_client, fast_project)
        stop = await act_ok(fast_client, fast_project, instance_id, "stop")
        base = f"/v1/instances/{fast_project}/1/{instance_id}"
        refused = [
            await act(fast_client, fast_project, instance_id, "reboot"),
            await act(fast_client, fast_project, instance_id, "stop"),
            await fast_client.post(f"{base}/suspend"),
            await fast_client.post(f"{base}/changeflavor", json={"flavor_id": "g1-standard-4-8"}),
            await fast_client.patch(base, json={"name": "renamed"}),
            await fast_client.delete(base),
        ]
        for r in refused:
            assert r.status_code == 409, (r.request.method, r.request.url, r.text)
            assert r.json()["exception_class"] == "ConflictError"
            assert stop in r.json()["message"]
        task = await wait_task(fast_client, stop)
        assert task["state"] == "FINISHED"
        inst = await get_instance(fast_client, fast_project, instance_id)
        assert state_of(inst) == ("SHUTOFF", "stopped", None, None)
        assert inst["name"] == "web-1" and inst["flavor"]["flavor_id"] == "g1-standard-2-4"
        assert await task_count(fast_client, fast_project) == 2  # create and stop: the refusals wrote nothing

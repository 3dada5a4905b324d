"""Resize: POST /v1/instances/{p}/{r}/{id}/changeflavor (endpoints.md 2.13, behaviour.md 2.3)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gcore.types.cloud import Instance, TaskIDList

from cloudlet.compute.base import Capability, DriverInfo, HostInfo
from cloudlet.instances import repository as instance_repository
from cloudlet.quotas import repository as quota_repository
from tests.api.instances.test_actions import (  # noqa: F401  (fast_* and _delete_* are fixtures)
    _delete_instances_afterwards,
    act_ok,
    arm_fault,
    fast_app,
    fast_client,
    fast_db_url,
    fast_project,
    get_instance,
    new_instance,
    state_of,
    task_count,
    wait_task,
)


async def resize(client, project_id, instance_id, flavor_id):
    return await client.post(f"/cloud/v1/instances/{project_id}/1/{instance_id}/changeflavor",
                             json={"flavor_id": flavor_id})


async def resize_ok(client, project_id, instance_id, flavor_id) -> str:
    r = await resize(client, project_id, instance_id, flavor_id)
    assert r.status_code == 200, r.text
    (task_id,) = TaskIDList.model_validate(r.json()).tasks
    return task_id


def flavor_of(instance: dict[str, Any]) -> tuple[str, int, int]:
    return instance["flavor"]["flavor_id"], instance["flavor"]["vcpus"], instance["flavor"]["ram"]


@contextlib.asynccontextmanager
async def quota_headroom(runtime: Any, **headroom: int) -> AsyncIterator[None]:
    """Set ``<name>_limit`` to the client's current usage + headroom for the block, then restore the limits."""
    async with runtime.db.transaction() as conn:
        saved = await quota_repository.get_limits(conn, 1, 1)
        used = await quota_repository.usage(conn, 1, 1)
        await quota_repository.set_limits(conn, 1, 1, {**saved, **{f"{name}_limit": used[name] + extra
                                                                   for name, extra in headroom.items()}})
    try:
        yield
    finally:
        async with runtime.db.transaction() as conn:
            await quota_repository.set_limits(conn, 1, 1, saved)


class TestResize:
    async def test_active_instance_stays_active_with_the_new_flavor(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        task = (await client.get(f"/v1/tasks/{await resize_ok(client, project_id, instance_id, 'g1-standard-4-8')}")
                ).json()
        assert task["state"] == "FINISHED" and task["task_type"] == "resize_vm"
        assert task["data"]["flavor_id"] == "g1-standard-4-8"
        inst = await get_instance(client, project_id, instance_id)
        Instance.model_validate(inst)
        assert state_of(inst) == ("ACTIVE", "active", None, None)
        assert flavor_of(inst) == ("g1-standard-4-8", 4, 8192)
        assert inst["flavor_id"] == "g1-standard-4-8"
        assert inst["flavor"]["hardware_description"] == {"ram": "8GB", "vcpus": "4 vCPU"}

    async def test_stopped_instance_stays_shutoff(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        await act_ok(client, project_id, instance_id, "stop")
        await resize_ok(client, project_id, instance_id, "g1-standard-1-2")
        inst = await get_instance(client, project_id, instance_id)
        assert state_of(inst) == ("SHUTOFF", "stopped", None, None)
        assert flavor_of(inst) == ("g1-standard-1-2", 1, 2048)

    async def test_resized_instance_can_be_resized_again(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        await resize_ok(client, project_id, instance_id, "g1-standard-4-8")
        await resize_ok(client, project_id, instance_id, "g1-standard-2-4")
        assert flavor_of(await get_instance(client, project_id, instance_id)) == ("g1-standard-2-4", 2, 4096)

    @pytest.mark.parametrize(
        "flavor_id, reason",
        [
            ("g1-standard-2-4", "already has flavor"),
            ("nope-1-1", "does not exist"),
            ("g2-standard-32-128", "disabled"),
            ("g1w-standard-4-8", "Windows"),
        ],
    )
    async def test_invalid_target_is_400_and_changes_nothing(self, client, project_id, flavor_id, reason):
        instance_id = await new_instance(client, project_id)
        was, tasks = await get_instance(client, project_id, instance_id), await task_count(client, project_id)
        r = await resize(client, project_id, instance_id, flavor_id)
        assert r.status_code == 400, r.text
        err = r.json()
        assert err["exception_class"] == "ValidationError" and reason in err["message"]
        assert list(err["invalid_fields"]) == ["flavor_id"]
        assert await get_instance(client, project_id, instance_id) == was
        assert await task_count(client, project_id) == tasks

    @pytest.mark.parametrize("payload", [{}, {"flavor_id": ""}, {"flavor_id": 4}, {"flavor": "g1-standard-4-8"}])
    async def test_malformed_body_is_400(self, client, project_id, payload):
        instance_id = await new_instance(client, project_id)
        r = await client.post(f"/v1/instances/{project_id}/1/{instance_id}/changeflavor", json=payload)
        assert r.status_code == 400, r.text
        assert flavor_of(await get_instance(client, project_id, instance_id))[0] == "g1-standard-2-4"

    async def test_suspended_instance_is_409(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        await act_ok(client, project_id, instance_id, "suspend")
        r = await resize(client, project_id, instance_id, "g1-standard-4-8")
        assert r.status_code == 409
        assert "'resize'" in r.json()["message"] and "vm_state suspended" in r.json()["message"]
        inst = await get_instance(client, project_id, instance_id)
        assert state_of(inst) == ("SUSPENDED", "suspended", None, None)
        assert flavor_of(inst)[0] == "g1-standard-2-4"

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await resize(client, project_id, "00000000-0000-0000-0000-000000000000", "g1-standard-4-8")
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"

    async def test_growth_beyond_the_cpu_quota_is_refused(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        async with quota_headroom(runtime, cpu_count=1):
            r = await resize(client, project_id, instance_id, "g1-standard-4-8")  # +2 vCPUs
        assert r.status_code == 400, r.text
        err = r.json()
        assert err["exception_class"] == "QuotaLimitExceed"
        assert err["info"]["attribute"] == "cpu_count"
        assert err["info"]["requested_usage"] - err["info"]["current_usage"] == 2
        inst = await get_instance(client, project_id, instance_id)
        assert state_of(inst) == ("ACTIVE", "active", None, None) and flavor_of(inst)[0] == "g1-standard-2-4"

    async def test_growth_beyond_the_ram_quota_is_refused(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        async with quota_headroom(runtime, ram=1024):
            r = await resize(client, project_id, instance_id, "g1-standard-2-8")  # same vCPUs, +4096 MiB
        assert r.status_code == 400, r.text
        assert r.json()["info"]["attribute"] == "ram"

    async def test_leaving_shared_flavors_needs_a_vm_count_slot(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id, flavor="g1s-shared-1-1")
        async with quota_headroom(runtime, vm_count=0):
            r = await resize(client, project_id, instance_id, "g1-standard-1-2")
        assert r.status_code == 400, r.text
        assert r.json()["info"]["attribute"] == "vm_count"

    async def test_shrinking_needs_no_quota(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        async with quota_headroom(runtime, cpu_count=0, ram=0):
            await resize_ok(client, project_id, instance_id, "g1-standard-1-2")
        assert flavor_of(await get_instance(client, project_id, instance_id))[0] == "g1-standard-1-2"

    @pytest.mark.parametrize("before, shown", [([], ("ACTIVE", "active")), (["stop"], ("SHUTOFF", "stopped"))])
    async def test_failed_resize_keeps_the_old_flavor(self, client, project_id, before, shown):
        instance_id = await new_instance(client, project_id)
        for step in before:
            await act_ok(client, project_id, instance_id, step)
        await arm_fault(client, "resize_vm")
        task = (await client.get(f"/v1/tasks/{await resize_ok(client, project_id, instance_id, 'g1-standard-4-8')}")
                ).json()
        assert task["state"] == "ERROR" and task["error"]
        inst = await get_instance(client, project_id, instance_id)
        assert state_of(inst) == (*shown, None, None)
        assert flavor_of(inst) == ("g1-standard-2-4", 2, 4096)
        await resize_ok(client, project_id, instance_id, "g1-standard-4-8")  # the lock was released
        assert flavor_of(await get_instance(client, project_id, instance_id))[0] == "g1-standard-4-8"

    async def test_driver_without_resize_is_400(self, client, project_id, runtime, monkeypatch):
        instance_id = await new_instance(client, project_id)
        monkeypatch.setattr(runtime.driver, "info",
                            lambda: DriverInfo("plain", "1", frozenset({Capability.SUSPEND})))
        r = await resize(client, project_id, instance_id, "g1-standard-4-8")
        assert r.status_code == 400, r.text
        assert "resize" in r.json()["message"]
        assert flavor_of(await get_instance(client, project_id, instance_id))[0] == "g1-standard-2-4"


async def placement(runtime: Any, instance_id: str) -> tuple[str, int]:
    """The instance's host and the vCPUs placed there (the API does not show hosts)."""
    async with runtime.db.read() as conn:
        host = (await instance_repository.get_plain(conn, instance_id)).host
        return host, (await instance_repository.host_usage(conn))[host][0]


class TestResizePlacement:
    """The simulated hosts have real capacity: a resize that outgrows its host moves, or fails."""

    async def test_outgrowing_the_host_moves_the_instance(self, client, project_id, runtime, monkeypatch):
        instance_id = await new_instance(client, project_id)
        host, used = await placement(runtime, instance_id)
        monkeypatch.setattr(runtime.driver, "hosts",
                            lambda: [HostInfo(host, used, 1 << 30), HostInfo("roomy-host", 64, 1 << 30)])
        task = (await client.get(f"/v1/tasks/{await resize_ok(client, project_id, instance_id, 'g1-standard-4-8')}")
                ).json()
        assert task["state"] == "FINISHED", task["error"]
        assert (await placement(runtime, instance_id))[0] == "roomy-host"
        assert flavor_of(await get_instance(client, project_id, instance_id))[0] == "g1-standard-4-8"

    async def test_no_room_anywhere_fails_and_keeps_the_old_flavor(self, client, project_id, runtime, monkeypatch):
        instance_id = await new_instance(client, project_id)
        host, used = await placement(runtime, instance_id)
        monkeypatch.setattr(runtime.driver, "hosts", lambda: [HostInfo(host, used, 1 << 30)])
        task = (await client.get(f"/v1/tasks/{await resize_ok(client, project_id, instance_id, 'g1-standard-4-8')}")
                ).json()
        assert task["state"] == "ERROR" and "No valid host" in task["error"]
        inst = await get_instance(client, project_id, instance_id)
        assert state_of(inst) == ("ACTIVE", "active", None, None)
        assert flavor_of(inst)[0] == "g1-standard-2-4"
        assert (await placement(runtime, instance_id))[0] == host
        await resize_ok(client, project_id, instance_id, "g1-standard-1-2")  # shrinking fits where it is


class TestResizeWhileRunning:
    """Under the ``fast`` profile: RESIZE while it runs, the new flavor only at the end, no VERIFY_RESIZE."""

    @pytest.mark.parametrize("before, vm_state, final_status", [([], "active", "ACTIVE"),
                                                                 (["stop"], "stopped", "SHUTOFF")])
    async def test_resize_shows_resize_states_then_confirms_itself(self, fast_client, fast_project, before,
                                                                   vm_state, final_status):
        instance_id = await new_instance(fast_client, fast_project)
        for step in before:
            await wait_task(fast_client, await act_ok(fast_client, fast_project, instance_id, step))
        task_id = await resize_ok(fast_client, fast_project, instance_id, "g1-standard-4-8")
        seen = []
        while (await fast_client.get(f"/v1/tasks/{task_id}")).json()["state"] in ("NEW", "RUNNING"):
            inst = await get_instance(fast_client, fast_project, instance_id)
            if inst["task_id"] is None:
                break
            seen.append((inst["status"], inst["vm_state"], inst["task_state"], flavor_of(inst)[0]))
            await asyncio.sleep(0.05)
        assert seen, "the resize ended before it could be observed"
        assert {s[:2] for s in seen} == {("RESIZE", vm_state)}
        assert {s[3] for s in seen} == {"g1-standard-2-4"}
        assert {s[2] for s in seen} <= {"resize_prep", "resize_migrating", "resize_migrated", "resize_finish"}
        assert "resize_migrating" in {s[2] for s in seen}
        assert (await wait_task(fast_client, task_id))["state"] == "FINISHED"
        inst = await get_instance(fast_client, fast_project, instance_id)
        assert state_of(inst) == (final_status, vm_state, None, None)
        assert flavor_of(inst) == ("g1-standard-4-8", 4, 8192)

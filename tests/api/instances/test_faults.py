"""Injected faults: the task ends in ERROR with a clear message and the create leaves nothing behind."""

from __future__ import annotations

import sqlalchemy as sa

from cloudlet.models import instances, ip_allocations, ports, volumes
from tests.api.instances.test_create import UBUNTU, create


async def counts(runtime, project_id):
    async with runtime.db.read() as conn:
        out = {}
        for name, table in (("instances", instances), ("volumes", volumes), ("ports", ports)):
            out[name] = await conn.scalar(sa.select(sa.func.count()).select_from(table)
                                          .where(table.c.project_id == project_id))
        out["ips"] = await conn.scalar(
            sa.select(sa.func.count()).select_from(ip_allocations.join(ports, ports.c.id == ip_allocations.c.port_id))
            .where(ports.c.project_id == project_id))
    return out


class TestFaultInjection:
    async def test_failed_create_rolls_everything_back(self, client, project_id, runtime):
        r = await client.post("/admin/v1/faults", json={"operation": "create_vm", "mode": "once",
                                                        "message": "Hypervisor on fire"})
        assert r.status_code == 200 and r.json()["remaining"] == 1
        task = await create(client, project_id, volumes=[
            {"source": "image", "image_id": UBUNTU, "size": 10},
            {"source": "new-volume", "size": 3},
        ])
        assert task["state"] == "ERROR" and task["error"] == "Hypervisor on fire"
        assert task["finished_on"] is not None
        assert await counts(runtime, project_id) == {"instances": 0, "volumes": 0, "ports": 0, "ips": 0}
        again = await create(client, project_id)
        assert again["state"] == "FINISHED"

    async def test_count_mode_and_disarm(self, client, project_id):
        await client.delete("/admin/v1/faults")
        r = await client.post("/admin/v1/faults", json={"operation": "create_vm", "mode": "count", "count": 2})
        fault_id = r.json()["id"]
        assert (await create(client, project_id))["state"] == "ERROR"
        listed = (await client.get("/admin/v1/faults")).json()
        assert listed["results"][0]["remaining"] == 1
        assert (await client.delete(f"/admin/v1/faults/{fault_id}")).status_code == 204
        assert (await client.delete(f"/admin/v1/faults/{fault_id}")).status_code == 404
        assert (await create(client, project_id))["state"] == "FINISHED"

    async def test_failed_delete_keeps_the_instance_unlocked(self, client, project_id):
        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        await client.post("/admin/v1/faults", json={"operation": "delete_vm"})
        r = await client.delete(f"/v1/instances/{project_id}/1/{instance_id}")
        failed = (await client.get(f"/v1/tasks/{r.json()['tasks'][0]}")).json()
        assert failed["state"] == "ERROR" and "delete_vm" in failed["error"]
        inst = (await client.get(f"/v1/instances/{project_id}/1/{instance_id}")).json()
        assert inst["status"] == "ACTIVE" and inst["task_id"] is None and inst["task_state"] is None

    async def test_bad_fault_requests(self, client):
        assert (await client.post("/admin/v1/faults", json={"operation": "create_vm", "mode": "sometimes"})
                ).status_code == 400
        assert (await client.post("/admin/v1/faults", json={"operation": "create_vm", "mode": "count"})
                ).status_code == 400
        assert (await client.post("/admin/v1/faults", json={})).status_code == 400

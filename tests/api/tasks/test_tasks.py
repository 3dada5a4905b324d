from __future__ import annotations

import uuid

import pytest

from tests.api.instances.test_create import create


async def tasks(client, **params):
    r = await client.get("/v1/tasks", params=params)
    assert r.status_code == 200, r.text
    return r.json()


class TestGetTask:
    async def test_finished_task_lists_every_created_resources_kind(self, client, project_id):
        task = await create(client, project_id)
        assert task["state"] == "FINISHED" and task["finished_on"] and task["created_on"]
        assert task["error"] is None and task["project_id"] == project_id and task["region_id"] == 1
        kinds = task["created_resources"]
        assert {"instances", "volumes", "ports", "floatingips", "networks", "subnets", "security_groups"} <= set(kinds)
        assert all(isinstance(v, list) for v in kinds.values())

    async def test_task_never_reveals_secrets(self, client, project_id):
        task = await create(client, project_id, password="s3cret-Pass", user_data="I2Nsb3VkLWNvbmZpZw==")
        text = str(task)
        assert "s3cret-Pass" not in text and "I2Nsb3VkLWNvbmZpZw==" not in text

    async def test_unknown_task_is_404(self, client):
        r = await client.get(f"/v1/tasks/{uuid.uuid4()}")
        assert r.status_code == 404 and r.json()["exception_class"] == "NotFoundError"


class TestListTasks:
    async def test_default_limit_is_10_and_count_is_total(self, client, project_id):
        for n in range(11):
            await create(client, project_id, name=f"t-{n:02d}")
        page = await tasks(client, project_id=project_id)
        assert page["count"] == 11 and len(page["results"]) == 10
        rest = await tasks(client, project_id=project_id, offset=10)
        assert len(rest["results"]) == 1

    async def test_filters_accept_repeated_and_comma_forms(self, client, project_id):
        await create(client, project_id)
        repeat = await client.get("/v1/tasks", params=[("project_id", project_id), ("project_id", 999999),
                                                       ("state", "FINISHED"), ("state", "ERROR")])
        comma = await tasks(client, project_id=f"{project_id},999999", state="FINISHED,ERROR")
        assert repeat.json()["count"] == comma["count"] == 1
        assert (await tasks(client, project_id=project_id, task_type="delete_vm"))["count"] == 0
        assert (await tasks(client, project_id=project_id, state="NEW"))["count"] == 0

    async def test_order_and_time_window(self, client, project_id):
        first = await create(client, project_id, name="first")
        second = await create(client, project_id, name="second")
        asc = await tasks(client, project_id=project_id, order_by="asc")
        assert [t["id"] for t in asc["results"]] == [first["id"], second["id"]]
        desc = await tasks(client, project_id=project_id, sorting="desc")
        assert [t["id"] for t in desc["results"]] == [second["id"], first["id"]]
        window = await tasks(client, project_id=project_id, from_timestamp=second["created_on"])
        assert [t["id"] for t in window["results"]] == [second["id"]]

    @pytest.mark.parametrize("params", [{"limit": 1001}, {"state": "DONE"}, {"project_id": "abc"},
                                        {"from_timestamp": "noon"}, {"order_by": "up"}])
    async def test_bad_filters_are_400(self, client, params):
        r = await client.get("/v1/tasks", params=params)
        assert r.status_code == 400, r.text


class TestAcknowledge:
    async def test_acknowledge_one_then_all(self, client, project_id):
        one = await create(client, project_id, name="one-1")
        two = await create(client, project_id, name="two-2")
        r = await client.post(f"/v1/tasks/{one['id']}/acknowledge")
        assert r.status_code == 200
        body = r.json()
        assert body["acknowledged_at"] and body["acknowledged_by"] and body["state"] == "FINISHED"
        assert (await tasks(client, project_id=project_id, is_acknowledged="false"))["count"] == 1
        r = await client.post("/v1/tasks/acknowledge_all", params={"project_id": project_id, "region_id": 1})
        assert r.status_code == 204
        assert (await tasks(client, project_id=project_id, is_acknowledged="true"))["count"] == 2
        assert two["id"]

    async def test_deprecated_acknowledge_by_ids(self, client, project_id):
        one = await create(client, project_id)
        r = await client.post("/v1/tasks/acknowledge", json={"task_ids": [one["id"]]})
        assert r.status_code == 204
        assert (await client.get(f"/v1/tasks/{one['id']}")).json()["acknowledged_at"]

    async def test_active_lists_only_new_and_running(self, client, project_id):
        await create(client, project_id)
        r = await client.get(f"/v1/tasks/{project_id}/1/active")
        assert r.status_code == 200 and r.json() == {"count": 0, "results": []}
        assert (await client.get("/v1/tasks/999999/1/active")).status_code == 404

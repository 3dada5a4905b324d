from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from gcore.types.cloud import Project

from tests.api.projects.tenancy import new_client, new_reseller

UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP+7Nctfc7DleW5sPsuHWYnt6/gHWj9N9ercoQW8OwPO me@host"


def unique(prefix="proj"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create(client, headers=None, **body):
    r = await client.post("/cloud/v1/projects", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def count_rows(runtime, table, project_id):
    async with runtime.db.read() as conn:
        return await conn.scalar(sa.select(sa.func.count()).select_from(table).where(table.c.project_id == project_id))


async def wait_task(client, task_id):
    return (await client.get(f"/v1/tasks/{task_id}")).json()


class TestCreateProject:
    async def test_admin_creates_in_client_one(self, client, runtime):
        from cloudlet.models import security_groups

        name = unique()
        project = await create(client, name=name, description="for tests")
        Project.model_validate(project)
        assert project["name"] == name and project["description"] == "for tests"
        assert project["client_id"] == 1 and project["is_default"] is False and project["state"] == "ACTIVE"
        assert project["deleted_at"] is None and project["task_id"] is None
        assert (await client.get(f"/v1/projects/{project['id']}")).json() == project
        assert await count_rows(runtime, security_groups, project["id"]) == 1  # its default group

    async def test_client_key_creates_in_its_own_client(self, client, runtime):
        client_id, headers = await new_client(runtime)
        project = await create(client, headers, name="mine")
        assert project["client_id"] == client_id
        r = await client.post("/v1/projects", json={"name": "not-mine", "client_id": 1}, headers=headers)
        assert r.status_code == 404
        same = await create(client, headers, name="explicit", client_id=client_id)
        assert same["client_id"] == client_id

    async def test_admin_and_reseller_choose_the_client(self, client, runtime):
        client_id, _ = await new_client(runtime)
        assert (await create(client, name=unique(), client_id=client_id))["client_id"] == client_id
        _, reseller_client, headers = await new_reseller(runtime)
        assert (await create(client, headers, name=unique(), client_id=reseller_client))["client_id"] == reseller_client
        r = await client.post("/v1/projects", json={"name": unique()}, headers=headers)
        assert r.status_code == 400 and "client_id" in r.json()["invalid_fields"]
        r = await client.post("/v1/projects", json={"name": unique(), "client_id": client_id}, headers=headers)
        assert r.status_code == 404

    async def test_same_name_for_another_client_is_fine(self, client, runtime):
        name = unique()
        await create(client, name=name)
        client_id, headers = await new_client(runtime)
        assert (await create(client, headers, name=name))["client_id"] == client_id

    @pytest.mark.parametrize("body, status", [
        ({}, 400), ({"name": "x"}, 400), ({"name": " leading-space"}, 400), ({"name": "a" * 64}, 400),
        ({"name": "fine-name", "description": "d" * 256}, 400), ({"name": 5}, 400),
        ({"name": "fine-name", "client_id": 999999}, 404),
    ])
    async def test_bad_input_is_4xx_and_creates_nothing(self, client, body, status):
        before = (await client.get("/v1/projects", params={"limit": 0})).json()["count"]
        r = await client.post("/v1/projects", json=body)
        assert r.status_code == status, r.text
        assert r.json()["exception_class"] in ("ValidationError", "NotFoundError")
        assert (await client.get("/v1/projects", params={"limit": 0})).json()["count"] == before

    async def test_duplicate_name_is_a_conflict(self, client):
        name = unique()
        await create(client, name=name)
        r = await client.post("/v1/projects", json={"name": name})
        assert r.status_code == 409 and "already exists" in r.json()["message"]
        assert (await client.get("/v1/projects", params={"name": name})).json()["count"] == 1


class TestListProjects:
    async def test_filters_order_and_pages(self, client):
        tag = uuid.uuid4().hex[:8]
        made = [await create(client, name=f"{tag}-{n}") for n in ("b", "a", "c")]
        body = (await client.get("/v1/projects", params={"name": tag.upper()})).json()
        assert body["count"] == 3
        assert [p["id"] for p in body["results"]] == [p["id"] for p in reversed(made)]  # newest first
        for p in body["results"]:
            Project.model_validate(p)
        by_name = (await client.get("/v1/projects", params={"name": tag, "order_by": "name.asc"})).json()
        assert [p["name"] for p in by_name["results"]] == [f"{tag}-a", f"{tag}-b", f"{tag}-c"]
        page = (await client.get("/v1/projects", params={"name": tag, "order_by": "name.desc", "limit": 1,
                                                         "offset": 1})).json()
        assert page["count"] == 3 and [p["name"] for p in page["results"]] == [f"{tag}-b"]

    async def test_a_client_sees_only_its_own(self, client, runtime):
        client_id, headers = await new_client(runtime)
        mine = await create(client, headers, name="only-mine")
        body = (await client.get("/v1/projects", headers=headers)).json()
        assert body["count"] == 1 and body["results"][0]["id"] == mine["id"]
        assert (await client.get("/v1/projects", headers=headers, params={"client_id": 1})).json()["count"] == 0
        admin_view = (await client.get("/v1/projects", params={"client_id": client_id})).json()
        assert [p["id"] for p in admin_view["results"]] == [mine["id"]]

    async def test_default_project_is_listed(self, client):
        body = (await client.get("/v1/projects", params={"client_id": 1, "order_by": "created_at.asc",
                                                         "limit": 1})).json()
        assert body["results"][0]["id"] == 1 and body["results"][0]["is_default"] is True

    @pytest.mark.parametrize("params", [{"limit": 1001}, {"offset": -1}, {"order_by": "id.asc"},
                                        {"include_deleted": "sometimes"}])
    async def test_bad_query_is_400(self, client, params):
        assert (await client.get("/v1/projects", params=params)).status_code == 400


class TestGetProject:
    async def test_unknown_and_foreign_projects_are_404(self, client, runtime):
        assert (await client.get("/v1/projects/999999")).status_code == 404
        _, headers = await new_client(runtime)
        r = await client.get("/v1/projects/1", headers=headers)
        assert r.status_code == 404 and r.json()["exception_class"] == "NotFoundError"


class TestUpdateProject:
    async def test_rename_and_describe(self, client):
        project = await create(client, name=unique(), description="old")
        new_name = unique("renamed")
        r = await client.patch(f"/v1/projects/{project['id']}", json={"name": new_name})
        assert r.status_code == 200
        assert r.json()["name"] == new_name and r.json()["description"] == "old"
        r = await client.patch(f"/v1/projects/{project['id']}", json={"description": None})
        assert r.json()["description"] is None and r.json()["name"] == new_name
        r = await client.put(f"/v1/projects/{project['id']}", json={"description": "via PUT"})
        assert r.status_code == 200 and r.json()["description"] == "via PUT"
        Project.model_validate(r.json())
        assert (await client.get(f"/v1/projects/{project['id']}")).json()["description"] == "via PUT"

    @pytest.mark.parametrize("body, status", [({"name": "-"}, 400), ({"description": "d" * 256}, 400),
                                              ({"name": "TAKEN"}, 409)])
    async def test_bad_update_changes_nothing(self, client, body, status):
        taken = await create(client, name=unique())
        project = await create(client, name=unique(), description="keep")
        if body.get("name") == "TAKEN":
            body = {"name": taken["name"]}
        r = await client.patch(f"/v1/projects/{project['id']}", json=body)
        assert r.status_code == status, r.text
        assert (await client.get(f"/v1/projects/{project['id']}")).json() == project

    async def test_unknown_or_foreign_project_is_404(self, client, runtime):
        assert (await client.patch("/v1/projects/999999", json={"name": "abc"})).status_code == 404
        _, headers = await new_client(runtime)
        assert (await client.patch("/v1/projects/1", json={"name": "hijack"}, headers=headers)).status_code == 404
        assert (await client.get("/v1/projects/1")).json()["name"] == "default"


class TestDeleteProject:
    async def test_delete_marks_the_project_deleted(self, client, runtime):
        from cloudlet.models import security_groups, ssh_keys

        project = await create(client, name=unique())
        pid = project["id"]
        r = await client.post(f"/v1/ssh_keys/{pid}", json={"name": "key-1", "public_key": ED25519})
        assert r.status_code == 200
        r = await client.delete(f"/cloud/v1/projects/{pid}")
        assert r.status_code == 200, r.text
        (task_id,) = r.json()["tasks"]
        task = await wait_task(client, task_id)
        assert task["state"] == "FINISHED" and task["task_type"] == "delete_project"
        assert task["project_id"] == pid and task["client_id"] == 1
        assert (await client.get(f"/v1/projects/{pid}")).status_code == 404
        assert (await client.get("/v1/projects", params={"name": project["name"]})).json()["count"] == 0
        listed = (await client.get("/v1/projects", params={"include_deleted": "true", "name": project["name"]})).json()
        (deleted,) = listed["results"]
        Project.model_validate(deleted)
        assert deleted["state"] == "DELETED" and deleted["deleted_at"] is not None and deleted["task_id"] is None
        assert await count_rows(runtime, ssh_keys, pid) == 0
        assert await count_rows(runtime, security_groups, pid) == 0
        assert (await client.delete(f"/v1/projects/{pid}")).status_code == 404
        assert (await client.get(f"/v1/volumes/{pid}/1")).status_code == 404
        await create(client, name=project["name"])  # the name is free again

    async def test_default_project_cannot_be_deleted(self, client):
        r = await client.delete("/v1/projects/1")
        assert r.status_code == 400 and "default" in r.json()["message"]
        assert (await client.get("/v1/projects/1")).json()["state"] == "ACTIVE"

    async def test_a_project_with_a_volume_is_refused(self, client):
        pid = (await create(client, name=unique()))["id"]
        r = await client.post(f"/v1/volumes/{pid}/1", json={"source": "new-volume", "name": "data", "size": 1})
        assert r.status_code == 200
        r = await client.delete(f"/v1/projects/{pid}")
        assert r.status_code == 400 and "1 volume" in r.json()["message"]
        assert (await client.get(f"/v1/projects/{pid}")).json()["state"] == "ACTIVE"
        tasks = (await client.get("/v1/tasks", params={"project_id": pid, "task_type": "delete_project"})).json()
        assert tasks["count"] == 0

    async def test_a_project_with_an_instance_is_refused(self, client, isolated_project, made_instances):
        pid = isolated_project
        r = await client.post(f"/v2/instances/{pid}/1", json={
            "flavor": "g1-standard-1-2", "name": "vm-1", "interfaces": [{"type": "external"}],
            "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10, "delete_on_termination": True}]})
        assert r.status_code == 200, r.text
        made_instances.append((pid, (await client.get(f"/v1/instances/{pid}/1")).json()["results"][0]["id"]))
        r = await client.delete(f"/v1/projects/{pid}")
        assert r.status_code == 400
        assert "1 instance" in r.json()["message"] and "1 volume" in r.json()["message"]

    async def test_running_tasks_lock_the_project(self, client, runtime):
        from cloudlet.core.clock import utcnow
        from cloudlet.models import tasks

        pid = (await create(client, name=unique()))["id"]
        task_id = str(uuid.uuid4())
        async with runtime.db.transaction() as conn:  # a task another worker is running
            await conn.execute(tasks.insert().values(
                id=task_id, task_type="create_network", state="RUNNING", project_id=pid, region_id=1, client_id=1,
                user_id=1, data={}, created_on=utcnow(), lease_owner="elsewhere",
                lease_expires_at=utcnow().replace(year=2100), attempts=1))
        try:
            r = await client.delete(f"/v1/projects/{pid}")
            assert r.status_code == 409 and r.json()["exception_class"] == "ConflictError"
            assert (await client.get(f"/v1/projects/{pid}")).json()["state"] == "ACTIVE"
        finally:
            async with runtime.db.transaction() as conn:
                await conn.execute(tasks.delete().where(tasks.c.id == task_id))

    async def test_a_project_being_deleted_is_locked(self, client, runtime):
        from cloudlet.projects import repository

        project = await create(client, name=unique())
        async with runtime.db.transaction() as conn:  # as while its delete_project task waits for a worker
            assert await repository.take_for_deletion(conn, project["id"])
        for r in (await client.delete(f"/v1/projects/{project['id']}"),
                  await client.patch(f"/v1/projects/{project['id']}", json={"name": unique()})):
            assert r.status_code == 409 and "being deleted" in r.json()["message"]
        shown = (await client.get(f"/v1/projects/{project['id']}")).json()
        assert shown["state"] == "DELETING" and shown["name"] == project["name"]

    async def test_unknown_or_foreign_project_is_404(self, client, runtime):
        assert (await client.delete("/v1/projects/999999")).status_code == 404
        pid = (await create(client, name=unique()))["id"]
        _, headers = await new_client(runtime)
        assert (await client.delete(f"/v1/projects/{pid}", headers=headers)).status_code == 404
        assert (await client.get(f"/v1/projects/{pid}")).json()["state"] == "ACTIVE"

    async def test_a_client_deletes_its_own_project(self, client, runtime):
        client_id, headers = await new_client(runtime)
        pid = (await create(client, headers, name="short-lived"))["id"]
        r = await client.delete(f"/v1/projects/{pid}", headers=headers)
        assert r.status_code == 200
        task = (await client.get(f"/v1/tasks/{r.json()['tasks'][0]}", headers=headers)).json()
        assert task["state"] == "FINISHED" and task["client_id"] == client_id

    async def test_failed_task_puts_the_project_back(self, runtime):
        """The compensation of delete_project, as the engine runs it when the task fails."""
        from types import SimpleNamespace

        from cloudlet.projects import repository, steps
        from cloudlet.projects.service import create_project

        async with runtime.db.transaction() as conn:
            pid = (await create_project(conn, client_id=1, name=unique())).id
            assert await repository.take_for_deletion(conn, pid)
            assert not await repository.take_for_deletion(conn, pid)  # the second request loses
        ctx = SimpleNamespace(task_id=str(uuid.uuid4()), data={"project_id": pid}, resource_id=str(pid))
        async with runtime.db.transaction() as conn:
            await steps._undo_delete(ctx, conn, "boom")
        async with runtime.db.read() as conn:
            row = await repository.get_plain(conn, pid)
        assert row.state == "ACTIVE" and row.deleted_at is None


class TestProjectsWithSdk:
    async def test_create_list_get_update_delete_in_strict_mode(self, sdk):
        name = unique("sdk")
        project = await sdk.cloud.projects.create(name=name, description="made by the SDK")
        assert project.client_id == 1 and project.state == "ACTIVE"
        page = await sdk.cloud.projects.list(name=name)
        assert [p.id for p in page.results] == [project.id]
        assert (await sdk.cloud.projects.get(project_id=project.id)).description == "made by the SDK"
        updated = await sdk.cloud.projects.update(project_id=project.id, name=f"{name}-x")
        assert updated.name == f"{name}-x"
        tasks = await sdk.cloud.projects.delete(project_id=project.id)
        task = await sdk.cloud.tasks.poll(task_id=tasks.tasks[0])
        assert task.state == "FINISHED"
        deleted = await sdk.cloud.projects.list(name=name, include_deleted=True)
        assert deleted.results[0].state == "DELETED" and deleted.results[0].deleted_at is not None

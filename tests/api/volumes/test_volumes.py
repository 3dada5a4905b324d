from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
from gcore.types.cloud import Volume

from tests.api.projects.tenancy import new_client

UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"  # min_disk 5


def base(project_id):
    return f"/cloud/v1/volumes/{project_id}/1"


async def create(client, project_id, headers=None, **body):
    """POST a volume; returns (task, volume) once the task is over."""
    body = {"source": "new-volume", "name": "data-1", "size": 10, **body}
    r = await client.post(base(project_id), json=body, headers=headers)
    assert r.status_code == 200, r.text
    (task_id,) = r.json()["tasks"]
    task = (await client.get(f"/v1/tasks/{task_id}", headers=headers)).json()
    assert task["state"] == "FINISHED", task
    (volume_id,) = task["created_resources"]["volumes"]
    volume = (await client.get(f"{base(project_id)}/{volume_id}", headers=headers)).json()
    return task, volume


async def listed(client, project_id, **params):
    r = await client.get(base(project_id), params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def create_instance(client, project_id, made_instances):
    r = await client.post(f"/v2/instances/{project_id}/1", json={
        "flavor": "g1-standard-1-2", "name": "vm-1", "interfaces": [{"type": "external"}],
        "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10, "delete_on_termination": True}]})
    assert r.status_code == 200, r.text
    task = (await client.get(f"/v1/tasks/{r.json()['tasks'][0]}")).json()
    assert task["state"] == "FINISHED", task
    instance_id = task["created_resources"]["instances"][0]
    made_instances.append((project_id, instance_id))
    return instance_id


class TestCreateVolume:
    async def test_new_volume(self, client, project_id):
        task, volume = await create(client, project_id, tags={"team": "db"})
        Volume.model_validate(volume)
        assert task["task_type"] == "create_volume"
        assert volume["status"] == "available" and volume["name"] == "data-1" and volume["size"] == 10
        assert volume["bootable"] is False and volume["is_root_volume"] is False
        assert volume["volume_type"] == "standard" and volume["attachments"] == []
        assert volume["volume_image_metadata"] is None and volume["task_id"] is None
        assert volume["creator_task_id"] == task["id"]
        assert volume["tags"] == [{"key": "team", "value": "db", "read_only": False}]
        assert volume["metadata"] == {"team": "db"}
        assert volume["project_id"] == project_id and volume["region_id"] == 1 and volume["region"] == "Luxembourg"

    async def test_from_image(self, client, project_id):
        _, volume = await create(client, project_id, source="image", image_id=UBUNTU, size=5, type_name="ssd_hiiops",
                                 name="boot-disk")
        Volume.model_validate(volume)
        assert volume["bootable"] is True and volume["volume_type"] == "ssd_hiiops"
        assert volume["volume_image_metadata"]["image_id"] == UBUNTU
        assert volume["volume_image_metadata"]["os_distro"] == "ubuntu"

    async def test_go_form_without_source_and_with_metadata(self, client, project_id):
        _, volume = await create(client, project_id, source=None, image_id=UBUNTU, metadata={"env": "prod"})
        assert volume["bootable"] is True and volume["metadata"] == {"env": "prod"}

    @pytest.mark.parametrize("body, status", [
        ({"source": "snapshot", "snapshot_id": "x"}, 400),
        ({"size": None}, 400),
        ({"source": "image"}, 400),
        ({"source": "image", "image_id": UBUNTU, "size": 4}, 400),
        ({"source": "image", "image_id": str(uuid.uuid4())}, 404),
        ({"name": "x"}, 400),
        ({"name": None}, 400),
        ({"size": 0}, 400),
        ({"size": 16385}, 400),
        ({"type_name": "gold"}, 400),
        ({"source": "blank"}, 400),
        ({"instance_id_to_attach_to": str(uuid.uuid4())}, 400),
        ({"attachment_tag": "disk"}, 400),
        ({"lifecycle_policy_ids": [1]}, 400),
        ({"tags": {"bad key": "v"}}, 400),
    ])
    async def test_bad_input_is_4xx_and_creates_nothing(self, client, project_id, body, status):
        r = await client.post(base(project_id), json={"source": "new-volume", "name": "data-1", "size": 10, **body})
        assert r.status_code == status, r.text
        assert r.json()["exception_class"] in ("ValidationError", "NotFoundError")
        assert (await listed(client, project_id))["count"] == 0
        tasks = (await client.get("/v1/tasks", params={"project_id": project_id})).json()
        assert tasks["count"] == 0

    async def test_snapshot_source_says_it_is_not_available(self, client, project_id):
        r = await client.post(base(project_id), json={"source": "snapshot", "snapshot_id": "s", "name": "from-snap"})
        assert r.status_code == 400 and "not available" in r.json()["message"]

    async def test_quota_is_enforced(self, client, runtime):
        from cloudlet.projects.service import create_project

        client_id, headers = await new_client(runtime, quota={"volume_count_limit": 2, "volume_size_limit": 25})
        async with runtime.db.transaction() as conn:
            pid = (await create_project(conn, client_id=client_id, name="quota-test")).id
        await create(client, pid, headers, size=20)
        r = await client.post(base(pid), json={"source": "new-volume", "name": "too-big", "size": 6}, headers=headers)
        assert r.status_code == 400
        err = r.json()
        assert err["exception_class"] == "QuotaLimitExceed" and err["info"]["attribute"] == "volume_size"
        await create(client, pid, headers, size=5)
        r = await client.post(base(pid), json={"source": "new-volume", "name": "third", "size": 1}, headers=headers)
        assert r.status_code == 400 and r.json()["info"]["attribute"] == "volume_count"
        assert (await client.get(base(pid), headers=headers)).json()["count"] == 2

    async def test_unknown_or_foreign_project_is_404(self, client, runtime, project_id):
        body = {"source": "new-volume", "name": "data-1", "size": 1}
        assert (await client.post("/v1/volumes/999999/1", json=body)).status_code == 404
        assert (await client.post(f"/v1/volumes/{project_id}/999", json=body)).status_code == 404
        _, headers = await new_client(runtime)
        assert (await client.post(base(project_id), json=body, headers=headers)).status_code == 404
        assert (await listed(client, project_id))["count"] == 0

    async def test_failed_create_leaves_nothing(self, client, runtime, project_id):
        """The compensation of create_volume, as the engine runs it when the task fails."""
        from cloudlet.models import volumes
        from cloudlet.volumes import repository, steps

        _, volume = await create(client, project_id)
        task_id = str(uuid.uuid4())
        async with runtime.db.transaction() as conn:  # as if that task were still creating it
            await repository.release_lock(conn, volume["id"], "creating")
            await conn.execute(volumes.update().where(volumes.c.id == volume["id"]).values(task_id=task_id))
            await steps._undo_create(SimpleNamespace(task_id=str(uuid.uuid4()), data={"volume_id": volume["id"]},
                                                     resource_id=volume["id"]), conn, "boom")
        assert (await client.get(f"{base(project_id)}/{volume['id']}")).status_code == 200  # not its task: kept
        async with runtime.db.transaction() as conn:
            await steps._undo_create(SimpleNamespace(task_id=task_id, data={"volume_id": volume["id"]},
                                                     resource_id=volume["id"]), conn, "boom")
        assert (await client.get(f"{base(project_id)}/{volume['id']}")).status_code == 404


class TestListVolumes:
    async def test_filters(self, client, isolated_project, made_instances):
        project_id = isolated_project
        _, empty = await create(client, project_id, name="logs-disk", tags={"team": "ops", "tier": "cold"})
        _, boot = await create(client, project_id, source="image", image_id=UBUNTU, name="image-disk",
                               tags={"team": "web"})
        instance_id = await create_instance(client, project_id, made_instances)
        cases = [
            ({}, 3),
            ({"bootable": "true"}, 2), ({"bootable": "false"}, 1),
            ({"has_attachments": "true"}, 1), ({"has_attachments": "false"}, 2),
            ({"instance_id": instance_id}, 1), ({"instance_id": str(uuid.uuid4())}, 0),
            ({"name_part": "DISK"}, 2), ({"name_part": "logs"}, 1), ({"name_part": "%"}, 0),
            ({"id_part": empty["id"][:8]}, 1), ({"id_part": boot["id"].upper()}, 1),
            ({"tag_key": "team"}, 2), ({"tag_key": ["team", "tier"]}, 1), ({"tag_key": "nope"}, 0),
            ({"tag_key_value": json.dumps({"team": "web"})}, 1), ({"tag_key_value": "team=ops"}, 1),
            ({"tag_key_value": json.dumps({"team": "nobody"})}, 0),
            ({"metadata_kv": json.dumps({"tier": "cold"})}, 1), ({"metadata_k": json.dumps(["tier"])}, 1),
            ({"cluster_id": "k8s-1"}, 0),
        ]
        for params, expected in cases:
            body = await listed(client, project_id, **params)
            assert body["count"] == expected == len(body["results"]), params
        (attached,) = (await listed(client, project_id, instance_id=instance_id))["results"]
        Volume.model_validate(attached)
        assert attached["status"] == "in-use" and attached["is_root_volume"] is True
        (attachment,) = attached["attachments"]
        assert attachment["server_id"] == instance_id and attachment["instance_name"] == "vm-1"
        assert attachment["device"] == "/dev/vda" and attachment["volume_id"] == attached["id"]
        assert attachment["flavor_id"] == "g1-standard-1-2" and attachment["attached_at"]

    async def test_newest_first_and_pages(self, client, project_id):
        ids = [(await create(client, project_id, name=f"disk-{n}"))[1]["id"] for n in range(5)]
        body = await listed(client, project_id)
        assert [v["id"] for v in body["results"]] == ids[::-1]
        page = await listed(client, project_id, limit=2, offset=2)
        assert page["count"] == 5 and [v["id"] for v in page["results"]] == ids[::-1][2:4]

    @pytest.mark.parametrize("params", [{"limit": 1001}, {"offset": -1}, {"bootable": "perhaps"},
                                        {"tag_key_value": "{broken"}, {"tag_key_value": "no-equals"}])
    async def test_bad_query_is_400(self, client, project_id, params):
        r = await client.get(base(project_id), params=params)
        assert r.status_code == 400, r.text

    async def test_other_projects_volumes_are_not_listed(self, client, runtime, project_id):
        await create(client, project_id)
        _, headers = await new_client(runtime)
        assert (await client.get(base(project_id), headers=headers)).status_code == 404
        assert (await client.get(base(999999))).status_code == 404


class TestGetVolume:
    async def test_unknown_or_foreign_volume_is_404(self, client, project_id):
        _, volume = await create(client, project_id)
        assert (await client.get(f"{base(project_id)}/{uuid.uuid4()}")).status_code == 404
        r = await client.get(f"{base(1)}/{volume['id']}")
        assert r.status_code == 404 and r.json()["exception_class"] == "NotFoundError"


class TestDeleteVolume:
    async def test_delete(self, client, project_id):
        _, volume = await create(client, project_id)
        _, kept = await create(client, project_id, name="kept-disk")
        r = await client.delete(f"{base(project_id)}/{volume['id']}")
        assert r.status_code == 200
        (task_id,) = r.json()["tasks"]
        task = (await client.get(f"/v1/tasks/{task_id}")).json()
        assert task["state"] == "FINISHED" and task["task_type"] == "delete_volume"
        assert (await client.get(f"{base(project_id)}/{volume['id']}")).status_code == 404
        assert [v["id"] for v in (await listed(client, project_id))["results"]] == [kept["id"]]
        assert (await client.delete(f"{base(project_id)}/{volume['id']}")).status_code == 404

    async def test_attached_volume_is_refused(self, client, isolated_project, made_instances):
        project_id = isolated_project
        instance_id = await create_instance(client, project_id, made_instances)
        (volume,) = (await listed(client, project_id, instance_id=instance_id))["results"]
        r = await client.delete(f"{base(project_id)}/{volume['id']}")
        assert r.status_code == 400 and instance_id in r.json()["message"]
        after = (await client.get(f"{base(project_id)}/{volume['id']}")).json()
        assert after["status"] == "in-use" and after["task_id"] is None

    async def test_locked_volume_is_refused(self, client, runtime, project_id):
        from cloudlet.models import volumes

        _, volume = await create(client, project_id)
        holder = str(uuid.uuid4())
        async with runtime.db.transaction() as conn:
            await conn.execute(volumes.update().where(volumes.c.id == volume["id"]).values(task_id=holder))
        r = await client.delete(f"{base(project_id)}/{volume['id']}")
        assert r.status_code == 409 and holder in r.json()["message"]
        after = (await client.get(f"{base(project_id)}/{volume['id']}")).json()
        assert after["status"] == "available" and after["task_id"] == holder

    async def test_unknown_snapshot_is_404_and_keeps_the_volume(self, client, project_id):
        _, volume = await create(client, project_id)
        r = await client.delete(f"{base(project_id)}/{volume['id']}", params={"snapshots": "snap-1,snap-2"})
        assert r.status_code == 404
        assert (await client.get(f"{base(project_id)}/{volume['id']}")).json()["status"] == "available"

    async def test_foreign_or_unknown_volume_is_404(self, client, runtime, project_id):
        _, volume = await create(client, project_id)
        assert (await client.delete(f"{base(project_id)}/{uuid.uuid4()}")).status_code == 404
        assert (await client.delete(f"{base(1)}/{volume['id']}")).status_code == 404
        _, headers = await new_client(runtime)
        assert (await client.delete(f"{base(project_id)}/{volume['id']}", headers=headers)).status_code == 404
        assert (await client.get(f"{base(project_id)}/{volume['id']}")).json()["status"] == "available"

    async def test_failed_delete_restores_the_volume(self, client, runtime, project_id):
        """The compensation of delete_volume, as the engine runs it when the task fails."""
        from cloudlet.core.auth import Principal
        from cloudlet.core.scope import resolve_scope
        from cloudlet.volumes import repository, steps

        _, volume = await create(client, project_id)
        task_id = str(uuid.uuid4())
        async with runtime.db.transaction() as conn:
            scope = await resolve_scope(conn, Principal(key_id=1, role="admin"), project_id, 1)
            assert await repository.take_lock(conn, scope, volume["id"], task_id, "deleting")
        locked = (await client.get(f"{base(project_id)}/{volume['id']}")).json()
        assert locked["status"] == "deleting" and locked["task_id"] == task_id
        Volume.model_validate(locked)
        ctx = SimpleNamespace(task_id=task_id, data={"volume_id": volume["id"], "previous_status": "available"},
                              resource_id=volume["id"])
        async with runtime.db.transaction() as conn:
            await steps._undo_delete(ctx, conn, "boom")
        after = (await client.get(f"{base(project_id)}/{volume['id']}")).json()
        assert after["status"] == "available" and after["task_id"] is None


class TestVolumesWithSdk:
    async def test_create_list_get_delete_in_strict_mode(self, sdk):
        volume = await sdk.cloud.volumes.create_and_poll(source="new-volume", name="sdk-disk", size=3,
                                                         tags={"made-by": "sdk"})
        assert volume.status == "available" and volume.size == 3 and volume.tags[0].key == "made-by"
        boot = await sdk.cloud.volumes.create_and_poll(source="image", image_id=UBUNTU, name="sdk-boot", size=5)
        assert boot.bootable and boot.volume_image_metadata["image_id"] == UBUNTU
        names = [v.name async for v in await sdk.cloud.volumes.list(limit=1)]
        assert names == ["sdk-boot", "sdk-disk"]
        assert [v.id for v in (await sdk.cloud.volumes.list(tag_key=["made-by"])).results] == [volume.id]
        await sdk.cloud.volumes.delete_and_poll(volume_id=volume.id)
        assert (await sdk.cloud.volumes.list()).count == 1

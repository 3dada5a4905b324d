from __future__ import annotations

from tests.api.instances.test_create import UBUNTU, create


async def volumes_of(client, project_id):
    r = await client.get(f"/v1/volumes/{project_id}/1")
    if r.status_code == 404:  # volume endpoints not mounted: read through the instance instead
        return None
    return {v["id"]: v for v in r.json()["results"]}


class TestDeleteInstance:
    async def test_boot_volume_survives_unless_listed(self, client, project_id):
        task = await create(client, project_id, volumes=[
            {"source": "image", "image_id": UBUNTU, "size": 10},
            {"source": "new-volume", "size": 5, "delete_on_termination": True},
        ])
        instance_id = task["created_resources"]["instances"][0]
        boot, extra = task["created_resources"]["volumes"]
        r = await client.delete(f"/v1/instances/{project_id}/1/{instance_id}")
        assert r.status_code == 200
        (delete_task,) = r.json()["tasks"]
        done = (await client.get(f"/v1/tasks/{delete_task}")).json()
        assert done["state"] == "FINISHED" and done["task_type"] == "delete_vm"
        assert done["data"]["instance_uuid"] == instance_id
        assert (await client.get(f"/v1/instances/{project_id}/1/{instance_id}")).status_code == 404
        vols = await volumes_of(client, project_id)
        if vols is not None:
            assert set(vols) == {boot}
            assert vols[boot]["status"] == "available" and vols[boot]["attachments"] in ([], None)

    async def test_listed_volumes_are_deleted_and_ip_released(self, client, project_id):
        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        (boot,) = task["created_resources"]["volumes"]
        r = await client.delete(f"/v1/instances/{project_id}/1/{instance_id}", params={"volumes": boot})
        assert r.status_code == 200
        vols = await volumes_of(client, project_id)
        if vols is not None:
            assert vols == {}

    async def test_existing_volume_boots_a_new_instance(self, client, project_id):
        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        (boot,) = task["created_resources"]["volumes"]
        await client.delete(f"/v1/instances/{project_id}/1/{instance_id}")
        again = await create(client, project_id, volumes=[{"source": "existing-volume", "volume_id": boot}])
        assert again["state"] == "FINISHED"
        new_id = again["created_resources"]["instances"][0]
        assert again["created_resources"]["volumes"] == []
        inst = (await client.get(f"/v1/instances/{project_id}/1/{new_id}")).json()
        assert [v["id"] for v in inst["volumes"]] == [boot]
        busy = await client.post(f"/v2/instances/{project_id}/1", json={
            "flavor": "g1-standard-1-2", "interfaces": [{"type": "external"}], "name": "again",
            "volumes": [{"source": "existing-volume", "volume_id": boot}]})
        assert busy.status_code == 400

    async def test_bad_options_are_400_and_change_nothing(self, client, project_id):
        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        url = f"/v1/instances/{project_id}/1/{instance_id}"
        for params in ({"delete_floatings": "true", "floatings": "x"}, {"volumes": "not-attached"},
                       {"floatings": "nope"}, {"reserved_fixed_ips": "nope"}):
            r = await client.delete(url, params=params)
            assert r.status_code == 400, (params, r.text)
        inst = (await client.get(url)).json()
        assert inst["status"] == "ACTIVE" and inst["task_id"] is None

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await client.delete(f"/v1/instances/{project_id}/1/00000000-0000-0000-0000-000000000000")
        assert r.status_code == 404

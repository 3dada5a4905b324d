from __future__ import annotations

from tests.api.instances.test_create import create


class TestUpdateInstance:
    async def test_rename_and_merge_patch_tags(self, client, project_id):
        task = await create(client, project_id, tags={"a": "1", "b": "2"})
        url = f"/v1/instances/{project_id}/1/{task['created_resources']['instances'][0]}"
        r = await client.patch(url, json={"name": "new-name", "tags": {"a": None, "c": "3"}})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["name"] == body["instance_name"] == "new-name"
        assert {t["key"]: t["value"] for t in body["tags"]} == {"b": "2", "c": "3"}
        assert body["metadata"] == {"b": "2", "c": "3"}
        r = await client.patch(url, json={"tags": None})
        assert r.json()["tags"] == []

    async def test_read_only_tags_never_change(self, client, project_id, runtime):
        from cloudlet.instances import repository

        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        async with runtime.db.transaction() as conn:
            await repository.put_tags(conn, instance_id, {"owner": "system"}, read_only=True)
        url = f"/v1/instances/{project_id}/1/{instance_id}"
        await client.patch(url, json={"tags": {"owner": "me", "x": "y"}})
        await client.patch(url, json={"tags": None})
        tags = (await client.get(url)).json()["tags"]
        assert tags == [{"key": "owner", "value": "system", "read_only": True}]

    async def test_bad_name_is_400(self, client, project_id):
        task = await create(client, project_id)
        url = f"/v1/instances/{project_id}/1/{task['created_resources']['instances'][0]}"
        r = await client.patch(url, json={"name": "x"})
        assert r.status_code == 400
        assert (await client.get(url)).json()["name"] == "web-1"

    async def test_tag_rules_apply_to_patch(self, client, project_id):
        task = await create(client, project_id, tags={"keep": "1"})
        url = f"/v1/instances/{project_id}/1/{task['created_resources']['instances'][0]}"
        assert (await client.patch(url, json={"tags": {"a=b": "x"}})).status_code == 400
        too_many = {f"k{n}": "v" for n in range(100)}
        assert (await client.patch(url, json={"tags": too_many})).status_code == 400
        assert {t["key"] for t in (await client.get(url)).json()["tags"]} == {"keep"}

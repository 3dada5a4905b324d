"""Instance metadata: v1 metadata (POST upsert, PUT replace, GET list/item, DELETE item) and v2 metadata_item
(endpoints.md sections 5-6). One store with the instance's ``tags``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gcore.types.cloud import Instance, Tag

from tests.api.instances.test_create import create
from tests.upstream_schema import check


async def delete_instances(client: httpx.AsyncClient, project_id: int) -> None:
    """Delete the project's instances with their volumes."""
    listed = (await client.get(f"/v1/instances/{project_id}/1")).json()
    for inst in listed.get("results", []):
        volumes = ",".join(v["id"] for v in inst["volumes"])
        await client.delete(f"/v1/instances/{project_id}/1/{inst['id']}", params={"volumes": volumes} if volumes else {})


@pytest.fixture
async def project_id(client: httpx.AsyncClient, runtime: Any) -> AsyncIterator[int]:
    """conftest's fresh project, cleaned up afterwards: these tests make many instances, and the default
    client's quotas (100 instances, 300 volumes) are shared by the whole session."""
    from cloudlet.projects.service import create_project

    async with runtime.db.transaction() as conn:
        project = await create_project(conn, client_id=1, name=f"test-{uuid.uuid4().hex[:10]}")
    yield int(project.id)
    await delete_instances(client, int(project.id))


async def new_instance(client: httpx.AsyncClient, project_id: int, **overrides: Any) -> str:
    task = await create(client, project_id, **overrides)
    assert task["state"] == "FINISHED", task
    return str(task["created_resources"]["instances"][0])


def v1(project_id: int, instance_id: str, key: str | None = None) -> str:
    base = f"/cloud/v1/instances/{project_id}/1/{instance_id}/metadata"
    return base if key is None else f"{base}/{key}"


def v2(project_id: int, instance_id: str) -> str:
    return f"/cloud/v2/instances/{project_id}/1/{instance_id}/metadata_item"


async def items(client: httpx.AsyncClient, project_id: int, instance_id: str) -> dict[str, str]:
    r = await client.get(v1(project_id, instance_id))
    assert r.status_code == 200, r.text
    return {i["key"]: i["value"] for i in r.json()["results"]}


async def add_read_only(runtime: Any, instance_id: str, tags: dict[str, str]) -> None:
    from cloudlet.instances import repository

    async with runtime.db.transaction() as conn:
        await repository.put_tags(conn, instance_id, tags, read_only=True)


async def lock(runtime: Any, instance_id: str, task_id: str | None) -> None:
    import sqlalchemy as sa

    from cloudlet.models import instances

    async with runtime.db.transaction() as conn:
        await conn.execute(sa.update(instances).where(instances.c.id == instance_id).values(task_id=task_id))


class TestListMetadata:
    async def test_create_time_metadata_and_tags_are_listed(self, client, project_id):
        instance_id = await new_instance(client, project_id, metadata={"team": "infra"}, tags={"env": "prod"})
        r = await client.get(v1(project_id, instance_id))
        assert r.status_code == 200, r.text
        body = r.json()
        check("TagCollectionSerializer", body)
        assert body["count"] == 2
        assert sorted(body["results"], key=lambda i: i["key"]) == [
            {"key": "env", "value": "prod", "read_only": False},
            {"key": "team", "value": "infra", "read_only": False},
        ]
        for item in body["results"]:
            Tag.model_validate(item)

    async def test_empty_list(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        assert (await client.get(v1(project_id, instance_id))).json() == {"count": 0, "results": []}

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await client.get(v1(project_id, "00000000-0000-0000-0000-000000000000"))
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"

    async def test_instance_of_another_project_is_404(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        other = (await client.post("/cloud/v1/projects", json={"name": "other-metadata"})).json()
        r = await client.get(v1(other["id"], instance_id))
        assert r.status_code == 404


class TestUpsertMetadata:
    async def test_adds_and_overwrites_and_keeps_others(self, client, project_id):
        instance_id = await new_instance(client, project_id, tags={"a": "1", "b": "2"})
        r = await client.post(v1(project_id, instance_id), json={"b": "20", "c": "3"})
        assert r.status_code == 204, r.text
        assert r.content == b""
        assert await items(client, project_id, instance_id) == {"a": "1", "b": "20", "c": "3"}

    async def test_same_store_as_instance_tags(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        before = (await client.get(f"/v1/instances/{project_id}/1/{instance_id}")).json()
        await client.post(v1(project_id, instance_id), json={"cost-center": "Atlanta"})
        inst = (await client.get(f"/v1/instances/{project_id}/1/{instance_id}")).json()
        Instance.model_validate(inst)
        assert inst["tags"] == [{"key": "cost-center", "value": "Atlanta", "read_only": False}]
        assert inst["metadata"] == {"cost-center": "Atlanta"}
        listed = (await client.get(f"/v1/instances/{project_id}/1",
                                   params={"metadata_kv": '{"cost-center": "Atlanta"}'})).json()
        assert [i["id"] for i in listed["results"]] == [instance_id]
        listed = (await client.get(f"/v1/instances/{project_id}/1", params={"metadata_v": '["Atlanta"]'})).json()
        assert [i["id"] for i in listed["results"]] == [instance_id]
        # a metadata write is an update: changes-since sees it
        since = (await client.get(f"/v1/instances/{project_id}/1",
                                  params={"changes-since": before["created_at"]})).json()
        assert instance_id in [i["id"] for i in since["results"]]

    async def test_read_only_item_cannot_change_400(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id, tags={"a": "1"})
        await add_read_only(runtime, instance_id, {"owner": "platform"})
        r = await client.post(v1(project_id, instance_id), json={"a": "2", "owner": "me"})
        assert r.status_code == 400, r.text
        assert "read-only" in r.json()["message"]
        assert await items(client, project_id, instance_id) == {"a": "1", "owner": "platform"}
        # writing the value it already has changes nothing and is accepted
        r = await client.post(v1(project_id, instance_id), json={"owner": "platform", "a": "3"})
        assert r.status_code == 204
        assert await items(client, project_id, instance_id) == {"a": "3", "owner": "platform"}

    @pytest.mark.parametrize(
        "payload",
        [
            {"bad key": "v"},
            {"a=b": "v"},
            {"": "v"},
            {"k" * 256: "v"},
            {"k": "v" * 1025},
            {"k": "é" * 513},  # 1026 bytes
            {"k": "line\nbreak"},
            {"k": 5},
            {"k": None},
            ["not", "an", "object"],
        ],
    )
    async def test_bad_items_are_400_and_change_nothing(self, client, project_id, payload):
        instance_id = await new_instance(client, project_id, tags={"a": "1"})
        r = await client.post(v1(project_id, instance_id), json=payload)
        assert r.status_code == 400, r.text
        assert r.json()["exception_class"] == "ValidationError"
        assert await items(client, project_id, instance_id) == {"a": "1"}

    async def test_longest_key_and_value_are_accepted(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.post(v1(project_id, instance_id), json={"k" * 255: "v" * 1024})
        assert r.status_code == 204, r.text
        assert await items(client, project_id, instance_id) == {"k" * 255: "v" * 1024}

    async def test_more_than_100_items_is_400(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.post(v1(project_id, instance_id), json={f"k{i}": "v" for i in range(100)})
        assert r.status_code == 204, r.text
        r = await client.post(v1(project_id, instance_id), json={"one-more": "v"})
        assert r.status_code == 400
        assert "at most 100" in r.json()["message"]
        assert len(await items(client, project_id, instance_id)) == 100
        # overwriting present keys does not count as new ones
        assert (await client.post(v1(project_id, instance_id), json={"k1": "w"})).status_code == 204

    async def test_locked_instance_is_409(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id, tags={"a": "1"})
        await lock(runtime, instance_id, "00000000-0000-0000-0000-00000000aaaa")
        try:
            r = await client.post(v1(project_id, instance_id), json={"a": "2"})
            assert r.status_code == 409
            assert r.json()["exception_class"] == "ConflictError"
        finally:
            await lock(runtime, instance_id, None)
        assert await items(client, project_id, instance_id) == {"a": "1"}

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await client.post(v1(project_id, "00000000-0000-0000-0000-000000000000"), json={"a": "1"})
        assert r.status_code == 404


class TestReplaceMetadata:
    async def test_replaces_user_items_keeps_read_only(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id, tags={"a": "1", "b": "2"})
        await add_read_only(runtime, instance_id, {"owner": "platform"})
        r = await client.put(v1(project_id, instance_id), json={"c": "3"})
        assert r.status_code == 204, r.text
        assert await items(client, project_id, instance_id) == {"c": "3", "owner": "platform"}
        r = await client.put(v1(project_id, instance_id), json={})
        assert r.status_code == 204
        assert await items(client, project_id, instance_id) == {"owner": "platform"}

    async def test_changing_a_read_only_item_is_400(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id, tags={"a": "1"})
        await add_read_only(runtime, instance_id, {"owner": "platform"})
        r = await client.put(v1(project_id, instance_id), json={"owner": "me"})
        assert r.status_code == 400
        assert await items(client, project_id, instance_id) == {"a": "1", "owner": "platform"}

    async def test_bad_item_is_400_and_changes_nothing(self, client, project_id):
        instance_id = await new_instance(client, project_id, tags={"a": "1"})
        r = await client.put(v1(project_id, instance_id), json={"ok": "v", "bad key": "v"})
        assert r.status_code == 400
        assert await items(client, project_id, instance_id) == {"a": "1"}

    async def test_too_many_items_is_400(self, client, project_id):
        instance_id = await new_instance(client, project_id, tags={"a": "1"})
        r = await client.put(v1(project_id, instance_id), json={f"k{i}": "v" for i in range(101)})
        assert r.status_code == 400
        assert await items(client, project_id, instance_id) == {"a": "1"}

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await client.put(v1(project_id, "00000000-0000-0000-0000-000000000000"), json={"a": "1"})
        assert r.status_code == 404


class TestGetMetadataItem:
    async def test_v1_and_v2(self, client, project_id):
        instance_id = await new_instance(client, project_id, tags={"env": "prod"})
        for r in (await client.get(v1(project_id, instance_id, "env")),
                  await client.get(v2(project_id, instance_id), params={"key": "env"})):
            assert r.status_code == 200, r.text
            assert r.json() == {"key": "env", "value": "prod", "read_only": False}
            check("TagSerializer", r.json())
            Tag.model_validate(r.json())

    async def test_v2_takes_keys_with_any_characters(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        key = "app/owner.name?x#y%z"
        assert (await client.post(v1(project_id, instance_id), json={key: "team-a"})).status_code == 204
        r = await client.get(v2(project_id, instance_id), params={"key": key})
        assert r.status_code == 200, r.text
        assert r.json()["key"] == key and r.json()["value"] == "team-a"

    async def test_missing_key_is_404(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        assert (await client.get(v1(project_id, instance_id, "nope"))).status_code == 404
        r = await client.get(v2(project_id, instance_id), params={"key": "nope"})
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"

    async def test_v2_without_key_is_400(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.get(v2(project_id, instance_id))
        assert r.status_code == 400
        assert r.json()["invalid_fields"] == {"key": ["The query parameter 'key' is required"]}

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await client.get(v2(project_id, "00000000-0000-0000-0000-000000000000"), params={"key": "a"})
        assert r.status_code == 404


class TestDeleteMetadataItem:
    async def test_v1_and_v2_delete(self, client, project_id):
        instance_id = await new_instance(client, project_id, tags={"a": "1", "b/c": "2", "d": "3"})
        r = await client.delete(v1(project_id, instance_id, "a"))
        assert r.status_code == 204, r.text
        r = await client.delete(v2(project_id, instance_id), params={"key": "b/c"})
        assert r.status_code == 204, r.text
        assert await items(client, project_id, instance_id) == {"d": "3"}

    async def test_missing_key_is_404(self, client, project_id):
        instance_id = await new_instance(client, project_id, tags={"a": "1"})
        assert (await client.delete(v1(project_id, instance_id, "nope"))).status_code == 404
        assert (await client.delete(v2(project_id, instance_id), params={"key": "nope"})).status_code == 404
        assert await items(client, project_id, instance_id) == {"a": "1"}

    async def test_read_only_item_is_400(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        await add_read_only(runtime, instance_id, {"owner": "platform"})
        for r in (await client.delete(v1(project_id, instance_id, "owner")),
                  await client.delete(v2(project_id, instance_id), params={"key": "owner"})):
            assert r.status_code == 400, r.text
        assert await items(client, project_id, instance_id) == {"owner": "platform"}

    async def test_v2_without_key_is_400(self, client, project_id):
        instance_id = await new_instance(client, project_id, tags={"a": "1"})
        assert (await client.delete(v2(project_id, instance_id))).status_code == 400
        assert await items(client, project_id, instance_id) == {"a": "1"}

    async def test_locked_instance_is_409(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id, tags={"a": "1"})
        await lock(runtime, instance_id, "00000000-0000-0000-0000-00000000bbbb")
        try:
            assert (await client.delete(v1(project_id, instance_id, "a"))).status_code == 409
        finally:
            await lock(runtime, instance_id, None)
        assert await items(client, project_id, instance_id) == {"a": "1"}

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await client.delete(v1(project_id, "00000000-0000-0000-0000-000000000000", "a"))
        assert r.status_code == 404

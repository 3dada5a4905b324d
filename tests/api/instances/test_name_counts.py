"""A list filtered by name alone reuses a count made while the scope had the same names (migration 0008,
instances/name_counts.py): the count is exact after every kind of change, through the API or behind it,
and a change that leaves the names alone keeps the count."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from cloudlet.instances import name_counts
from cloudlet.models import instance_name_versions, instances
from tests.api.instances.test_actions import wait_task
from tests.api.instances.test_list import listing, make


async def version(runtime: Any, project_id: int) -> int:
    async with runtime.db.read() as conn:
        found = await conn.scalar(sa.select(instance_name_versions.c.version).where(
            instance_name_versions.c.project_id == project_id, instance_name_versions.c.region_id == 1))
    return int(found or 0)


def cached(runtime: Any, project_id: int, name: str, at: int) -> int | None:
    hit = name_counts.known(runtime.db, SimpleNamespace(project_id=project_id, region_id=1), name, at)
    return None if hit is None else hit.total


async def count(client: Any, project_id: int, name: str) -> int:
    page = await listing(client, project_id, name=name, limit=1)
    return int(page["count"])


async def test_the_count_follows_every_change_of_the_names(client, project_id, runtime):
    ids = {name: await make(client, project_id, name) for name in ("web-1", "web-2", "db-1")}
    assert await count(client, project_id, "web") == 2
    assert cached(runtime, project_id, "web", await version(runtime, project_id)) == 2

    await make(client, project_id, "web-3")
    assert await count(client, project_id, "web") == 3

    r = await client.patch(f"/v1/instances/{project_id}/1/{ids['db-1']}", json={"name": "web-db"})
    assert r.status_code == 200, r.text
    assert await count(client, project_id, "web") == 4

    async with runtime.db.transaction() as conn:  # behind the API
        await conn.execute(instances.update().where(instances.c.id == ids["web-1"]).values(name="app-1"))
    assert await count(client, project_id, "web") == 3
    assert await count(client, project_id, "^app-") == 1

    gone = (await client.delete(f"/v1/instances/{project_id}/1/{ids['web-2']}")).json()
    assert (await wait_task(client, gone["tasks"][0]))["state"] == "FINISHED"
    assert await count(client, project_id, "web") == 2

    before = await version(runtime, project_id)
    async with runtime.db.transaction() as conn:  # moved to another region, behind the API
        await conn.execute(instances.update().where(instances.c.id == ids["db-1"]).values(region_id=2))
    assert await version(runtime, project_id) > before
    assert await count(client, project_id, "web") == 1


async def test_a_change_that_keeps_the_names_keeps_the_count(client, project_id, runtime):
    instance_id = await make(client, project_id, "web-1")
    assert await count(client, project_id, "WEB") == 1
    at = await version(runtime, project_id)
    r = await client.post(f"/v2/instances/{project_id}/1/{instance_id}/action", json={"action": "stop"})
    assert (await wait_task(client, r.json()["tasks"][0]))["state"] == "FINISHED"
    r = await client.patch(f"/v1/instances/{project_id}/1/{instance_id}", json={"tags": {"role": "web"}})
    assert r.status_code == 200, r.text
    assert await version(runtime, project_id) == at
    assert cached(runtime, project_id, "WEB", at) == 1
    assert await count(client, project_id, "WEB") == 1


async def test_other_filters_are_counted_afresh(client, project_id, runtime):
    await make(client, project_id, "web-1")
    await make(client, project_id, "web-2", flavor="g1-standard-4-8")
    assert await count(client, project_id, "web") == 2
    page = await listing(client, project_id, name="web", flavor_id="g1-standard-4-8", limit=1)
    assert page["count"] == 1
    page = await listing(client, project_id, name="web", status="ACTIVE", limit=1)
    assert page["count"] == 2

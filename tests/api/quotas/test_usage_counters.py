"""``project_usage``, ``host_allocations`` and ``instance_status_counts`` (migration 0006, kept by
triggers) always equal a recount from the resource tables, after every kind of change, through the API
or behind it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.models import (
    host_allocations,
    instance_status_counts,
    instances,
    networks,
    ports,
    project_usage,
    volumes,
)
from tests.api.instances.test_actions import wait_task
from tests.api.instances.test_create import create as create_instance
from tests.api.instances.test_resize import resize_ok
from tests.api.volumes.test_volumes import base as volumes_base
from tests.api.volumes.test_volumes import create as create_volume

_PROJECT_AMOUNTS = ("instances", "shared_instances", "vcpus", "ram", "volumes", "volume_size", "external_ips")


Counts = tuple[dict[tuple[int, int], dict[str, int]], dict[str, tuple[int, int, int]], dict[tuple[int, int, str], int]]


async def recount(runtime: Any) -> Counts:
    """What the counters must say, summed from the resource tables the slow way."""
    usage: dict[tuple[int, int], dict[str, int]] = {}

    def add(key: tuple[int, int], **amounts: int) -> None:
        row = usage.setdefault(key, dict.fromkeys(_PROJECT_AMOUNTS, 0))
        for name, amount in amounts.items():
            row[name] += amount

    async with runtime.db.read() as conn:
        for r in await conn.execute(sa.select(instances.c.project_id, instances.c.region_id, instances.c.flavor_id,
                                              instances.c.vcpus, instances.c.ram)):
            add((r.project_id, r.region_id), instances=1, shared_instances=int(r.flavor_id.startswith("g1s-shared")),
                vcpus=r.vcpus, ram=r.ram)
        for r in await conn.execute(sa.select(volumes.c.project_id, volumes.c.region_id, volumes.c.size)):
            add((r.project_id, r.region_id), volumes=1, volume_size=r.size)
        for r in await conn.execute(sa.select(ports.c.project_id, ports.c.region_id)
                                    .join(networks, networks.c.id == ports.c.network_id)
                                    .where(networks.c.external.is_(True))):
            add((r.project_id, r.region_id), external_ips=1)
        hosts: dict[str, tuple[int, int, int]] = {}
        for r in await conn.execute(sa.select(instances.c.host, sa.func.count(), sa.func.sum(instances.c.vcpus),
                                              sa.func.sum(instances.c.ram))
                                    .where(instances.c.host.is_not(None)).group_by(instances.c.host)):
            hosts[r[0]] = (int(r[1]), int(r[2]), int(r[3]))
        statuses = {(r[0], r[1], r[2]): int(r[3]) for r in await conn.execute(
            sa.select(instances.c.project_id, instances.c.region_id, instances.c.status, sa.func.count())
            .group_by(instances.c.project_id, instances.c.region_id, instances.c.status))}
    return usage, hosts, statuses


async def counted(runtime: Any) -> Counts:
    """What the counters say (rows that have come back to zero left out)."""
    async with runtime.db.read() as conn:
        usage = {(r.project_id, r.region_id): {n: int(getattr(r, n)) for n in _PROJECT_AMOUNTS}
                 for r in await conn.execute(sa.select(project_usage))}
        hosts = {r.host: (int(r.instances), int(r.vcpus), int(r.ram))
                 for r in await conn.execute(sa.select(host_allocations))}
        statuses = {(r.project_id, r.region_id, r.status): int(r.instances)
                    for r in await conn.execute(sa.select(instance_status_counts))}
    return ({k: v for k, v in usage.items() if any(v.values())},
            {k: v for k, v in hosts.items() if any(v)},
            {k: v for k, v in statuses.items() if v})


async def assert_exact(runtime: Any) -> None:
    assert await counted(runtime) == await recount(runtime)


class TestCountersFollowEveryChange:
    async def test_instance_lifecycle(self, client, project_id, runtime):
        await assert_exact(runtime)
        task = await create_instance(client, project_id, volumes=[
            {"source": "image", "image_id": "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001", "size": 10},
            {"source": "new-volume", "size": 3}])
        assert task["state"] == "FINISHED", task
        instance_id = task["created_resources"]["instances"][0]
        await assert_exact(runtime)
        shared = await create_instance(client, project_id, flavor="g1s-shared-1-1", name="shared-1")
        assert shared["state"] == "FINISHED", shared
        await assert_exact(runtime)
        resized = await wait_task(client, await resize_ok(client, project_id, instance_id, "g1-standard-4-8"))
        assert resized["state"] == "FINISHED", resized
        await assert_exact(runtime)
        for made in (task, shared):
            gone = (await client.delete(f"/v1/instances/{project_id}/1/{made['created_resources']['instances'][0]}",
                                        params={"delete_floatings": True})).json()
            assert (await wait_task(client, gone["tasks"][0]))["state"] == "FINISHED"
            await assert_exact(runtime)

    async def test_volumes(self, client, project_id, runtime):
        _, volume = await create_volume(client, project_id, size=7)
        await assert_exact(runtime)
        r = await client.delete(f"{volumes_base(project_id)}/{volume['id']}")
        assert (await wait_task(client, r.json()["tasks"][0]))["state"] == "FINISHED"
        await assert_exact(runtime)

    async def test_power_actions_and_list_counts(self, client, project_id, runtime):
        task = await create_instance(client, project_id, name="powered-1")
        instance_id = task["created_resources"]["instances"][0]
        base = f"/v2/instances/{project_id}/1/{instance_id}/action"
        for action in ("stop", "start", "reboot"):
            r = await client.post(base, json={"action": action})
            assert r.status_code == 200, r.text
            assert (await wait_task(client, r.json()["tasks"][0]))["state"] == "FINISHED"
            await assert_exact(runtime)
        listed = (await client.get(f"/v1/instances/{project_id}/1", params={"status": "ACTIVE", "limit": 1})).json()
        recounted = (await recount(runtime))[2].get((project_id, 1, "ACTIVE"), 0)
        assert listed["count"] == recounted >= 1
        everything = (await client.get(f"/v1/instances/{project_id}/1", params={"limit": 1})).json()
        assert everything["count"] == sum(n for (p, r, _), n in (await recount(runtime))[2].items()
                                          if (p, r) == (project_id, 1))

    async def test_writes_behind_the_api(self, client, project_id, runtime):
        task = await create_instance(client, project_id, name="moved-1")
        instance_id = task["created_resources"]["instances"][0]
        async with runtime.db.transaction() as conn:
            await conn.execute(instances.update().where(instances.c.id == instance_id)
                               .values(host="sim-host-elsewhere", vcpus=instances.c.vcpus + 1))
        await assert_exact(runtime)
        async with runtime.db.transaction() as conn:
            await conn.execute(instances.update().where(instances.c.id == instance_id)
                               .values(host=None, status="SHUTOFF"))
            await conn.execute(volumes.update().where(volumes.c.instance_id == instance_id)
                               .values(size=volumes.c.size + 5))
        await assert_exact(runtime)
        gone = (await client.delete(f"/v1/instances/{project_id}/1/{instance_id}")).json()
        assert (await wait_task(client, gone["tasks"][0]))["state"] == "FINISHED"
        await assert_exact(runtime)

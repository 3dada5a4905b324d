"""Placement groups and instances: create-time scheduling and put_into / remove_from_servergroup."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from cloudlet.config import Settings
from cloudlet.models import instances, ports, volumes
from tests.api.networks.helpers import (
    PUBLIC_V4,
    REGION,
    UBUNTU,
    count_rows,
    create_instance,
    other_project,
    own_project,
    task_of,
)
from tests.conftest import ADMIN_TOKEN, LifespanApp, database_url

# These tests count hosts: they run against an app of their own with exactly three simulated hosts.
HOSTS = 3


@pytest.fixture(scope="module")
def placement_db_url(backend: str) -> Iterator[str]:
    with database_url(backend) as url:
        yield url


@pytest.fixture(scope="module")
async def placement_app(placement_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    from cloudlet.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("placement"), database_url=placement_db_url,
                        admin_api_key=ADMIN_TOKEN, sim_profile="instant", sim_hosts=HOSTS, log_level="warning")
    application = create_app(settings)
    async with LifespanApp(application):
        yield application


@pytest.fixture
def runtime(placement_app: Any) -> Any:
    return placement_app.app.state.runtime


@pytest.fixture
async def client(placement_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=placement_app), base_url="http://cloudlet.test",
                                 headers={"Authorization": f"APIKey {ADMIN_TOKEN}"}, timeout=30) as c:
        yield c


@pytest.fixture
async def project_id(runtime: Any, client: httpx.AsyncClient) -> AsyncIterator[int]:
    """A project of its own client, its instances deleted afterwards (helpers.own_project)."""
    async with own_project(runtime, client) as pid:
        yield pid


def inst(project_id: int, *rest: str) -> str:
    return "/".join([f"/v1/instances/{project_id}/{REGION}", *rest])


async def create_group(client, project_id, policy, name="grp") -> str:
    r = await client.post(f"/v1/servergroups/{project_id}/{REGION}", json={"name": name, "policy": policy})
    assert r.status_code == 200, r.text
    return r.json()["servergroup_id"]


async def members(client, project_id, group_id) -> list[str]:
    g = (await client.get(f"/v1/servergroups/{project_id}/{REGION}/{group_id}")).json()
    return [i["instance_id"] for i in g["instances"]]


async def host_of(runtime, instance_id) -> str:
    import sqlalchemy as sa

    async with runtime.db.read() as conn:
        return await conn.scalar(sa.select(instances.c.host).where(instances.c.id == instance_id))


async def put(client, project_id, instance_id, group_id):
    return await task_of(client, await client.post(inst(project_id, instance_id, "put_into_servergroup"),
                                                   json={"servergroup_id": group_id}))


async def remove(client, project_id, instance_id):
    return await task_of(client, await client.post(inst(project_id, instance_id, "remove_from_servergroup")))


class TestCreateInGroup:
    async def test_anti_affinity_spreads_over_hosts(self, client, project_id, runtime):
        group_id = await create_group(client, project_id, "anti-affinity")
        ids = [await create_instance(client, project_id, name=f"anti-{n}", servergroup_id=group_id)
               for n in range(HOSTS)]
        assert len({await host_of(runtime, i) for i in ids}) == HOSTS
        assert sorted(await members(client, project_id, group_id)) == sorted(ids)

    async def test_affinity_keeps_one_host(self, client, project_id, runtime):
        group_id = await create_group(client, project_id, "affinity")
        ids = [await create_instance(client, project_id, name=f"aff-{n}", servergroup_id=group_id)
               for n in range(3)]
        assert len({await host_of(runtime, i) for i in ids}) == 1

    async def test_soft_anti_affinity_overflows_instead_of_failing(self, client, project_id, runtime):
        group_id = await create_group(client, project_id, "soft-anti-affinity")
        ids = [await create_instance(client, project_id, name=f"soft-{n}", servergroup_id=group_id)
               for n in range(HOSTS + 1)]
        assert len({await host_of(runtime, i) for i in ids}) == HOSTS

    async def test_more_anti_affinity_members_than_hosts_fails_cleanly(self, client, project_id, runtime):
        group_id = await create_group(client, project_id, "anti-affinity")
        for n in range(HOSTS):
            await create_instance(client, project_id, name=f"anti-{n}", servergroup_id=group_id)
        public = (await client.get(f"/v1/subnets/{project_id}/{REGION}/{PUBLIC_V4}")).json()["available_ips"]
        r = await client.post(f"/v2/instances/{project_id}/{REGION}", json={
            "flavor": "g1-standard-1-2", "name": "anti-4", "servergroup_id": group_id,
            "interfaces": [{"type": "external"}],
            "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}]})
        task = await task_of(client, r)
        assert task["state"] == "ERROR"
        assert "No valid host" in task["error"]
        instance_id = task["data"]["instance_id"]
        assert (await client.get(inst(project_id, instance_id))).status_code == 404
        assert await count_rows(runtime, instances, instances.c.project_id == project_id) == HOSTS
        assert await count_rows(runtime, ports, ports.c.project_id == project_id) == HOSTS
        assert await count_rows(runtime, ports, ports.c.instance_id == instance_id) == 0
        assert await count_rows(runtime, volumes, volumes.c.project_id == project_id) == HOSTS
        after = (await client.get(f"/v1/subnets/{project_id}/{REGION}/{PUBLIC_V4}")).json()["available_ips"]
        assert after == public
        assert len(await members(client, project_id, group_id)) == HOSTS


class TestPutIntoServerGroup:
    @pytest.mark.parametrize("policy", ["affinity", "anti-affinity", "soft-anti-affinity"])
    async def test_put_and_remove_a_lone_instance(self, client, project_id, policy):
        group_id = await create_group(client, project_id, policy)
        instance_id = await create_instance(client, project_id)
        task = await put(client, project_id, instance_id, group_id)
        assert task["state"] == "FINISHED" and task["task_type"] == "put_into_server_group"
        assert await members(client, project_id, group_id) == [instance_id]
        inst_body = (await client.get(inst(project_id, instance_id))).json()
        assert inst_body["task_id"] is None and inst_body["status"] == "ACTIVE"
        task = await remove(client, project_id, instance_id)
        assert task["state"] == "FINISHED" and task["task_type"] == "remove_from_server_group"
        assert await members(client, project_id, group_id) == []

    async def _two_on_one_host(self, client, project_id):
        aff = await create_group(client, project_id, "affinity", name="together")
        a = await create_instance(client, project_id, name="vm-a", servergroup_id=aff)
        b = await create_instance(client, project_id, name="vm-b", servergroup_id=aff)
        assert (await remove(client, project_id, a))["state"] == "FINISHED"
        assert (await remove(client, project_id, b))["state"] == "FINISHED"
        return a, b

    async def _two_on_two_hosts(self, client, project_id):
        anti = await create_group(client, project_id, "anti-affinity", name="apart")
        a = await create_instance(client, project_id, name="vm-a", servergroup_id=anti)
        b = await create_instance(client, project_id, name="vm-b", servergroup_id=anti)
        assert (await remove(client, project_id, a))["state"] == "FINISHED"
        assert (await remove(client, project_id, b))["state"] == "FINISHED"
        return a, b

    async def test_anti_affinity_violation_fails_and_changes_nothing(self, client, project_id, runtime):
        a, b = await self._two_on_one_host(client, project_id)
        assert await host_of(runtime, a) == await host_of(runtime, b)
        group_id = await create_group(client, project_id, "anti-affinity")
        assert (await put(client, project_id, a, group_id))["state"] == "FINISHED"
        task = await put(client, project_id, b, group_id)
        assert task["state"] == "ERROR" and "No valid host" in task["error"]
        assert await members(client, project_id, group_id) == [a]
        body = (await client.get(inst(project_id, b))).json()
        assert body["task_id"] is None and body["status"] == "ACTIVE"

    async def test_soft_anti_affinity_accepts_the_same_host(self, client, project_id):
        a, b = await self._two_on_one_host(client, project_id)
        group_id = await create_group(client, project_id, "soft-anti-affinity")
        assert (await put(client, project_id, a, group_id))["state"] == "FINISHED"
        assert (await put(client, project_id, b, group_id))["state"] == "FINISHED"
        assert sorted(await members(client, project_id, group_id)) == sorted([a, b])

    async def test_affinity_violation_fails(self, client, project_id, runtime):
        a, b = await self._two_on_two_hosts(client, project_id)
        assert await host_of(runtime, a) != await host_of(runtime, b)
        group_id = await create_group(client, project_id, "affinity")
        assert (await put(client, project_id, a, group_id))["state"] == "FINISHED"
        task = await put(client, project_id, b, group_id)
        assert task["state"] == "ERROR" and "No valid host" in task["error"]
        assert await members(client, project_id, group_id) == [a]

    async def test_already_in_a_group_is_400(self, client, project_id):
        first = await create_group(client, project_id, "affinity", name="first")
        second = await create_group(client, project_id, "affinity", name="second")
        instance_id = await create_instance(client, project_id, servergroup_id=first)
        r = await client.post(inst(project_id, instance_id, "put_into_servergroup"), json={"servergroup_id": second})
        assert r.status_code == 400
        assert await members(client, project_id, second) == []

    async def test_unknown_group_instance_or_foreign_is_404(self, client, project_id, runtime):
        group_id = await create_group(client, project_id, "affinity")
        instance_id = await create_instance(client, project_id)
        r = await client.post(inst(project_id, instance_id, "put_into_servergroup"), json={"servergroup_id": "nope"})
        assert r.status_code == 404
        r = await client.post(inst(project_id, "nope", "put_into_servergroup"), json={"servergroup_id": group_id})
        assert r.status_code == 404
        other = await other_project(runtime)
        r = await client.post(inst(other, instance_id, "put_into_servergroup"), json={"servergroup_id": group_id})
        assert r.status_code == 404

    async def test_missing_body_field_is_400(self, client, project_id):
        instance_id = await create_instance(client, project_id)
        r = await client.post(inst(project_id, instance_id, "put_into_servergroup"), json={})
        assert r.status_code == 400


class TestRemoveFromServerGroup:
    async def test_not_in_a_group_is_400(self, client, project_id):
        instance_id = await create_instance(client, project_id)
        r = await client.post(inst(project_id, instance_id, "remove_from_servergroup"))
        assert r.status_code == 400

    async def test_unknown_is_404(self, client, project_id):
        assert (await client.post(inst(project_id, "nope", "remove_from_servergroup"))).status_code == 404

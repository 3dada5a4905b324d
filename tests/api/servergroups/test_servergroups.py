from __future__ import annotations

import pytest
from gcore.types.cloud import PlacementGroup

from cloudlet.models import servergroups
from tests.api.networks.helpers import (
    REGION,
    count_rows,
    create_instance,
    finished,
    other_project,
)


def url(project_id: int, *rest: str) -> str:
    return "/".join([f"/v1/servergroups/{project_id}/{REGION}", *rest])


async def create_group(client, project_id, name="group-1", policy="anti-affinity") -> str:
    r = await client.post(url(project_id), json={"name": name, "policy": policy})
    assert r.status_code == 200, r.text
    return PlacementGroup.model_validate(r.json()).servergroup_id


class TestCreateServerGroup:
    @pytest.mark.parametrize("policy", ["affinity", "anti-affinity", "soft-anti-affinity"])
    async def test_create_is_synchronous(self, client, project_id, policy):
        r = await client.post(url(project_id), json={"name": "grp", "policy": policy})
        assert r.status_code == 200
        g = PlacementGroup.model_validate(r.json())
        assert g.policy == policy and g.instances == [] and g.project_id == project_id and g.region_id == REGION
        assert "id" not in r.json()

    @pytest.mark.parametrize("body", [{"name": "grp"}, {"name": "grp", "policy": "spread"},
                                      {"policy": "affinity"}, {"name": "-", "policy": "affinity"}])
    async def test_bad_input_is_400_and_creates_nothing(self, client, project_id, runtime, body):
        r = await client.post(url(project_id), json=body)
        assert r.status_code == 400
        assert await count_rows(runtime, servergroups, servergroups.c.project_id == project_id) == 0


class TestListServerGroups:
    async def test_lists_with_total_count(self, client, project_id):
        for n in range(3):
            await create_group(client, project_id, name=f"grp-{n}")
        body = (await client.get(url(project_id), params={"limit": 2})).json()
        assert body["count"] == 3 and len(body["results"]) == 2
        for g in body["results"]:
            PlacementGroup.model_validate(g)


class TestGetServerGroup:
    async def test_lists_member_instances(self, client, project_id):
        group_id = await create_group(client, project_id)
        instance_id = await create_instance(client, project_id, name="member-1", servergroup_id=group_id)
        g = PlacementGroup.model_validate((await client.get(url(project_id, group_id))).json())
        assert [(i.instance_id, i.instance_name) for i in g.instances] == [(instance_id, "member-1")]

    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        group_id = await create_group(client, project_id)
        other = await other_project(runtime)
        assert (await client.get(url(other, group_id))).status_code == 404
        assert (await client.get(url(project_id, "missing"))).status_code == 404


class TestDeleteServerGroup:
    async def test_delete_is_a_task(self, client, project_id):
        group_id = await create_group(client, project_id)
        task = await finished(client, await client.delete(url(project_id, group_id)))
        assert task["task_type"] == "delete_servergroup"
        assert (await client.get(url(project_id, group_id))).status_code == 404

    async def test_group_with_members_is_400_and_stays(self, client, project_id):
        group_id = await create_group(client, project_id)
        await create_instance(client, project_id, servergroup_id=group_id)
        r = await client.delete(url(project_id, group_id))
        assert r.status_code == 400
        assert (await client.get(url(project_id, group_id))).status_code == 200

    async def test_deleted_member_leaves_the_group(self, client, project_id):
        group_id = await create_group(client, project_id)
        instance_id = await create_instance(client, project_id, servergroup_id=group_id)
        await finished(client, await client.delete(f"/v1/instances/{project_id}/{REGION}/{instance_id}"))
        assert (await client.get(url(project_id, group_id))).json()["instances"] == []
        await finished(client, await client.delete(url(project_id, group_id)))

    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        group_id = await create_group(client, project_id)
        other = await other_project(runtime)
        assert (await client.delete(url(other, group_id))).status_code == 404
        assert (await client.delete(url(project_id, "missing"))).status_code == 404

from __future__ import annotations

import pytest
from gcore.types.cloud import Network, TaskIDList

from cloudlet.models import networks
from tests.api.networks.helpers import (
    PUBLIC_NETWORK,
    REGION,
    count_rows,
    create_instance,
    create_network,
    create_subnet,
    finished,
    other_project,
    task_of,
)


def url(project_id: int, *rest: str) -> str:
    return "/".join([f"/v1/networks/{project_id}/{REGION}", *rest])


class TestCreateNetwork:
    async def test_create_finishes_with_the_network(self, client, project_id):
        r = await client.post(url(project_id), json={"name": "my-net", "tags": {"env": "test"}})
        TaskIDList.model_validate(r.json())
        task = await finished(client, r)
        assert task["task_type"] == "create_network"
        (network_id,) = task["created_resources"]["networks"]
        net = (await client.get(url(project_id, network_id))).json()
        Network.model_validate(net)
        assert net["name"] == "my-net" and net["type"] == "vxlan" and net["mtu"] == 1450
        assert net["external"] is False and net["shared"] is False and net["subnets"] == []
        assert net["tags"] == [{"key": "env", "value": "test", "read_only": False}]
        assert net["project_id"] == project_id and net["task_id"] is None
        assert net["creator_task_id"] == task["id"]

    async def test_vlan_type(self, client, project_id):
        network_id = await create_network(client, project_id, type="vlan")
        net = (await client.get(url(project_id, network_id))).json()
        assert net["type"] == "vlan"

    @pytest.mark.parametrize("body", [{}, {"name": "x"}, {"name": "ok-name", "type": "flat"}, {"name": 5},
                                      {"name": "ok-name", "tags": {"k": 1}}])
    async def test_bad_input_is_400_and_creates_nothing(self, client, project_id, runtime, body):
        r = await client.post(url(project_id), json=body)
        assert r.status_code == 400, r.text
        assert r.json()["exception_class"] == "ValidationError"
        assert await count_rows(runtime, networks, networks.c.project_id == project_id) == 0

    async def test_unknown_project_is_404(self, client):
        r = await client.post(url(987654), json={"name": "my-net"})
        assert r.status_code == 404


class TestListNetworks:
    async def test_lists_own_networks_with_total_count(self, client, project_id):
        for n in range(3):
            await create_network(client, project_id, name=f"net-{n}")
        body = (await client.get(url(project_id), params={"limit": 2, "order_by": "name.asc"})).json()
        assert body["count"] == 3
        assert [n["name"] for n in body["results"]] == ["net-0", "net-1"]
        for item in body["results"]:
            Network.model_validate(item)
        page2 = (await client.get(url(project_id), params={"limit": 2, "offset": 2, "order_by": "name.asc"})).json()
        assert [n["name"] for n in page2["results"]] == ["net-2"]

    async def test_owned_by_any_adds_the_shared_external_network(self, client, project_id):
        await create_network(client, project_id)
        own = (await client.get(url(project_id))).json()
        assert PUBLIC_NETWORK not in [n["id"] for n in own["results"]]
        every = (await client.get(url(project_id), params={"owned_by": "any", "external": "true"})).json()
        assert [n["id"] for n in every["results"]] == [PUBLIC_NETWORK]
        assert every["results"][0]["shared"] is True and len(every["results"][0]["subnets"]) == 2

    async def test_filters_by_tags_and_name(self, client, project_id):
        await create_network(client, project_id, name="a-net", tags={"team": "x"})
        await create_network(client, project_id, name="b-net", tags={"team": "y"})
        r = await client.get(url(project_id), params={"tag_key_value": '{"team": "y"}'})
        assert [n["name"] for n in r.json()["results"]] == ["b-net"]
        r = await client.get(url(project_id), params={"tag_key": "team"})
        assert r.json()["count"] == 2
        r = await client.get(url(project_id), params={"name": "a-net"})
        assert [n["name"] for n in r.json()["results"]] == ["a-net"]

    async def test_bad_order_by_is_400(self, client, project_id):
        r = await client.get(url(project_id), params={"order_by": "size.asc"})
        assert r.status_code == 400


class TestGetNetwork:
    async def test_lists_subnet_ids(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        net = (await client.get(url(project_id, network_id))).json()
        assert net["subnets"] == [subnet_id]

    async def test_shared_external_network_is_visible(self, client, project_id):
        r = await client.get(url(project_id, PUBLIC_NETWORK))
        assert r.status_code == 200
        Network.model_validate(r.json())
        assert r.json()["external"] is True

    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        network_id = await create_network(client, project_id)
        other = await other_project(runtime)
        assert (await client.get(url(other, network_id))).status_code == 404
        r = await client.get(url(project_id, "00000000-0000-0000-0000-000000000000"))
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"


class TestUpdateNetwork:
    async def test_v1_patch_renames_and_merges_tags(self, client, project_id):
        network_id = await create_network(client, project_id, tags={"a": "1", "b": "2"})
        r = await client.patch(url(project_id, network_id), json={"name": "renamed", "tags": {"a": None, "c": "3"}})
        assert r.status_code == 200, r.text
        Network.model_validate(r.json())
        assert r.json()["name"] == "renamed"
        assert {t["key"]: t["value"] for t in r.json()["tags"]} == {"b": "2", "c": "3"}

    async def test_v2_patch_is_a_task(self, client, project_id):
        network_id = await create_network(client, project_id)
        r = await client.patch(f"/v2/networks/{project_id}/{REGION}/{network_id}", json={"name": "by-task"})
        task = await finished(client, r)
        assert task["task_type"] == "update_network"
        net = (await client.get(url(project_id, network_id))).json()
        assert net["name"] == "by-task" and net["task_id"] is None

    async def test_v2_patch_without_change_makes_no_task(self, client, project_id):
        network_id = await create_network(client, project_id, name="same")
        r = await client.patch(f"/v2/networks/{project_id}/{REGION}/{network_id}", json={"name": "same"})
        assert r.status_code == 200 and r.json() == {"tasks": []}

    async def test_tags_null_removes_all(self, client, project_id):
        network_id = await create_network(client, project_id, tags={"a": "1"})
        r = await client.patch(url(project_id, network_id), json={"tags": None})
        assert r.json()["tags"] == []

    async def test_bad_name_is_400_and_changes_nothing(self, client, project_id):
        network_id = await create_network(client, project_id, name="keep")
        r = await client.patch(url(project_id, network_id), json={"name": "!"})
        assert r.status_code == 400
        assert (await client.get(url(project_id, network_id))).json()["name"] == "keep"

    async def test_shared_network_cannot_be_changed(self, client, project_id):
        r = await client.patch(url(project_id, PUBLIC_NETWORK), json={"name": "mine-now"})
        assert r.status_code == 403
        assert (await client.get(url(project_id, PUBLIC_NETWORK))).json()["name"] == "public"

    async def test_foreign_is_404(self, client, project_id, runtime):
        network_id = await create_network(client, project_id)
        other = await other_project(runtime)
        assert (await client.patch(url(other, network_id), json={"name": "x-y-z"})).status_code == 404


class TestDeleteNetwork:
    async def test_delete_removes_network_and_subnets(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        task = await finished(client, await client.delete(url(project_id, network_id)))
        assert task["task_type"] == "delete_network"
        assert (await client.get(url(project_id, network_id))).status_code == 404
        assert (await client.get(f"/v1/subnets/{project_id}/{REGION}/{subnet_id}")).status_code == 404

    async def test_network_in_use_is_400_and_stays(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        await create_instance(client, project_id, interfaces=[
            {"type": "subnet", "network_id": network_id, "subnet_id": subnet_id}])
        r = await client.delete(url(project_id, network_id))
        assert r.status_code == 400, r.text
        assert "in use" in r.json()["message"]
        assert (await client.get(url(project_id, network_id))).status_code == 200

    async def test_unknown_foreign_and_shared(self, client, project_id, runtime):
        network_id = await create_network(client, project_id)
        other = await other_project(runtime)
        assert (await client.delete(url(other, network_id))).status_code == 404
        assert (await client.delete(url(project_id, "nope"))).status_code == 404
        assert (await client.delete(url(project_id, PUBLIC_NETWORK))).status_code == 403

    async def test_delete_task_is_listed(self, client, project_id):
        network_id = await create_network(client, project_id)
        task = await task_of(client, await client.delete(url(project_id, network_id)))
        assert task["state"] == "FINISHED"
        assert task["created_resources"]["networks"] == []

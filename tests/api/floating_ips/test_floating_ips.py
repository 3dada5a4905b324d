from __future__ import annotations

import ipaddress

from gcore.types.cloud import FloatingIP, FloatingIPDetailed, Instance

from cloudlet.models import floating_ips
from tests.api.networks.helpers import (
    REGION,
    count_rows,
    create_instance,
    create_network,
    create_subnet,
    finished,
    get_instance,
    other_project,
)

PUBLIC = ipaddress.ip_network("92.38.128.0/20")


def url(project_id: int, *rest: str) -> str:
    return "/".join([f"/v1/floatingips/{project_id}/{REGION}", *rest])


async def private_instance(client, project_id):
    network_id = await create_network(client, project_id, name="private")
    subnet_id = await create_subnet(client, project_id, network_id, cidr="10.5.0.0/24")
    instance_id = await create_instance(client, project_id, interfaces=[
        {"type": "subnet", "network_id": network_id, "subnet_id": subnet_id}])
    (iface,) = (await client.get(f"/v1/instances/{project_id}/{REGION}/{instance_id}/interfaces")).json()["results"]
    return instance_id, iface["port_id"], iface["ip_assignments"][0]["ip_address"]


async def create_fip(client, project_id, **body) -> str:
    return await finished(client, await client.post(url(project_id), json=body), "floatingips")


async def get_fip(client, project_id, fip_id):
    r = await client.get(url(project_id, fip_id))
    assert r.status_code == 200, r.text
    FloatingIPDetailed.model_validate(r.json())
    return r.json()


class TestCreateFloatingIp:
    async def test_create_free(self, client, project_id):
        r = await client.post(url(project_id), json={"tags": {"k": "v"}})
        task = await finished(client, r)
        assert task["task_type"] == "create_fip"
        (fip_id,) = task["created_resources"]["floatingips"]
        fip = await get_fip(client, project_id, fip_id)
        FloatingIP.model_validate(fip)
        assert ipaddress.ip_address(fip["floating_ip_address"]) in PUBLIC
        assert fip["status"] == "DOWN" and fip["port_id"] is None and fip["instance"] is None
        assert fip["router_id"] is None and fip["task_id"] is None and fip["creator_task_id"] == task["id"]
        assert fip["tags"] == [{"key": "k", "value": "v", "read_only": False}]

    async def test_create_attached_shows_on_instance(self, client, project_id):
        instance_id, port_id, fixed = await private_instance(client, project_id)
        fip_id = await create_fip(client, project_id, port_id=port_id)
        fip = await get_fip(client, project_id, fip_id)
        assert fip["status"] == "ACTIVE" and fip["port_id"] == port_id and fip["fixed_ip_address"] == fixed
        assert fip["router_id"] is not None and fip["instance"]["id"] == instance_id
        inst = await get_instance(client, project_id, instance_id)
        Instance.model_validate(inst)
        assert {"type": "floating", "addr": fip["floating_ip_address"]} in inst["addresses"]["private"]

    async def test_bad_targets_are_4xx_and_create_nothing(self, client, project_id, runtime):
        _, port_id, _ = await private_instance(client, project_id)
        ext_instance = await create_instance(client, project_id, name="ext-vm")
        (ext_iface,) = (await client.get(f"/v1/instances/{project_id}/{REGION}/{ext_instance}/interfaces")
                        ).json()["results"]
        cases = [
            ({"port_id": "missing"}, 404),
            ({"port_id": port_id, "fixed_ip_address": "10.9.9.9"}, 400),
            ({"port_id": ext_iface["port_id"]}, 400),  # an external port needs no NAT
            ({"fixed_ip_address": "10.5.0.9"}, 400),
        ]
        for body, status in cases:
            r = await client.post(url(project_id), json=body)
            assert r.status_code == status, (body, r.text)
        assert await count_rows(runtime, floating_ips, floating_ips.c.project_id == project_id) == 0

    async def test_one_fixed_address_takes_one_floating_ip(self, client, project_id):
        _, port_id, _ = await private_instance(client, project_id)
        await create_fip(client, project_id, port_id=port_id)
        r = await client.post(url(project_id), json={"port_id": port_id})
        assert r.status_code == 400


class TestListFloatingIps:
    async def test_list_with_filters(self, client, project_id):
        instance_id, port_id, _ = await private_instance(client, project_id)
        attached = await create_fip(client, project_id, port_id=port_id)
        free = await create_fip(client, project_id, tags={"spare": "yes"})
        body = (await client.get(url(project_id))).json()
        assert body["count"] == 2
        for item in body["results"]:
            FloatingIPDetailed.model_validate(item)
        by_port = (await client.get(url(project_id), params={"port_ids": port_id})).json()
        assert [f["id"] for f in by_port["results"]] == [attached]
        assert by_port["results"][0]["instance"]["id"] == instance_id
        down = (await client.get(url(project_id), params={"status": "DOWN"})).json()
        assert [f["id"] for f in down["results"]] == [free]
        tagged = (await client.get(url(project_id), params={"tag_key": "spare"})).json()
        assert [f["id"] for f in tagged["results"]] == [free]
        page = (await client.get(url(project_id), params={"limit": 1, "offset": 1})).json()
        assert page["count"] == 2 and len(page["results"]) == 1


class TestGetFloatingIp:
    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        fip_id = await create_fip(client, project_id)
        other = await other_project(runtime)
        assert (await client.get(url(other, fip_id))).status_code == 404
        assert (await client.get(url(project_id, "missing"))).status_code == 404


class TestAssignUnassign:
    async def test_assign_and_unassign_follow_the_instance(self, client, project_id):
        instance_id, port_id, fixed = await private_instance(client, project_id)
        fip_id = await create_fip(client, project_id)
        r = await client.post(url(project_id, fip_id, "assign"), json={"port_id": port_id})
        assert r.status_code == 200, r.text
        fip = FloatingIP.model_validate(r.json())
        assert fip.status == "ACTIVE" and fip.port_id == port_id and fip.fixed_ip_address == fixed
        addresses = (await get_instance(client, project_id, instance_id))["addresses"]["private"]
        assert {"type": "floating", "addr": fip.floating_ip_address} in addresses
        (iface,) = (await client.get(f"/v1/instances/{project_id}/{REGION}/{instance_id}/interfaces")
                    ).json()["results"]
        assert [f["id"] for f in iface["floatingip_details"]] == [fip_id]

        r = await client.post(url(project_id, fip_id, "unassign"))
        assert r.status_code == 200
        fip = FloatingIP.model_validate(r.json())
        assert fip.status == "DOWN" and fip.port_id is None and fip.fixed_ip_address is None
        addresses = (await get_instance(client, project_id, instance_id))["addresses"]["private"]
        assert [a["type"] for a in addresses] == ["fixed"]

    async def test_bad_assign_is_4xx_and_changes_nothing(self, client, project_id, runtime):
        _, port_id, _ = await private_instance(client, project_id)
        fip_id = await create_fip(client, project_id)
        assert (await client.post(url(project_id, fip_id, "assign"), json={})).status_code == 400
        r = await client.post(url(project_id, fip_id, "assign"), json={"port_id": port_id,
                                                                       "fixed_ip_address": "1.2.3.4"})
        assert r.status_code == 400
        assert (await client.post(url(project_id, fip_id, "assign"), json={"port_id": "nope"})).status_code == 404
        assert (await get_fip(client, project_id, fip_id))["port_id"] is None
        other = await other_project(runtime)
        assert (await client.post(url(other, fip_id, "assign"), json={"port_id": port_id})).status_code == 404
        assert (await client.post(url(other, fip_id, "unassign"))).status_code == 404


class TestDeleteFloatingIp:
    async def test_delete_frees_the_address(self, client, project_id):
        instance_id, port_id, _ = await private_instance(client, project_id)
        fip_id = await create_fip(client, project_id, port_id=port_id)
        task = await finished(client, await client.delete(url(project_id, fip_id)))
        assert task["task_type"] == "delete_fip"
        assert (await client.get(url(project_id, fip_id))).status_code == 404
        addresses = (await get_instance(client, project_id, instance_id))["addresses"]["private"]
        assert [a["type"] for a in addresses] == ["fixed"]

    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        fip_id = await create_fip(client, project_id)
        other = await other_project(runtime)
        assert (await client.delete(url(other, fip_id))).status_code == 404
        assert (await client.delete(url(project_id, "missing"))).status_code == 404

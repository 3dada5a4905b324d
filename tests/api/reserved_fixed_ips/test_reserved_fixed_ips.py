from __future__ import annotations

import ipaddress

import pytest
from gcore.types.cloud import ReservedFixedIP

from cloudlet.models import ports
from tests.api.networks.helpers import (
    PUBLIC_NETWORK,
    REGION,
    count_rows,
    create_instance,
    create_network,
    create_subnet,
    finished,
    get_instance,
    other_project,
)


def url(project_id: int, *rest: str) -> str:
    return "/".join([f"/v1/reserved_fixed_ips/{project_id}/{REGION}", *rest])


async def reserve(client, project_id, **body) -> str:
    return await finished(client, await client.post(url(project_id), json=body), "ports")


async def get_rfip(client, project_id, port_id):
    r = await client.get(url(project_id, port_id))
    assert r.status_code == 200, r.text
    ReservedFixedIP.model_validate(r.json())
    return r.json()


class TestCreateReservedFixedIp:
    async def test_subnet(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id, cidr="10.7.0.0/24")
        r = await client.post(url(project_id), json={"type": "subnet", "subnet_id": subnet_id})
        task = await finished(client, r)
        assert task["task_type"] == "create_reserved_fixed_ip"
        (port_id,) = task["created_resources"]["ports"]
        rfip = await get_rfip(client, project_id, port_id)
        assert ipaddress.ip_address(rfip["fixed_ip_address"]) in ipaddress.ip_network("10.7.0.0/24")
        assert rfip["subnet_id"] == subnet_id and rfip["network_id"] == network_id
        assert rfip["network"]["id"] == network_id and rfip["is_external"] is False and rfip["is_vip"] is False
        assert rfip["reservation"] == {"resource_id": None, "resource_type": None, "status": "available"}
        assert rfip["attachments"] == [] and rfip["status"] == "DOWN"

    async def test_external_any_subnet_and_ip_address(self, client, project_id):
        ext = await get_rfip(client, project_id, await reserve(client, project_id, type="external"))
        assert ext["is_external"] is True and ext["network_id"] == PUBLIC_NETWORK
        dual = await get_rfip(client, project_id, await reserve(client, project_id, type="external",
                                                                ip_family="dual"))
        assert dual["fixed_ip_address"] and dual["fixed_ipv6_address"]
        network_id = await create_network(client, project_id)
        await create_subnet(client, project_id, network_id, cidr="10.8.0.0/24")
        anyone = await get_rfip(client, project_id, await reserve(client, project_id, type="any_subnet",
                                                                  network_id=network_id))
        assert anyone["fixed_ip_address"].startswith("10.8.0.")
        exact = await get_rfip(client, project_id, await reserve(client, project_id, type="ip_address",
                                                                 network_id=network_id, ip_address="10.8.0.77"))
        assert exact["fixed_ip_address"] == "10.8.0.77"

    @pytest.mark.parametrize("body, status", [
        ({"type": "subnet"}, 400),
        ({"type": "subnet", "subnet_id": "missing"}, 404),
        ({"type": "any_subnet"}, 400),
        ({"type": "any_subnet", "network_id": "missing"}, 404),
        ({"type": "port", "port_id": "x"}, 400),
        ({"type": "external", "is_vip": True}, 400),
        ({"type": "wormhole"}, 400),
        ({"type": "ip_address", "network_id": PUBLIC_NETWORK, "ip_address": "10.0.0.1"}, 400),
    ])
    async def test_bad_input_is_4xx_and_creates_nothing(self, client, project_id, runtime, body, status):
        r = await client.post(url(project_id), json=body)
        assert r.status_code == status, r.text
        assert await count_rows(runtime, ports, ports.c.project_id == project_id) == 0

    async def test_taken_address_is_400(self, client, project_id):
        network_id = await create_network(client, project_id)
        await create_subnet(client, project_id, network_id, cidr="10.8.0.0/24")
        await reserve(client, project_id, type="ip_address", network_id=network_id, ip_address="10.8.0.5")
        r = await client.post(url(project_id), json={"type": "ip_address", "network_id": network_id,
                                                     "ip_address": "10.8.0.5"})
        assert r.status_code == 400


class TestListReservedFixedIps:
    async def test_list_with_filters(self, client, project_id):
        ext = await reserve(client, project_id, type="external")
        network_id = await create_network(client, project_id)
        await create_subnet(client, project_id, network_id, cidr="10.8.0.0/24")
        internal = await reserve(client, project_id, type="ip_address", network_id=network_id,
                                 ip_address="10.8.0.9")
        body = (await client.get(url(project_id))).json()
        assert body["count"] == 2
        for item in body["results"]:
            ReservedFixedIP.model_validate(item)
        assert [i["port_id"] for i in (await client.get(url(project_id), params={"external_only": "true"})
                                       ).json()["results"]] == [ext]
        assert [i["port_id"] for i in (await client.get(url(project_id), params={"internal_only": "true"})
                                       ).json()["results"]] == [internal]
        assert [i["port_id"] for i in (await client.get(url(project_id), params={"ip_address": "10.8.0.9"})
                                       ).json()["results"]] == [internal]
        assert (await client.get(url(project_id), params={"vip_only": "true"})).json()["count"] == 0
        page = (await client.get(url(project_id), params={"limit": 1, "order_by": "fixed_ip_address.asc"})).json()
        assert page["count"] == 2 and [i["port_id"] for i in page["results"]] == [internal]

    async def test_attached_one_is_not_available(self, client, project_id):
        port_id = await reserve(client, project_id, type="external")
        instance_id = await create_instance(client, project_id, interfaces=[
            {"type": "reserved_fixed_ip", "port_id": port_id}])
        rfip = await get_rfip(client, project_id, port_id)
        assert rfip["reservation"] == {"resource_id": instance_id, "resource_type": "instance",
                                       "status": "attached"}
        assert rfip["attachments"] == [{"resource_id": instance_id, "resource_type": "instance"}]
        assert (await client.get(url(project_id), params={"available_only": "true"})).json()["count"] == 0
        by_device = (await client.get(url(project_id), params={"device_id": instance_id})).json()
        assert [i["port_id"] for i in by_device["results"]] == [port_id]
        inst = await get_instance(client, project_id, instance_id)
        assert inst["addresses"]["public"][0]["addr"] == rfip["fixed_ip_address"]


class TestGetReservedFixedIp:
    async def test_unknown_foreign_and_plain_ports_are_404(self, client, project_id, runtime):
        port_id = await reserve(client, project_id, type="external")
        other = await other_project(runtime)
        assert (await client.get(url(other, port_id))).status_code == 404
        assert (await client.get(url(project_id, "missing"))).status_code == 404
        instance_id = await create_instance(client, project_id)
        (iface,) = (await client.get(f"/v1/instances/{project_id}/{REGION}/{instance_id}/interfaces")
                    ).json()["results"]
        assert (await client.get(url(project_id, iface["port_id"]))).status_code == 404


class TestDeleteReservedFixedIp:
    async def test_delete_releases_the_address(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        port_id = await reserve(client, project_id, type="subnet", subnet_id=subnet_id)
        task = await finished(client, await client.delete(url(project_id, port_id)))
        assert task["task_type"] == "delete_reserved_fixed_ip"
        assert (await client.get(url(project_id, port_id))).status_code == 404
        subnet = (await client.get(f"/v1/subnets/{project_id}/{REGION}/{subnet_id}")).json()
        assert subnet["available_ips"] == subnet["total_ips"]

    async def test_attached_is_400_and_survives_its_instance(self, client, project_id):
        port_id = await reserve(client, project_id, type="external")
        instance_id = await create_instance(client, project_id, interfaces=[
            {"type": "reserved_fixed_ip", "port_id": port_id}])
        assert (await client.delete(url(project_id, port_id))).status_code == 400
        await finished(client, await client.delete(f"/v1/instances/{project_id}/{REGION}/{instance_id}"))
        rfip = await get_rfip(client, project_id, port_id)
        assert rfip["attachments"] == [] and rfip["reservation"]["status"] == "available"
        await finished(client, await client.delete(url(project_id, port_id)))

    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        port_id = await reserve(client, project_id, type="external")
        other = await other_project(runtime)
        assert (await client.delete(url(other, port_id))).status_code == 404
        assert (await client.delete(url(project_id, "missing"))).status_code == 404

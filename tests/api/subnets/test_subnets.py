from __future__ import annotations

import ipaddress

import pytest
from gcore.types.cloud import Subnet

from cloudlet.models import ip_allocations, ports, subnets
from tests.api.networks.helpers import (
    PUBLIC_NETWORK,
    PUBLIC_V4,
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
    return "/".join([f"/v1/subnets/{project_id}/{REGION}", *rest])


async def get_subnet(client, project_id, subnet_id):
    r = await client.get(url(project_id, subnet_id))
    assert r.status_code == 200, r.text
    Subnet.model_validate(r.json())
    return r.json()


class TestCreateSubnet:
    async def test_create_with_defaults(self, client, project_id):
        network_id = await create_network(client, project_id)
        r = await client.post(url(project_id), json={"network_id": network_id, "cidr": "10.1.0.0/24",
                                                     "name": "sub-a", "dns_nameservers": ["8.8.8.8"],
                                                     "host_routes": [{"destination": "10.9.0.0/16",
                                                                      "nexthop": "10.1.0.5"}]})
        task = await finished(client, r)
        assert task["task_type"] == "create_subnet"
        (subnet_id,) = task["created_resources"]["subnets"]
        s = await get_subnet(client, project_id, subnet_id)
        assert s["cidr"] == "10.1.0.0/24" and s["ip_version"] == 4 and s["gateway_ip"] == "10.1.0.1"
        assert s["enable_dhcp"] is True and s["has_router"] is False and s["network_id"] == network_id
        assert s["total_ips"] == 253 and s["available_ips"] == 253
        assert s["dns_nameservers"] == ["8.8.8.8"]
        assert s["host_routes"] == [{"destination": "10.9.0.0/16", "nexthop": "10.1.0.5"}]
        assert s["creator_task_id"] == task["id"] and s["task_id"] is None

    async def test_ipv6_subnet(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id, cidr="fd00:1::/64", ip_version=6)
        s = await get_subnet(client, project_id, subnet_id)
        assert s["ip_version"] == 6 and s["gateway_ip"] == "fd00:1::1"

    async def test_explicit_gateway_and_no_gateway(self, client, project_id):
        network_id = await create_network(client, project_id)
        a = await create_subnet(client, project_id, network_id, cidr="10.2.0.0/24", gateway_ip="10.2.0.254")
        b = await create_subnet(client, project_id, network_id, cidr="10.3.0.0/24", gateway_ip=None,
                                connect_to_network_router=False)
        assert (await get_subnet(client, project_id, a))["gateway_ip"] == "10.2.0.254"
        nogw = await get_subnet(client, project_id, b)
        assert nogw["gateway_ip"] is None and nogw["total_ips"] == 254

    @pytest.mark.parametrize("extra", [
        {"cidr": "10.0.0.1/24"},  # host bits set
        {"cidr": "banana"},
        {"cidr": "10.0.0.0/24", "ip_version": 6},
        {"cidr": "10.0.0.0/31"},
        {"cidr": "10.0.0.0/24", "gateway_ip": "10.0.1.1"},
        {"cidr": "10.0.0.0/24", "gateway_ip": None},  # needs connect_to_network_router false
        {"cidr": "10.0.0.0/24", "dns_nameservers": ["dns.example"]},
        {"cidr": "10.0.0.0/24", "host_routes": [{"destination": "x", "nexthop": "10.0.0.2"}]},
        {"cidr": "10.0.0.0/24", "ip_version": 5},
        {"cidr": "10.0.0.0/24", "name": "!"},
    ])
    async def test_bad_input_is_400_and_creates_nothing(self, client, project_id, runtime, extra):
        network_id = await create_network(client, project_id)
        body = {"network_id": network_id, "name": "sub-x", **extra}
        r = await client.post(url(project_id), json=body)
        assert r.status_code == 400, r.text
        assert await count_rows(runtime, subnets, subnets.c.network_id == network_id) == 0

    async def test_overlapping_cidr_in_same_network_is_400(self, client, project_id, runtime):
        network_id = await create_network(client, project_id)
        await create_subnet(client, project_id, network_id, cidr="10.0.0.0/16")
        r = await client.post(url(project_id), json={"network_id": network_id, "name": "sub-b",
                                                     "cidr": "10.0.5.0/24"})
        assert r.status_code == 400
        assert "overlaps" in r.json()["message"]
        assert await count_rows(runtime, subnets, subnets.c.network_id == network_id) == 1
        # the same range in another network is fine
        other_net = await create_network(client, project_id, name="net-2")
        await create_subnet(client, project_id, other_net, cidr="10.0.5.0/24")

    async def test_unknown_network_is_404_and_shared_network_is_403(self, client, project_id):
        r = await client.post(url(project_id), json={"network_id": "nope", "name": "sub-x", "cidr": "10.0.0.0/24"})
        assert r.status_code == 404
        r = await client.post(url(project_id), json={"network_id": PUBLIC_NETWORK, "name": "sub-x",
                                                     "cidr": "10.0.0.0/24"})
        assert r.status_code == 403

    async def test_router_to_connect_is_unknown(self, client, project_id):
        network_id = await create_network(client, project_id)
        r = await client.post(url(project_id), json={"network_id": network_id, "name": "sub-x",
                                                     "cidr": "10.0.0.0/24",
                                                     "router_id_to_connect": "00000000-0000-0000-0000-000000000001"})
        assert r.status_code == 404


class TestListSubnets:
    async def test_filters_by_network_and_pages(self, client, project_id):
        net_a = await create_network(client, project_id, name="net-a")
        net_b = await create_network(client, project_id, name="net-b")
        for n in range(3):
            await create_subnet(client, project_id, net_a, cidr=f"10.{n}.0.0/24", name=f"a-{n}")
        await create_subnet(client, project_id, net_b, cidr="10.9.0.0/24", name="b-0")
        body = (await client.get(url(project_id), params={"network_id": net_a, "limit": 2,
                                                          "order_by": "name.asc"})).json()
        assert body["count"] == 3 and [s["name"] for s in body["results"]] == ["a-0", "a-1"]
        for item in body["results"]:
            Subnet.model_validate(item)
        every = (await client.get(url(project_id))).json()
        assert every["count"] == 4

    async def test_order_by_available_ips(self, client, project_id):
        network_id = await create_network(client, project_id)
        await create_subnet(client, project_id, network_id, cidr="10.0.0.0/24", name="big")
        await create_subnet(client, project_id, network_id, cidr="10.1.0.0/28", name="small")
        body = (await client.get(url(project_id), params={"order_by": "available_ips.asc"})).json()
        assert [s["name"] for s in body["results"]] == ["small", "big"]

    async def test_owned_by_any_shows_public_subnets(self, client, project_id):
        body = (await client.get(url(project_id), params={"owned_by": "any"})).json()
        assert PUBLIC_V4 in [s["id"] for s in body["results"]]
        assert (await client.get(url(project_id))).json()["count"] == 0


class TestGetSubnet:
    async def test_instance_gets_an_ip_inside_the_cidr_and_counts_drop(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id, cidr="192.168.7.0/24")
        instance_id = await create_instance(client, project_id, interfaces=[
            {"type": "subnet", "network_id": network_id, "subnet_id": subnet_id}])
        inst = await get_instance(client, project_id, instance_id)
        (addr,) = inst["addresses"]["net-1"]
        ip = ipaddress.ip_address(addr["addr"])
        assert ip in ipaddress.ip_network("192.168.7.0/24") and str(ip) != "192.168.7.1"
        s = await get_subnet(client, project_id, subnet_id)
        assert s["available_ips"] == s["total_ips"] - 1

    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        other = await other_project(runtime)
        assert (await client.get(url(other, subnet_id))).status_code == 404
        assert (await client.get(url(project_id, "missing"))).status_code == 404


class TestUpdateSubnet:
    async def test_patch_changes_fields(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id, tags={"a": "1"})
        r = await client.patch(url(project_id, subnet_id), json={
            "name": "renamed", "enable_dhcp": False, "dns_nameservers": ["1.1.1.1"], "gateway_ip": "10.0.0.254",
            "host_routes": [], "tags": {"a": None, "b": "2"}})
        assert r.status_code == 200, r.text
        s = Subnet.model_validate(r.json())
        assert s.name == "renamed" and s.enable_dhcp is False and s.dns_nameservers == ["1.1.1.1"]
        assert s.gateway_ip == "10.0.0.254" and [t.key for t in s.tags] == ["b"]

    async def test_bad_gateway_is_400_and_changes_nothing(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        r = await client.patch(url(project_id, subnet_id), json={"gateway_ip": "11.0.0.1", "name": "new-name"})
        assert r.status_code == 400
        s = await get_subnet(client, project_id, subnet_id)
        assert s["gateway_ip"] == "10.0.0.1" and s["name"] == "subnet-1"

    async def test_gateway_cannot_take_an_address_in_use(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        instance_id = await create_instance(client, project_id, interfaces=[
            {"type": "subnet", "network_id": network_id, "subnet_id": subnet_id}])
        used = (await get_instance(client, project_id, instance_id))["addresses"]["net-1"][0]["addr"]
        r = await client.patch(url(project_id, subnet_id), json={"gateway_ip": used})
        assert r.status_code == 400

    async def test_unknown_foreign_and_shared(self, client, project_id, runtime):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        other = await other_project(runtime)
        assert (await client.patch(url(other, subnet_id), json={"name": "abc"})).status_code == 404
        assert (await client.patch(url(project_id, PUBLIC_V4), json={"name": "abc"})).status_code == 403


class TestDeleteSubnet:
    async def test_delete(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        task = await finished(client, await client.delete(url(project_id, subnet_id)))
        assert task["task_type"] == "delete_subnet"
        assert (await client.get(url(project_id, subnet_id))).status_code == 404
        net = (await client.get(f"/v1/networks/{project_id}/{REGION}/{network_id}")).json()
        assert net["subnets"] == []

    async def test_subnet_with_addresses_in_use_is_400(self, client, project_id):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        await create_instance(client, project_id, interfaces=[
            {"type": "subnet", "network_id": network_id, "subnet_id": subnet_id}])
        r = await client.delete(url(project_id, subnet_id))
        assert r.status_code == 400
        assert (await client.get(url(project_id, subnet_id))).status_code == 200

    async def test_unknown_foreign_and_shared(self, client, project_id, runtime):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id)
        other = await other_project(runtime)
        assert (await client.delete(url(other, subnet_id))).status_code == 404
        assert (await client.delete(url(project_id, "missing"))).status_code == 404
        assert (await client.delete(url(project_id, PUBLIC_V4))).status_code == 403


class TestFullSubnet:
    async def test_a_full_29_refuses_more_and_leaves_nothing_behind(self, client, project_id, runtime):
        network_id = await create_network(client, project_id)
        subnet_id = await create_subnet(client, project_id, network_id, cidr="10.20.30.0/29")
        s = await get_subnet(client, project_id, subnet_id)
        assert s["total_ips"] == 5  # 8 addresses less network, broadcast and gateway
        seen = set()
        for _ in range(5):
            r = await client.post(f"/v1/reserved_fixed_ips/{project_id}/{REGION}",
                                  json={"type": "subnet", "subnet_id": subnet_id})
            port_id = await finished(client, r, "ports")
            rfip = (await client.get(f"/v1/reserved_fixed_ips/{project_id}/{REGION}/{port_id}")).json()
            seen.add(rfip["fixed_ip_address"])
        assert seen == {f"10.20.30.{n}" for n in range(2, 7)}
        assert (await get_subnet(client, project_id, subnet_id))["available_ips"] == 0
        port_count = await count_rows(runtime, ports, ports.c.project_id == project_id)

        r = await client.post(f"/v2/instances/{project_id}/{REGION}", json={
            "flavor": "g1-standard-1-2", "name": "no-room",
            "interfaces": [{"type": "subnet", "network_id": network_id, "subnet_id": subnet_id}],
            "volumes": [{"source": "image", "image_id": "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001", "size": 10}]})
        assert r.status_code == 400, r.text
        assert "no free IP" in r.json()["message"]
        r = await client.post(f"/v1/reserved_fixed_ips/{project_id}/{REGION}",
                              json={"type": "any_subnet", "network_id": network_id})
        assert r.status_code == 400
        assert (await client.get(f"/v1/instances/{project_id}/{REGION}")).json()["count"] == 0
        assert await count_rows(runtime, ports, ports.c.project_id == project_id) == port_count
        assert await count_rows(runtime, ip_allocations, ip_allocations.c.subnet_id == subnet_id) == 5
        from cloudlet.models import volumes
        assert await count_rows(runtime, volumes, volumes.c.project_id == project_id) == 0

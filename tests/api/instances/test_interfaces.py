"""Instance network endpoints: interfaces, ports, security groups, attach and detach."""

from __future__ import annotations

import ipaddress

import pytest
import sqlalchemy as sa
from gcore.types.cloud import Instance, InstanceInterface, NetworkInterface
from pydantic import TypeAdapter

from cloudlet.models import instances, ports
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
    own_project,
    task_of,
)


@pytest.fixture
async def project_id(runtime, client):
    """A project of its own client, its instances deleted afterwards (helpers.own_project)."""
    async with own_project(runtime, client) as pid:
        yield pid

INTERFACE = TypeAdapter(NetworkInterface)


def inst(project_id: int, *rest: str) -> str:
    return "/".join([f"/v1/instances/{project_id}/{REGION}", *rest])


async def interfaces(client, project_id, instance_id, **params):
    r = await client.get(inst(project_id, instance_id, "interfaces"), params=params)
    assert r.status_code == 200, r.text
    for item in r.json()["results"]:
        InstanceInterface.model_validate(item)
        INTERFACE.validate_python(item)
    return r.json()


async def private_net(client, project_id, cidr="10.30.0.0/24", name="private"):
    network_id = await create_network(client, project_id, name=name)
    subnet_id = await create_subnet(client, project_id, network_id, cidr=cidr)
    return network_id, subnet_id


async def create_sg(client, project_id, name):
    r = await client.post(f"/v2/security_groups/{project_id}/{REGION}", json={"name": name})
    return await finished(client, r, "security_groups")


async def set_instance(runtime, instance_id, **values):
    async with runtime.db.transaction() as conn:
        await conn.execute(instances.update().where(instances.c.id == instance_id).values(**values))


class TestListInterfaces:
    async def test_interfaces_in_order_with_network_details(self, client, project_id):
        network_id, subnet_id = await private_net(client, project_id)
        instance_id = await create_instance(client, project_id, interfaces=[
            {"type": "external", "interface_name": "eth-pub"},
            {"type": "subnet", "network_id": network_id, "subnet_id": subnet_id}])
        body = await interfaces(client, project_id, instance_id)
        assert body["count"] == 2
        ext, priv = body["results"]
        assert ext["network_id"] == PUBLIC_NETWORK and ext["interface_name"] == "eth-pub"
        assert ext["network_details"]["external"] is True
        assert {s["name"] for s in ext["network_details"]["subnets"]} == {"public-v4", "public-v6"}
        assert priv["network_id"] == network_id and priv["interface_name"] is None
        assert priv["network_details"]["subnets"][0]["id"] == subnet_id
        assert priv["network_details"]["subnets"][0]["cidr"] == "10.30.0.0/24"
        (assignment,) = priv["ip_assignments"]
        assert assignment["subnet_id"] == subnet_id
        assert ipaddress.ip_address(assignment["ip_address"]) in ipaddress.ip_network("10.30.0.0/24")
        assert priv["port_security_enabled"] is True and priv["allowed_address_pairs"] == []
        assert priv["floatingip_details"] == [] and priv["mac_address"].startswith("fa:")

    async def test_limit_and_offset(self, client, project_id):
        instance_id = await create_instance(client, project_id, interfaces=[{"type": "external"}] * 3)
        body = await interfaces(client, project_id, instance_id, limit=1, offset=1)
        assert body["count"] == 3 and len(body["results"]) == 1

    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        instance_id = await create_instance(client, project_id)
        other = await other_project(runtime)
        assert (await client.get(inst(other, instance_id, "interfaces"))).status_code == 404
        assert (await client.get(inst(project_id, "missing", "interfaces"))).status_code == 404


class TestCreateWithNetworkInterfaces:
    """A create plans its ports' addresses as attach_interface does (networks/service.plan_addresses)."""

    async def test_subnet_any_subnet_and_an_exact_address(self, client, project_id):
        network_id, subnet_id = await private_net(client, project_id)
        instance_id = await create_instance(client, project_id, interfaces=[
            {"type": "subnet", "network_id": network_id, "subnet_id": subnet_id},
            {"type": "any_subnet", "network_id": network_id, "ip_address": "10.30.0.77"},
            {"type": "any_subnet", "network_id": network_id}])
        body = await interfaces(client, project_id, instance_id)
        addresses = [a["ip_address"] for i in body["results"] for a in i["ip_assignments"]]
        assert len(set(addresses)) == 3 and addresses[1] == "10.30.0.77"
        assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.30.0.0/24") for a in addresses)

    @pytest.mark.parametrize("interface, status", [
        ({"type": "subnet", "subnet_id": "SUBNET"}, 400),  # network_id is required
        ({"type": "subnet", "network_id": "NETWORK", "subnet_id": "OTHER_SUBNET"}, 404),
        ({"type": "subnet", "network_id": "NETWORK"}, 400),  # subnet_id is required
        ({"type": "any_subnet"}, 400),
        ({"type": "any_subnet", "network_id": "missing"}, 404),
        ({"type": "any_subnet", "network_id": "NETWORK", "ip_address": "10.99.0.5"}, 400),  # in no subnet
        ({"type": "any_subnet", "network_id": "NETWORK", "ip_address": "10.30.0.0"}, 400),  # the network address
        ({"type": "any_subnet", "network_id": "NETWORK", "ip_address": "not-an-ip"}, 400),
        ({"type": "any_subnet", "network_id": "NETWORK", "ip_family": "ipv6"}, 400),  # no IPv6 subnet
        ({"type": "reserved_fixed_ip"}, 400),
    ])
    async def test_bad_interfaces_are_4xx_and_create_nothing(self, client, project_id, runtime, interface, status):
        network_id, subnet_id = await private_net(client, project_id)
        _, other_subnet = await private_net(client, project_id, cidr="10.40.0.0/24", name="other")
        names = {"NETWORK": network_id, "SUBNET": subnet_id, "OTHER_SUBNET": other_subnet}
        interface = {k: names.get(v, v) for k, v in interface.items()}
        r = await client.post(f"/v2/instances/{project_id}/{REGION}", json={
            "flavor": "g1-standard-1-2", "name": "vm-1", "interfaces": [interface],
            "volumes": [{"source": "image", "image_id": "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001", "size": 10}]})
        assert r.status_code == status, r.text
        assert r.json()["exception_class"] and r.json()["request_id"]
        assert await count_rows(runtime, instances, instances.c.project_id == project_id) == 0
        assert await count_rows(runtime, ports, ports.c.project_id == project_id) == 0


class TestListPortsAndSecurityGroups:
    async def test_ports_and_groups(self, client, project_id):
        web = await create_sg(client, project_id, "web")
        instance_id = await create_instance(client, project_id, interfaces=[
            {"type": "external", "security_groups": [{"id": web}]}, {"type": "external"}])
        r = await client.get(inst(project_id, instance_id, "ports"))
        assert r.status_code == 200
        body = r.json()
        assert body["count"] == 2
        assert [[g["name"] for g in p["security_groups"]] for p in body["results"]] == [["web"], ["default"]]
        port_ids = [i["port_id"] for i in (await interfaces(client, project_id, instance_id))["results"]]
        assert [p["id"] for p in body["results"]] == port_ids
        groups = (await client.get(inst(project_id, instance_id, "securitygroups"))).json()
        assert groups["count"] == 2 and [g["name"] for g in groups["results"]] == ["default", "web"]
        assert all(g["id"] for g in groups["results"])

    async def test_unknown_is_404(self, client, project_id):
        assert (await client.get(inst(project_id, "missing", "ports"))).status_code == 404
        assert (await client.get(inst(project_id, "missing", "securitygroups"))).status_code == 404


class TestAddDelSecurityGroup:
    async def test_add_and_remove_by_name(self, client, project_id):
        await create_sg(client, project_id, "web")
        instance_id = await create_instance(client, project_id, interfaces=[{"type": "external"}] * 2)
        r = await client.post(inst(project_id, instance_id, "addsecuritygroup"), json={"name": "web"})
        assert r.status_code == 204 and r.content == b""
        body = await get_instance(client, project_id, instance_id)
        Instance.model_validate(body)
        assert body["security_groups"] == [{"name": "default"}, {"name": "web"}]
        ports_body = (await client.get(inst(project_id, instance_id, "ports"))).json()
        assert all("web" in [g["name"] for g in p["security_groups"]] for p in ports_body["results"])
        r = await client.post(inst(project_id, instance_id, "delsecuritygroup"), json={"name": "default"})
        assert r.status_code == 204
        assert (await get_instance(client, project_id, instance_id))["security_groups"] == [{"name": "web"}]

    async def test_per_port_names(self, client, project_id):
        await create_sg(client, project_id, "web")
        await create_sg(client, project_id, "ssh-only")
        instance_id = await create_instance(client, project_id, interfaces=[{"type": "external"}] * 2)
        first, second = [i["port_id"] for i in (await interfaces(client, project_id, instance_id))["results"]]
        r = await client.post(inst(project_id, instance_id, "addsecuritygroup"), json={
            "ports_security_group_names": [
                {"port_id": first, "security_group_names": ["web", "ssh-only"]},
                {"port_id": None, "security_group_names": ["web"]}]})
        assert r.status_code == 204, r.text
        by_port = {p["id"]: sorted(g["name"] for g in p["security_groups"])
                   for p in (await client.get(inst(project_id, instance_id, "ports"))).json()["results"]}
        assert by_port == {first: ["default", "ssh-only", "web"], second: ["default", "web"]}
        r = await client.post(inst(project_id, instance_id, "delsecuritygroup"), json={
            "ports_security_group_names": [{"port_id": second, "security_group_names": ["web", "default"]}]})
        assert r.status_code == 204
        by_port = {p["id"]: sorted(g["name"] for g in p["security_groups"])
                   for p in (await client.get(inst(project_id, instance_id, "ports"))).json()["results"]}
        assert by_port[second] == []

    async def test_unknown_group_is_404_and_changes_nothing(self, client, project_id):
        await create_sg(client, project_id, "web")
        instance_id = await create_instance(client, project_id)
        r = await client.post(inst(project_id, instance_id, "addsecuritygroup"), json={
            "ports_security_group_names": [{"port_id": None, "security_group_names": ["web", "nope-group"]}]})
        assert r.status_code == 404
        assert (await get_instance(client, project_id, instance_id))["security_groups"] == [{"name": "default"}]

    async def test_bad_bodies(self, client, project_id, runtime):
        instance_id = await create_instance(client, project_id)
        assert (await client.post(inst(project_id, instance_id, "addsecuritygroup"), json={})).status_code == 400
        r = await client.post(inst(project_id, instance_id, "addsecuritygroup"), json={"name": "!bad"})
        assert r.status_code == 400
        r = await client.post(inst(project_id, instance_id, "addsecuritygroup"), json={
            "ports_security_group_names": [{"port_id": "not-mine", "security_group_names": ["default"]}]})
        assert r.status_code == 404
        other = await other_project(runtime)
        r = await client.post(inst(other, instance_id, "addsecuritygroup"), json={"name": "default"})
        assert r.status_code == 404

    async def test_locked_instance_is_409(self, client, project_id, runtime):
        await create_sg(client, project_id, "web")
        instance_id = await create_instance(client, project_id)
        await set_instance(runtime, instance_id, task_id="00000000-0000-0000-0000-0000000000aa")
        try:
            r = await client.post(inst(project_id, instance_id, "addsecuritygroup"), json={"name": "web"})
            assert r.status_code == 409
        finally:
            await set_instance(runtime, instance_id, task_id=None)
        assert (await get_instance(client, project_id, instance_id))["security_groups"] == [{"name": "default"}]


class TestAttachInterface:
    async def test_missing_type_means_external(self, client, project_id):
        instance_id = await create_instance(client, project_id)
        r = await client.post(inst(project_id, instance_id, "attach_interface"), json={"interface_name": "eth1"})
        task = await finished(client, r)
        assert task["task_type"] == "attach_vm_interface"
        (port_id,) = task["created_resources"]["ports"]
        body = await interfaces(client, project_id, instance_id)
        assert [i["port_id"] for i in body["results"]][-1] == port_id
        assert body["results"][-1]["network_id"] == PUBLIC_NETWORK
        assert body["results"][-1]["interface_name"] == "eth1"
        inst_body = await get_instance(client, project_id, instance_id)
        assert len(inst_body["addresses"]["public"]) == 2 and inst_body["task_id"] is None

    async def test_subnet_any_subnet_and_reserved(self, client, project_id):
        network_id, subnet_id = await private_net(client, project_id)
        instance_id = await create_instance(client, project_id)
        await finished(client, await client.post(inst(project_id, instance_id, "attach_interface"),
                                                 json={"type": "subnet", "subnet_id": subnet_id}))
        await finished(client, await client.post(inst(project_id, instance_id, "attach_interface"),
                                                 json={"type": "any_subnet", "network_id": network_id}))
        r = await client.post(f"/v1/reserved_fixed_ips/{project_id}/{REGION}", json={"type": "external"})
        reserved = await finished(client, r, "ports")
        task = await finished(client, await client.post(inst(project_id, instance_id, "attach_interface"),
                                                        json={"type": "reserved_fixed_ip", "port_id": reserved}))
        assert task["created_resources"]["ports"] == [reserved]
        body = await interfaces(client, project_id, instance_id)
        assert [i["network_id"] for i in body["results"]] == [PUBLIC_NETWORK, network_id, network_id,
                                                              PUBLIC_NETWORK]
        addresses = (await get_instance(client, project_id, instance_id))["addresses"]
        assert len(addresses["private"]) == 2 and len(addresses["public"]) == 2
        for a in addresses["private"]:
            assert ipaddress.ip_address(a["addr"]) in ipaddress.ip_network("10.30.0.0/24")
        rfip = (await client.get(f"/v1/reserved_fixed_ips/{project_id}/{REGION}/{reserved}")).json()
        assert rfip["reservation"]["resource_id"] == instance_id

    async def test_security_groups_of_new_interface(self, client, project_id):
        web = await create_sg(client, project_id, "web")
        instance_id = await create_instance(client, project_id)
        task = await finished(client, await client.post(inst(project_id, instance_id, "attach_interface"),
                                                        json={"type": "external", "security_groups": [{"id": web}]}))
        (port_id,) = task["created_resources"]["ports"]
        ports_body = (await client.get(inst(project_id, instance_id, "ports"))).json()
        by_port = {p["id"]: [g["name"] for g in p["security_groups"]] for p in ports_body["results"]}
        assert by_port[port_id] == ["web"]

    @pytest.mark.parametrize("body, status", [
        ({"type": "subnet"}, 400),
        ({"type": "subnet", "subnet_id": "missing"}, 404),
        ({"type": "any_subnet"}, 400),
        ({"type": "any_subnet", "network_id": "missing"}, 404),
        ({"type": "reserved_fixed_ip"}, 400),
        ({"type": "reserved_fixed_ip", "port_id": "missing"}, 404),
        ({"type": "external", "security_groups": [{"id": "missing"}]}, 404),
        ({"type": "external", "interface_name": "x" * 40}, 400),
        ({"type": "external", "ip_family": "ipv5"}, 400),
        ({"type": "teleport"}, 400),
        ({"type": "external", "ddos_profile": {"profile_template": 1}}, 400),
    ])
    async def test_bad_input_is_4xx_and_changes_nothing(self, client, project_id, runtime, body, status):
        instance_id = await create_instance(client, project_id)
        r = await client.post(inst(project_id, instance_id, "attach_interface"), json=body)
        assert r.status_code == status, r.text
        assert await count_rows(runtime, ports, ports.c.instance_id == instance_id) == 1
        assert (await get_instance(client, project_id, instance_id))["task_id"] is None

    async def test_full_subnet_is_400(self, client, project_id, runtime):
        network_id, subnet_id = await private_net(client, project_id, cidr="10.31.0.0/30")  # one address
        await create_instance(client, project_id, interfaces=[
            {"type": "subnet", "network_id": network_id, "subnet_id": subnet_id}])
        instance_id = await create_instance(client, project_id, name="vm-2")
        r = await client.post(inst(project_id, instance_id, "attach_interface"),
                              json={"type": "subnet", "subnet_id": subnet_id})
        assert r.status_code == 400
        assert await count_rows(runtime, ports, ports.c.instance_id == instance_id) == 1

    async def test_reserved_port_in_use_is_400(self, client, project_id):
        r = await client.post(f"/v1/reserved_fixed_ips/{project_id}/{REGION}", json={"type": "external"})
        reserved = await finished(client, r, "ports")
        await create_instance(client, project_id, interfaces=[{"type": "reserved_fixed_ip", "port_id": reserved}])
        other_vm = await create_instance(client, project_id, name="vm-2")
        r = await client.post(inst(project_id, other_vm, "attach_interface"),
                              json={"type": "reserved_fixed_ip", "port_id": reserved})
        assert r.status_code == 400

    async def test_external_ip_quota(self, client, project_id, runtime):
        from cloudlet.models import projects
        from cloudlet.quotas import repository as quota_repository

        instance_id = await create_instance(client, project_id)
        async with runtime.db.transaction() as conn:
            client_id = await conn.scalar(sa.select(projects.c.client_id).where(projects.c.id == project_id))
            limits = await quota_repository.get_limits(conn, client_id, REGION)
            used = (await quota_repository.usage(conn, client_id, REGION))["external_ip_count"]
            assert used == 1
            await quota_repository.set_limits(conn, client_id, REGION, {**limits, "external_ip_count_limit": used})
        r = await client.post(inst(project_id, instance_id, "attach_interface"), json={"type": "external"})
        assert r.status_code == 400
        assert r.json()["exception_class"] == "QuotaLimitExceed"
        assert await count_rows(runtime, ports, ports.c.instance_id == instance_id) == 1

    async def test_wrong_state_and_lock_are_409(self, client, project_id, runtime):
        instance_id = await create_instance(client, project_id)
        await set_instance(runtime, instance_id, vm_state="suspended", status="SUSPENDED")
        r = await client.post(inst(project_id, instance_id, "attach_interface"), json={"type": "external"})
        assert r.status_code == 409
        await set_instance(runtime, instance_id, vm_state="active", status="ACTIVE",
                           task_id="00000000-0000-0000-0000-0000000000bb")
        try:
            r = await client.post(inst(project_id, instance_id, "attach_interface"), json={"type": "external"})
            assert r.status_code == 409
        finally:
            await set_instance(runtime, instance_id, task_id=None)
        assert await count_rows(runtime, ports, ports.c.instance_id == instance_id) == 1

    async def test_driver_failure_rolls_the_port_back(self, client, project_id, runtime):
        instance_id = await create_instance(client, project_id)
        r = await client.post("/admin/v1/faults", json={"operation": "attach_vm_interface",
                                                        "message": "NIC hot-plug failed"})
        assert r.status_code == 200, r.text
        task = await task_of(client, await client.post(inst(project_id, instance_id, "attach_interface"),
                                                       json={"type": "external"}))
        assert task["state"] == "ERROR" and "NIC hot-plug failed" in task["error"]
        assert await count_rows(runtime, ports, ports.c.instance_id == instance_id) == 1
        assert (await get_instance(client, project_id, instance_id))["task_id"] is None

    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        instance_id = await create_instance(client, project_id)
        other = await other_project(runtime)
        assert (await client.post(inst(other, instance_id, "attach_interface"), json={})).status_code == 404
        assert (await client.post(inst(project_id, "missing", "attach_interface"), json={})).status_code == 404


class TestDetachInterface:
    async def test_detach_deletes_the_port_and_frees_the_address(self, client, project_id, runtime):
        network_id, subnet_id = await private_net(client, project_id)
        instance_id = await create_instance(client, project_id, interfaces=[
            {"type": "external"}, {"type": "subnet", "network_id": network_id, "subnet_id": subnet_id}])
        _, priv = (await interfaces(client, project_id, instance_id))["results"]
        ip = priv["ip_assignments"][0]["ip_address"]
        task = await finished(client, await client.post(inst(project_id, instance_id, "detach_interface"),
                                                        json={"port_id": priv["port_id"], "ip_address": ip}))
        assert task["task_type"] == "detach_vm_interface"
        body = await interfaces(client, project_id, instance_id)
        assert body["count"] == 1
        assert "private" not in (await get_instance(client, project_id, instance_id))["addresses"]
        subnet = (await client.get(f"/v1/subnets/{project_id}/{REGION}/{subnet_id}")).json()
        assert subnet["available_ips"] == subnet["total_ips"]
        assert await count_rows(runtime, ports, ports.c.id == priv["port_id"]) == 0

    async def test_detached_reserved_port_stays_reserved(self, client, project_id):
        r = await client.post(f"/v1/reserved_fixed_ips/{project_id}/{REGION}", json={"type": "external"})
        reserved = await finished(client, r, "ports")
        instance_id = await create_instance(client, project_id, interfaces=[
            {"type": "external"}, {"type": "reserved_fixed_ip", "port_id": reserved}])
        rfip = (await client.get(f"/v1/reserved_fixed_ips/{project_id}/{REGION}/{reserved}")).json()
        await finished(client, await client.post(inst(project_id, instance_id, "detach_interface"), json={
            "port_id": reserved, "ip_address": rfip["fixed_ip_address"]}))
        after = (await client.get(f"/v1/reserved_fixed_ips/{project_id}/{REGION}/{reserved}")).json()
        assert after["fixed_ip_address"] == rfip["fixed_ip_address"] and after["attachments"] == []
        assert (await interfaces(client, project_id, instance_id))["count"] == 1

    async def test_bad_input(self, client, project_id, runtime):
        instance_id = await create_instance(client, project_id)
        other_vm = await create_instance(client, project_id, name="vm-2")
        (iface,) = (await interfaces(client, project_id, instance_id))["results"]
        (foreign,) = (await interfaces(client, project_id, other_vm))["results"]
        r = await client.post(inst(project_id, instance_id, "detach_interface"),
                              json={"port_id": iface["port_id"], "ip_address": "1.1.1.1"})
        assert r.status_code == 400
        r = await client.post(inst(project_id, instance_id, "detach_interface"), json={
            "port_id": foreign["port_id"], "ip_address": foreign["ip_assignments"][0]["ip_address"]})
        assert r.status_code == 404
        r = await client.post(inst(project_id, instance_id, "detach_interface"), json={"port_id": iface["port_id"]})
        assert r.status_code == 400
        assert (await interfaces(client, project_id, instance_id))["count"] == 1
        other = await other_project(runtime)
        r = await client.post(inst(other, instance_id, "detach_interface"), json={
            "port_id": iface["port_id"], "ip_address": iface["ip_assignments"][0]["ip_address"]})
        assert r.status_code == 404

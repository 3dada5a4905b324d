"""The official Python SDK, validating strictly, through the network-side flow of supporting.md 0."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gcore import AsyncGcore

from tests.api.networks.helpers import UBUNTU
from tests.conftest import ADMIN_TOKEN

BASE_URL = "http://cloudlet.test"


@pytest.fixture
async def sdk(app: Any, project_id: int) -> AsyncIterator[AsyncGcore]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        yield AsyncGcore(api_key=ADMIN_TOKEN, base_url=BASE_URL, http_client=http, cloud_project_id=project_id,
                         cloud_region_id=1, max_retries=0, polling_interval_seconds=1, polling_timeout_seconds=30,
                         _strict_response_validation=True)


async def test_network_side_flow(sdk: AsyncGcore) -> None:
    cloud = sdk.cloud
    network = await cloud.networks.create_and_poll(name="sdk-net", tags={"t": "1"})
    subnet = await cloud.networks.subnets.create_and_poll(network_id=network.id, cidr="10.60.0.0/24",
                                                          name="sdk-subnet")
    assert subnet.available_ips == 253
    network = await cloud.networks.update_and_poll(network.id, name="sdk-net-2")
    assert network.name == "sdk-net-2" and network.subnets == [subnet.id]
    assert [n.id async for n in cloud.networks.list()] == [network.id]
    assert [s.id async for s in cloud.networks.subnets.list(network_id=network.id)] == [subnet.id]
    subnet = await cloud.networks.subnets.update(subnet.id, name="sdk-subnet-2")
    assert subnet.name == "sdk-subnet-2"

    group = await cloud.security_groups.create_and_poll(name="sdk-sg")
    rule = await cloud.security_groups.rules.create_and_poll(group.id, direction="ingress", protocol="tcp",
                                                             port_range_min=22, port_range_max=22)
    assert rule.port_range_min == 22
    assert "sdk-sg" in [g.name async for g in cloud.security_groups.list()]
    placement = await cloud.placement_groups.create(name="sdk-pg", policy="anti-affinity")
    reserved = await cloud.reserved_fixed_ips.create_and_poll(type="subnet", subnet_id=subnet.id)
    assert ipaddress.ip_address(reserved.fixed_ip_address) in ipaddress.ip_network("10.60.0.0/24")
    fip = await cloud.floating_ips.create_and_poll()
    assert fip.status == "DOWN"

    instance = await cloud.instances.create_and_poll(
        flavor="g1-standard-1-2", name="sdk-vm",
        interfaces=[{"type": "subnet", "network_id": network.id, "subnet_id": subnet.id,
                     "security_groups": [{"id": group.id}]}],
        volumes=[{"source": "image", "image_id": UBUNTU, "size": 10}],
    )
    interfaces = [i async for i in cloud.instances.interfaces.list(instance.id)]
    (iface,) = interfaces
    assert iface.network_details.subnets[0].id == subnet.id

    with pytest.warns(DeprecationWarning):  # the SDK prefers PATCH /v2/floatingips, which cloudlet lacks
        await cloud.floating_ips.assign(fip.id, port_id=iface.port_id)
    detailed = [f async for f in cloud.floating_ips.list()]
    assert detailed[0].instance is not None and detailed[0].instance.id == instance.id

    await cloud.instances.assign_security_group(instance.id, name="default")
    instance = await cloud.instances.get(instance.id)
    assert [g.name for g in instance.security_groups] == ["default", "sdk-sg"]
    await cloud.instances.unassign_security_group(instance.id, name="default")

    await cloud.instances.interfaces.attach_and_poll(instance.id, type="reserved_fixed_ip", port_id=reserved.port_id)
    await cloud.instances.interfaces.attach_and_poll(instance.id, type="external")
    assert len([i async for i in cloud.instances.interfaces.list(instance.id)]) == 3
    await cloud.instances.interfaces.detach_and_poll(instance.id, port_id=reserved.port_id,
                                                     ip_address=reserved.fixed_ip_address)
    instance = await cloud.instances.add_to_placement_group_and_poll(instance.id, servergroup_id=placement.servergroup_id)
    assert [i.instance_id for i in (await cloud.placement_groups.get(placement.servergroup_id)).instances] == [
        instance.id]
    await cloud.instances.remove_from_placement_group_and_poll(instance.id)

    await cloud.instances.delete_and_poll(instance.id, delete_floatings=True)
    await cloud.reserved_fixed_ips.delete_and_poll(reserved.port_id)
    deleted = await cloud.placement_groups.delete(placement.servergroup_id)
    await cloud.tasks.poll(deleted.tasks[0])
    await cloud.security_groups.delete(group.id)
    await cloud.tasks.poll((await cloud.networks.subnets.delete(subnet.id)).tasks[0])
    await cloud.networks.delete_and_poll(network.id)
    assert [n async for n in cloud.networks.list()] == []

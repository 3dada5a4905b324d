"""Build the wire ``ReservedFixedIP`` from port rows (network, addresses in one query each)."""

from __future__ import annotations

import ipaddress
from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.networks import repository as network_repository
from cloudlet.networks.views import network_out
from cloudlet.reserved_fixed_ips.schemas import Attachment, Reservation, ReservedFixedIp


async def render(conn: Conn, scope: Scope, rows: list[Any]) -> list[ReservedFixedIp]:
    network_ids = sorted({r.network_id for r in rows})
    nets = await network_repository.networks_by_ids(conn, network_ids)
    subnet_ids = await network_repository.subnet_ids_of(conn, network_ids)
    addresses = await network_repository.allocations_of_ports(conn, [r.id for r in rows])
    out = []
    for r in rows:
        net = nets[r.network_id]
        v4 = next((a for a in addresses[r.id] if ipaddress.ip_address(a.ip_address).version == 4), None)
        v6 = next((a for a in addresses[r.id] if ipaddress.ip_address(a.ip_address).version == 6), None)
        bound = r.instance_id is not None
        out.append(ReservedFixedIp(
            port_id=r.id, name=r.name, status="ACTIVE" if bound else "DOWN", network_id=r.network_id,
            network=network_out(net, subnet_ids[net.id], scope.region_name), is_external=net.external, is_vip=False,
            fixed_ip_address=v4.ip_address if v4 else None, fixed_ipv6_address=v6.ip_address if v6 else None,
            subnet_id=v4.subnet_id if v4 else None, subnet_v6_id=v6.subnet_id if v6 else None,
            reservation=Reservation(resource_id=r.instance_id, resource_type="instance", status="attached")
            if bound else Reservation(resource_id=None, resource_type=None, status="available"),
            attachments=[Attachment(resource_id=r.instance_id, resource_type="instance")] if bound else [],
            allowed_address_pairs=[], created_at=r.created_at, updated_at=r.updated_at, creator_task_id=None,
            task_id=None, project_id=r.project_id, region=scope.region_name, region_id=r.region_id,
        ))
    return out

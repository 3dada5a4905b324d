"""Build the wire ``Subnet`` from rows; address counts come from IPAM in one query per page."""

from __future__ import annotations

from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.networks import ipam
from cloudlet.networks.schemas import tags_out
from cloudlet.subnets.schemas import Route, Subnet


def subnet_out(row: Any, used: int, scope: Scope) -> Subnet:
    total = ipam.capacity(row.cidr, row.gateway_ip)
    tags = tags_out(row.tags)
    return Subnet(
        id=row.id, name=row.name, cidr=row.cidr, ip_version=row.ip_version, network_id=row.network_id,
        gateway_ip=row.gateway_ip, enable_dhcp=row.enable_dhcp, dns_nameservers=list(row.dns_nameservers or []),
        host_routes=[Route(destination=h["destination"], nexthop=h["nexthop"]) for h in row.host_routes or []],
        has_router=False, available_ips=max(total - used, 0), total_ips=total, created_at=row.created_at,
        updated_at=row.updated_at, creator_task_id=row.creator_task_id, task_id=row.task_id, tags=tags,
        # the shared external subnets have no owner; the Python model wants an int
        project_id=row.project_id if row.project_id is not None else scope.project_id,
        region=scope.region_name, region_id=row.region_id, metadata=tags,
    )


async def render(conn: Conn, scope: Scope, rows: list[Any]) -> list[Subnet]:
    used = await ipam.used_counts(conn, [r.id for r in rows])
    return [subnet_out(r, used[r.id], scope) for r in rows]

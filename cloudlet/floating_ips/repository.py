"""SQL for floating IPs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.models import floating_ips, ip_allocations, ports


async def get(conn: Conn, scope: Scope, fip_id: str) -> Any:
    return (await conn.execute(sa.select(floating_ips).where(
        floating_ips.c.id == fip_id, floating_ips.c.project_id == scope.project_id,
        floating_ips.c.region_id == scope.region_id))).first()


async def insert(conn: Conn, scope: Scope, **values: Any) -> None:
    now = utcnow()
    await conn.execute(floating_ips.insert().values(project_id=scope.project_id, region_id=scope.region_id,
                                                    tags=[], router_id=None, created_at=now, updated_at=now,
                                                    **values))


async def set_port(conn: Conn, fip_id: str, *, port_id: str | None, fixed_ip: str | None) -> None:
    await conn.execute(floating_ips.update().where(floating_ips.c.id == fip_id)
                       .values(port_id=port_id, fixed_ip_address=fixed_ip, updated_at=utcnow()))


async def ids_of_instance(conn: Conn, instance_id: str) -> set[str]:
    rows = await conn.execute(sa.select(floating_ips.c.id).select_from(
        floating_ips.join(ports, ports.c.id == floating_ips.c.port_id)).where(ports.c.instance_id == instance_id))
    return {r.id for r in rows}


async def delete(conn: Conn, fip_ids: list[str]) -> None:
    if fip_ids:
        await conn.execute(ip_allocations.delete().where(ip_allocations.c.floatingip_id.in_(fip_ids)))
        await conn.execute(floating_ips.delete().where(floating_ips.c.id.in_(fip_ids)))


async def fixed_addresses(conn: Conn, port_id: str) -> list[str]:
    rows = await conn.execute(sa.select(ip_allocations.c.ip_address).where(ip_allocations.c.port_id == port_id)
                              .order_by(ip_allocations.c.ip_address))
    return [r.ip_address for r in rows]

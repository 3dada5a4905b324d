"""SQL for floating IPs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.models import (
    floating_ips,
    instance_tags,
    instances,
    ip_allocations,
    ports,
    volumes,
)


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


# --- the Floating IPs API ------------------------------------------------------------------

_ROW = sa.select(floating_ips, ports.c.network_id.label("port_network_id"),
                 ports.c.instance_id.label("instance_id")).select_from(
    floating_ips.outerjoin(ports, ports.c.id == floating_ips.c.port_id))


def _in_scope(scope: Scope) -> sa.ColumnElement[bool]:
    return sa.and_(floating_ips.c.project_id == scope.project_id, floating_ips.c.region_id == scope.region_id)


async def list_rows(conn: Conn, scope: Scope) -> list[Any]:
    """Every floating IP of the scope, newest first, with the network and instance of its port."""
    return list((await conn.execute(_ROW.where(_in_scope(scope))
                                    .order_by(floating_ips.c.created_at.desc(), floating_ips.c.id))).all())


async def get_row(conn: Conn, scope: Scope, fip_id: str) -> Any:
    return (await conn.execute(_ROW.where(floating_ips.c.id == fip_id, _in_scope(scope)))).first()


async def get_plain(conn: Conn, fip_id: str) -> Any:
    return (await conn.execute(sa.select(floating_ips).where(floating_ips.c.id == fip_id))).first()


async def update(conn: Conn, fip_id: str, **values: Any) -> None:
    await conn.execute(floating_ips.update().where(floating_ips.c.id == fip_id).values(updated_at=utcnow(), **values))


async def take_lock(conn: Conn, fip_id: str, task_id: str) -> bool:
    result = await conn.execute(floating_ips.update()
                                .where(floating_ips.c.id == fip_id, floating_ips.c.task_id.is_(None))
                                .values(task_id=task_id, updated_at=utcnow()))
    return result.rowcount == 1  # type: ignore[no-any-return]


async def release_lock(conn: Conn, fip_id: str, task_id: str) -> None:
    await conn.execute(floating_ips.update().where(floating_ips.c.id == fip_id, floating_ips.c.task_id == task_id)
                       .values(task_id=None, updated_at=utcnow()))


async def nat_of(conn: Conn, port_id: str, fixed_ip: str) -> Any:
    """The floating IP that already NATs this fixed address, if any."""
    return (await conn.execute(sa.select(floating_ips.c.id).where(floating_ips.c.port_id == port_id,
                                                                  floating_ips.c.fixed_ip_address == fixed_ip))).first()


async def of_ports(conn: Conn, port_ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {p: [] for p in port_ids}
    if port_ids:
        rows = await conn.execute(_ROW.where(floating_ips.c.port_id.in_(port_ids))
                                  .order_by(floating_ips.c.created_at, floating_ips.c.id))
        for r in rows:
            out[r.port_id].append(r)
    return out


async def instance_rows(conn: Conn, instance_ids: list[str]) -> list[Any]:
    if not instance_ids:
        return []
    return list((await conn.execute(sa.select(instances).where(instances.c.id.in_(instance_ids)))).all())


async def instance_tags_of(conn: Conn, instance_ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {i: [] for i in instance_ids}
    if instance_ids:
        rows = await conn.execute(sa.select(instance_tags).where(instance_tags.c.instance_id.in_(instance_ids))
                                  .order_by(instance_tags.c.key))
        for r in rows:
            out[r.instance_id].append(r)
    return out


async def instance_volumes_of(conn: Conn, instance_ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {i: [] for i in instance_ids}
    if instance_ids:
        rows = await conn.execute(sa.select(volumes.c.id, volumes.c.instance_id, volumes.c.delete_on_termination)
                                  .where(volumes.c.instance_id.in_(instance_ids))
                                  .order_by(volumes.c.device, volumes.c.id))
        for r in rows:
            out[r.instance_id].append(r)
    return out

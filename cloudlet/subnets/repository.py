"""SQL for subnets (reads by id for instance code live in cloudlet.networks.repository)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.models import ip_allocations, networks, subnets


async def list_subnets(conn: Conn, scope: Scope, *, owned_only: bool, network_id: str | None) -> list[Any]:
    visible = sa.and_(networks.c.region_id == scope.region_id,
                      sa.or_(networks.c.project_id == scope.project_id, networks.c.shared.is_(True)))
    where = [visible]
    if owned_only:
        where.append(subnets.c.project_id == scope.project_id)
    if network_id is not None:
        where.append(subnets.c.network_id == network_id)
    return list((await conn.execute(
        sa.select(subnets).select_from(subnets.join(networks, networks.c.id == subnets.c.network_id))
        .where(*where).order_by(subnets.c.created_at, subnets.c.id)
    )).all())


async def insert(conn: Conn, scope: Scope, **values: Any) -> None:
    now = utcnow()
    await conn.execute(subnets.insert().values(project_id=scope.project_id, region_id=scope.region_id,
                                               created_at=now, updated_at=now, **values))


async def get_plain(conn: Conn, subnet_id: str) -> Any:
    return (await conn.execute(sa.select(subnets).where(subnets.c.id == subnet_id))).first()


async def update(conn: Conn, subnet_id: str, **values: Any) -> None:
    await conn.execute(subnets.update().where(subnets.c.id == subnet_id).values(updated_at=utcnow(), **values))


async def take_lock(conn: Conn, subnet_id: str, task_id: str) -> bool:
    result = await conn.execute(subnets.update().where(subnets.c.id == subnet_id, subnets.c.task_id.is_(None))
                                .values(task_id=task_id, updated_at=utcnow()))
    return result.rowcount == 1  # type: ignore[no-any-return]


async def release_lock(conn: Conn, subnet_id: str, task_id: str) -> None:
    await conn.execute(subnets.update().where(subnets.c.id == subnet_id, subnets.c.task_id == task_id)
                       .values(task_id=None, updated_at=utcnow()))


async def delete(conn: Conn, subnet_id: str) -> None:
    await conn.execute(ip_allocations.delete().where(ip_allocations.c.subnet_id == subnet_id))
    await conn.execute(subnets.delete().where(subnets.c.id == subnet_id))


async def is_allocated(conn: Conn, subnet_id: str, address: str) -> bool:
    return bool(await conn.scalar(sa.select(sa.literal(1)).where(ip_allocations.c.subnet_id == subnet_id,
                                                                 ip_allocations.c.ip_address == address).limit(1)))

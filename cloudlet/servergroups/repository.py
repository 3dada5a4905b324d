"""SQL for server (placement) groups."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.models import instances, servergroups


async def get(conn: Conn, scope: Scope, group_id: str) -> Any:
    return (await conn.execute(sa.select(servergroups).where(
        servergroups.c.id == group_id, servergroups.c.project_id == scope.project_id,
        servergroups.c.region_id == scope.region_id))).first()


async def get_for_update(conn: Conn, group_id: str) -> Any:
    """The group row, locked so that two placements in one group take turns (PostgreSQL)."""
    return (await conn.execute(sa.select(servergroups).where(servergroups.c.id == group_id)
                               .with_for_update())).first()


async def member_hosts(conn: Conn, group_id: str, *, excluding: str) -> set[str]:
    rows = await conn.execute(sa.select(instances.c.host).where(
        instances.c.servergroup_id == group_id, instances.c.id != excluding, instances.c.host.is_not(None)))
    return {r.host for r in rows}


async def placement_policy(conn: Conn, instance: Any) -> tuple[str | None, set[str]]:
    """The policy of the instance's server group and the hosts its other members run on (none: no group);
    the group stays locked until the placement commits."""
    if instance.servergroup_id:
        group = await get_for_update(conn, instance.servergroup_id)
        if group is not None:
            return group.policy, await member_hosts(conn, instance.servergroup_id, excluding=instance.id)
    return None, set()


async def list_groups(conn: Conn, scope: Scope) -> list[Any]:
    return list((await conn.execute(sa.select(servergroups).where(
        servergroups.c.project_id == scope.project_id, servergroups.c.region_id == scope.region_id)
        .order_by(servergroups.c.created_at, servergroups.c.id))).all())


async def insert(conn: Conn, scope: Scope, *, group_id: str, name: str, policy: str) -> None:
    from cloudlet.core.clock import utcnow

    await conn.execute(servergroups.insert().values(id=group_id, project_id=scope.project_id,
                                                    region_id=scope.region_id, name=name, policy=policy,
                                                    created_at=utcnow()))


async def members(conn: Conn, group_ids: list[str]) -> dict[str, list[Any]]:
    """Per group: its instances (id, name), oldest first."""
    out: dict[str, list[Any]] = {g: [] for g in group_ids}
    if group_ids:
        rows = await conn.execute(sa.select(instances.c.id, instances.c.name, instances.c.servergroup_id)
                                  .where(instances.c.servergroup_id.in_(group_ids))
                                  .order_by(instances.c.created_at, instances.c.id))
        for r in rows:
            out[r.servergroup_id].append(r)
    return out


async def delete(conn: Conn, group_id: str) -> None:
    await conn.execute(servergroups.delete().where(servergroups.c.id == group_id))


async def set_membership(conn: Conn, instance_id: str, group_id: str | None) -> None:
    from cloudlet.core.clock import utcnow

    await conn.execute(instances.update().where(instances.c.id == instance_id)
                       .values(servergroup_id=group_id, updated_at=utcnow()))

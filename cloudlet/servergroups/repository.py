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

"""Task handler for deleting a server group."""

from __future__ import annotations

from cloudlet.compute.base import DriverError
from cloudlet.core.db import Conn
from cloudlet.servergroups import repository
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType


async def _nothing(ctx: TaskContext, conn: Conn, error: str) -> None:
    return None


@register(TaskType.DELETE_SERVERGROUP, on_error=_nothing)
async def delete_servergroup(ctx: TaskContext) -> None:
    group_id = ctx.resource_id or ""
    async with ctx.db.transaction() as conn:
        members = (await repository.members(conn, [group_id]))[group_id]
        if members:  # an instance joined after the request was accepted
            raise DriverError(f"Server group {group_id} still has {len(members)} instance(s)")
        await repository.delete(conn, group_id)
        await ctx.finish(conn, resources=created_resources())

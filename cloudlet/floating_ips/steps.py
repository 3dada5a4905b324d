"""Task handlers for floating IPs: database-only (NAT needs no guest change)."""

from __future__ import annotations

from cloudlet.core.db import Conn
from cloudlet.floating_ips import repository
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType


async def _drop_created(ctx: TaskContext, conn: Conn, error: str) -> None:
    await repository.delete(conn, [ctx.resource_id or ""])


@register(TaskType.CREATE_FIP, on_error=_drop_created)
async def create_fip(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        await repository.release_lock(conn, ctx.resource_id or "", ctx.task_id)
        await ctx.finish(conn, resources=created_resources(floatingips=[ctx.resource_id]))


async def _release(ctx: TaskContext, conn: Conn, error: str) -> None:
    await repository.release_lock(conn, ctx.resource_id or "", ctx.task_id)


@register(TaskType.DELETE_FIP, on_error=_release)
async def delete_fip(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        await repository.delete(conn, [ctx.resource_id or ""])
        await ctx.finish(conn, resources=created_resources())

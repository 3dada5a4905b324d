"""Task handlers for security groups: database-only; the rows were written with the request."""

from __future__ import annotations

from cloudlet.compute.base import DriverError
from cloudlet.core.db import Conn
from cloudlet.security_groups import repository
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType


async def _drop_group(ctx: TaskContext, conn: Conn, error: str) -> None:
    await repository.delete_group(conn, ctx.resource_id or "")


@register(TaskType.CREATE_SECURITY_GROUP, on_error=_drop_group)
async def create_security_group(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        if await repository.get_group_plain(conn, ctx.resource_id or "") is None:
            raise DriverError(f"Security group {ctx.resource_id} no longer exists")
        await ctx.finish(conn, resources=created_resources(security_groups=[ctx.resource_id]))


async def _drop_rule(ctx: TaskContext, conn: Conn, error: str) -> None:
    await repository.delete_rule(conn, ctx.resource_id or "")


@register(TaskType.CREATE_SECURITY_GROUP_RULE, on_error=_drop_rule)
async def create_security_group_rule(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        await ctx.finish(conn, resources=created_resources(security_group_rules=[ctx.resource_id]))


async def _nothing(ctx: TaskContext, conn: Conn, error: str) -> None:
    return None


@register(TaskType.DELETE_SECURITY_GROUP_RULE, on_error=_nothing)
async def delete_security_group_rule(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        await repository.delete_rule(conn, ctx.resource_id or "")
        group_id = ctx.data.get("security_group_id")
        if group_id:
            await repository.update_group(conn, group_id, bump=True)
        await ctx.finish(conn, resources=created_resources())

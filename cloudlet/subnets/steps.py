"""Task handlers for subnets: database-only, one transaction each."""

from __future__ import annotations

from cloudlet.compute.base import DriverError
from cloudlet.core.db import Conn
from cloudlet.networks import ipam
from cloudlet.subnets import repository
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType


async def _drop_created(ctx: TaskContext, conn: Conn, error: str) -> None:
    await repository.delete(conn, ctx.resource_id or "")


@register(TaskType.CREATE_SUBNET, on_error=_drop_created)
async def create_subnet(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        if await repository.get_plain(conn, ctx.resource_id or "") is None:
            raise DriverError(f"Subnet {ctx.resource_id} no longer exists")
        await repository.release_lock(conn, ctx.resource_id or "", ctx.task_id)
        await ctx.finish(conn, resources=created_resources(subnets=[ctx.resource_id]))


async def _release(ctx: TaskContext, conn: Conn, error: str) -> None:
    await repository.release_lock(conn, ctx.resource_id or "", ctx.task_id)


@register(TaskType.DELETE_SUBNET, on_error=_release)
async def delete_subnet(ctx: TaskContext) -> None:
    subnet_id = ctx.resource_id or ""
    async with ctx.db.transaction() as conn:
        if await repository.get_plain(conn, subnet_id) is not None:
            used = (await ipam.used_counts(conn, [subnet_id]))[subnet_id]
            if used:  # an address was handed out after the request was accepted
                raise DriverError(f"Subnet {subnet_id} has {used} IP address(es) in use")
            await repository.delete(conn, subnet_id)
        await ctx.finish(conn, resources=created_resources())

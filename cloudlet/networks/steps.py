"""Task handlers for networks. Networks live only in the database (the compute driver plugs
ports, not networks), so each handler records its outcome in one transaction."""

from __future__ import annotations

from cloudlet.compute.base import DriverError
from cloudlet.core.db import Conn
from cloudlet.networks import repository
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType


async def _drop_created(ctx: TaskContext, conn: Conn, error: str) -> None:
    await repository.delete_network(conn, ctx.resource_id or "")


@register(TaskType.CREATE_NETWORK, on_error=_drop_created)
async def create_network(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        if await repository.get_network_plain(conn, ctx.resource_id or "") is None:
            raise DriverError(f"Network {ctx.resource_id} no longer exists")
        await repository.release_network_lock(conn, ctx.resource_id or "", ctx.task_id)
        await ctx.finish(conn, resources=created_resources(networks=[ctx.resource_id]))


async def _release(ctx: TaskContext, conn: Conn, error: str) -> None:
    await repository.release_network_lock(conn, ctx.resource_id or "", ctx.task_id)


@register(TaskType.DELETE_NETWORK, on_error=_release)
async def delete_network(ctx: TaskContext) -> None:
    network_id = ctx.resource_id or ""
    async with ctx.db.transaction() as conn:
        if await repository.get_network_plain(conn, network_id) is not None:
            # a port may have been made in the network after the request was accepted
            in_use = await repository.port_count(conn, network_id)
            if in_use:
                raise DriverError(f"Network {network_id} is in use by {in_use} port(s)")
            await repository.delete_network(conn, network_id)
        await ctx.finish(conn, resources=created_resources())


@register(TaskType.UPDATE_NETWORK, on_error=_release)
async def update_network(ctx: TaskContext) -> None:
    network_id = ctx.resource_id or ""
    async with ctx.db.transaction() as conn:
        if await repository.get_network_plain(conn, network_id) is None:
            raise DriverError(f"Network {network_id} no longer exists")
        await repository.update_network(conn, network_id, task_id=None, **ctx.data.get("changes", {}))
        await ctx.finish(conn, resources=created_resources())

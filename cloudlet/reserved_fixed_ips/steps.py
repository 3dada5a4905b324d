"""Task handlers for reserved fixed IPs: database-only."""

from __future__ import annotations

from cloudlet.compute.base import DriverError
from cloudlet.core.db import Conn
from cloudlet.networks import repository as network_repository
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType


async def _drop_created(ctx: TaskContext, conn: Conn, error: str) -> None:
    port = await network_repository.get_port_plain(conn, ctx.resource_id or "")
    if port is not None and port.instance_id is None:
        await network_repository.delete_ports(conn, [port.id])


@register(TaskType.CREATE_RESERVED_FIXED_IP, on_error=_drop_created)
async def create_reserved_fixed_ip(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        if await network_repository.get_port_plain(conn, ctx.resource_id or "") is None:
            raise DriverError(f"Reserved fixed IP {ctx.resource_id} no longer exists")
        await ctx.finish(conn, resources=created_resources(ports=[ctx.resource_id]))


async def _nothing(ctx: TaskContext, conn: Conn, error: str) -> None:
    return None


@register(TaskType.DELETE_RESERVED_FIXED_IP, on_error=_nothing)
async def delete_reserved_fixed_ip(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        port = await network_repository.get_port_plain(conn, ctx.resource_id or "")
        if port is not None:
            if port.instance_id is not None:  # plugged into an instance after the request was accepted
                raise DriverError(f"Reserved fixed IP {port.id} is attached to instance {port.instance_id}")
            await network_repository.delete_ports(conn, [port.id])
        await ctx.finish(conn, resources=created_resources())

"""Task handlers for attach/detach interface and placement group membership.

Attach and detach call the driver with no transaction open, then record the outcome and free
the instance's lock in one transaction. Joining a group checks the group's policy against the
host the instance already runs on, with the scheduler's own rules: a violation fails the task
("No valid host ...") and changes nothing.
"""

from __future__ import annotations

from cloudlet.compute.base import DriverError, HostInfo, StepContext
from cloudlet.core.db import Conn
from cloudlet.instances import repository
from cloudlet.instances.scheduler import choose_host
from cloudlet.instances.steps import nic_spec
from cloudlet.networks import repository as network_repository
from cloudlet.servergroups import repository as servergroup_repository
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType


async def _release(ctx: TaskContext, conn: Conn) -> None:
    row = await repository.get_plain(conn, ctx.resource_id or "")
    if row is not None:
        await repository.set_state(conn, row.id, vm_state=row.vm_state, task_state=None,
                                   release_lock_of=ctx.task_id)


async def _load(conn: Conn, ctx: TaskContext):  # type: ignore[no-untyped-def]
    row = await repository.get_plain(conn, ctx.resource_id or "")
    if row is None:
        raise DriverError(f"Instance {ctx.resource_id} no longer exists")
    return row


# --- attach_vm_interface -------------------------------------------------------------------


async def _undo_attach(ctx: TaskContext, conn: Conn, error: str) -> None:
    """Take the new port out again: a reserved fixed IP goes back to free, any other port is deleted."""
    port = await network_repository.get_port_plain(conn, ctx.data.get("port_id", ""))
    if port is not None and port.instance_id == ctx.resource_id:
        if port.reserved:
            await network_repository.bind_port(conn, port.id, instance_id=None)
        else:
            await network_repository.delete_ports(conn, [port.id])
    await _release(ctx, conn)


@register(TaskType.ATTACH_VM_INTERFACE, on_error=_undo_attach)
async def attach_vm_interface(ctx: TaskContext) -> None:
    port_id = ctx.data["port_id"]
    async with ctx.db.transaction() as conn:
        row = await _load(conn, ctx)
        port = await network_repository.get_port_plain(conn, port_id)
        if port is None or port.instance_id != row.id:
            raise DriverError(f"Port {port_id} is no longer bound to instance {row.id}")
        addresses = (await network_repository.allocations_of_ports(conn, [port_id]))[port_id]
        nic = nic_spec(port, addresses)
    await ctx.driver.attach_interface(row.id, row.host or "", nic, StepContext())
    async with ctx.db.transaction() as conn:
        row = await _load(conn, ctx)
        await repository.set_state(conn, row.id, vm_state=row.vm_state, task_state=None,
                                   release_lock_of=ctx.task_id)
        await ctx.finish(conn, resources=created_resources(ports=[port_id]))


# --- detach_vm_interface -------------------------------------------------------------------


async def _undo_release(ctx: TaskContext, conn: Conn, error: str) -> None:
    await _release(ctx, conn)


@register(TaskType.DETACH_VM_INTERFACE, on_error=_undo_release)
async def detach_vm_interface(ctx: TaskContext) -> None:
    port_id = ctx.data["port_id"]
    async with ctx.db.transaction() as conn:
        row = await _load(conn, ctx)
    await ctx.driver.detach_interface(row.id, row.host or "", port_id, StepContext())
    async with ctx.db.transaction() as conn:
        port = await network_repository.get_port_plain(conn, port_id)
        if port is not None and port.instance_id == row.id:
            if port.reserved:
                await network_repository.bind_port(conn, port.id, instance_id=None)
            else:
                await network_repository.delete_ports(conn, [port.id])
        row = await _load(conn, ctx)
        await repository.set_state(conn, row.id, vm_state=row.vm_state, task_state=None,
                                   release_lock_of=ctx.task_id)
        await ctx.finish(conn, resources=created_resources())


# --- placement groups ----------------------------------------------------------------------


@register(TaskType.PUT_INTO_SERVER_GROUP, on_error=_undo_release)
async def put_into_server_group(ctx: TaskContext) -> None:
    group_id = ctx.data["servergroup_id"]
    async with ctx.db.transaction() as conn:
        row = await _load(conn, ctx)
        group = await servergroup_repository.get_for_update(conn, group_id)
        if group is None:
            raise DriverError(f"Server group {group_id} no longer exists")
        if row.host:
            # capacity is not in question (the instance already runs there): only the policy is
            here = HostInfo(name=row.host, vcpus=row.vcpus, ram=row.ram)
            choose_host([here], {}, vcpus=row.vcpus, ram=row.ram, policy=group.policy,
                        group_hosts=await servergroup_repository.member_hosts(conn, group_id, excluding=row.id))
        await servergroup_repository.set_membership(conn, row.id, group_id)
        await repository.set_state(conn, row.id, vm_state=row.vm_state, task_state=None,
                                   release_lock_of=ctx.task_id)
        await ctx.finish(conn, resources=created_resources())


@register(TaskType.REMOVE_FROM_SERVER_GROUP, on_error=_undo_release)
async def remove_from_server_group(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        row = await _load(conn, ctx)
        await servergroup_repository.set_membership(conn, row.id, None)
        await repository.set_state(conn, row.id, vm_state=row.vm_state, task_state=None,
                                   release_lock_of=ctx.task_id)
        await ctx.finish(conn, resources=created_resources())

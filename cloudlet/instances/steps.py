"""Task handlers for instances: load state, call the driver (no transaction open), record the outcome.

A create whose driver does not wait (``driver.waits("create")`` is false: the simulator's instant profile)
runs all three in one transaction: nobody could see the states in between, and it saves a COMMIT.

Each handler can be re-run from the start after a crash: scheduling keeps a host already chosen,
the driver's create/delete are idempotent, and the final transaction checks the lease.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cloudlet.compute.base import DiskSpec, DriverError, InstanceSpec, NicSpec, StepContext
from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.floating_ips import repository as floating_repository
from cloudlet.instances import repository
from cloudlet.instances.scheduler import choose_host
from cloudlet.instances.states import VmState
from cloudlet.networks import repository as network_repository
from cloudlet.servergroups import repository as servergroup_repository
from cloudlet.ssh_keys import repository as ssh_key_repository
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType
from cloudlet.volumes import repository as volume_repository


def progress_reporter(ctx: TaskContext, instance_id: str) -> StepContext:
    """A StepContext whose progress calls show the driver's phase as the instance's task_state."""

    async def progress(task_state: str) -> None:
        async with ctx.db.transaction() as conn:
            await repository.set_task_state(conn, instance_id, ctx.task_id, task_state)

    return StepContext(progress=progress)


async def _load(conn: Conn, ctx: TaskContext) -> Any:
    row = await repository.get_plain(conn, ctx.resource_id or "")
    if row is None:
        raise DriverError(f"Instance {ctx.resource_id} no longer exists")
    return row


def nic_spec(port: Any, allocations: list[Any]) -> NicSpec:
    """A port as the driver sees it; the subnet of its first IPv4 address tells a driver that runs
    the network's DHCP what prefix and gateway to hand out."""
    first_v4 = next((a for a in allocations if a.ip_version == 4), None)
    return NicSpec(
        port_id=port.id, mac_address=port.mac_address, network_id=port.network_id,
        ip_addresses=tuple(a.ip_address for a in allocations),
        cidr=first_v4.cidr if first_v4 else None, gateway_ip=first_v4.gateway_ip if first_v4 else None,
    )


async def instance_spec(conn: Conn, row: Any) -> InstanceSpec:
    """What the driver needs to know about an instance: disks, NICs, key and boot secrets."""
    disks = tuple(
        DiskSpec(volume_id=v.id, size=v.size, boot_index=v.boot_index, image_id=v.image_id)
        for v in await volume_repository.attached_to(conn, [row.id])
    )
    ports = await network_repository.port_ids_of_instance(conn, row.id)
    allocations = await network_repository.allocations_of_ports(conn, [p.id for p in ports])
    nics = [nic_spec(p, allocations[p.id]) for p in ports]
    ssh_key = None
    if row.ssh_key_name:
        key = await ssh_key_repository.get_by_name(conn, row.project_id, row.ssh_key_name)
        ssh_key = key.public_key if key is not None else None
    secrets = row.boot_secrets or {}
    return InstanceSpec(
        id=row.id, name=row.name, host=row.host or "", vcpus=row.vcpus, ram=row.ram, os_type=row.os_type,
        disks=disks, nics=tuple(nics), ssh_public_key=ssh_key, user_data=secrets.get("user_data"),
        password=secrets.get("password"), username=secrets.get("username"),
    )


# --- create_vm -----------------------------------------------------------------------------


async def _undo_create(ctx: TaskContext, conn: Conn, error: str) -> None:
    """Remove everything the create wrote; pre-existing volumes, ports and floating IPs go back to free."""
    instance_id = ctx.resource_id or ""
    row = await repository.get_plain(conn, instance_id)
    if row is None:
        return
    ports = await network_repository.port_ids_of_instance(conn, instance_id)
    fips = await floating_repository.ids_of_instance(conn, instance_id)
    made_fips = [f for f in fips if f in set(ctx.data.get("floatingips", []))]
    await floating_repository.delete(conn, made_fips)
    await network_repository.delete_ports(conn, [p.id for p in ports if not p.reserved])
    for p in ports:
        if p.reserved:
            await network_repository.bind_port(conn, p.id, instance_id=None)
    attached = await volume_repository.attached_to(conn, [instance_id])
    await volume_repository.delete(conn, [v.id for v in attached if v.creator_task_id == ctx.task_id])
    await volume_repository.detach(conn, [v.id for v in attached if v.creator_task_id != ctx.task_id])
    await repository.delete(conn, instance_id)


@register(TaskType.CREATE_VM, on_error=_undo_create)
async def create_vm(ctx: TaskContext) -> None:
    if not ctx.driver.waits("create"):  # nothing to wait for (the instant profile): one transaction does it all
        async with ctx.db.transaction() as conn:
            row, spec = await _place(conn, ctx)
            await ctx.driver.create(spec, StepContext())
            await _finish_create(conn, ctx, row)
        return
    async with ctx.db.transaction() as conn:
        row, spec = await _place(conn, ctx)
    await ctx.driver.create(spec, progress_reporter(ctx, row.id))
    async with ctx.db.transaction() as conn:
        await _finish_create(conn, ctx, row)


async def _place(conn: Conn, ctx: TaskContext) -> tuple[Any, InstanceSpec]:
    """The instance's host (chosen now unless an earlier attempt did) and what the driver needs to build it."""
    row = await _load(conn, ctx)
    if row.host is not None:
        return row, await instance_spec(conn, row)
    policy, group_hosts = await servergroup_repository.placement_policy(conn, row)
    host = choose_host(ctx.driver.hosts(), await repository.host_usage(conn), vcpus=row.vcpus,
                       ram=row.ram, policy=policy, group_hosts=group_hosts)
    await repository.set_state(conn, row.id, vm_state=VmState.BUILDING, task_state="networking", host=host)
    return row, dataclasses.replace(await instance_spec(conn, row), host=host)


async def _finish_create(conn: Conn, ctx: TaskContext, row: Any) -> None:
    """The built instance ACTIVE, its volumes in use, its lock released and its task FINISHED, together."""
    attached = await volume_repository.attached_to(conn, [row.id])
    await volume_repository.set_status(conn, [v.id for v in attached], "in-use", attached_at=utcnow())
    await repository.set_state(conn, row.id, vm_state=VmState.ACTIVE, task_state=None,
                               release_lock_of=ctx.task_id, boot_secrets=None)
    await ctx.finish(conn, resources=created_resources(
        instances=[row.id],
        volumes=[v.id for v in attached if v.creator_task_id == ctx.task_id],
        ports=list(ctx.data.get("ports", [])),
        floatingips=list(ctx.data.get("floatingips", [])),
    ))


# --- delete_vm -----------------------------------------------------------------------------


async def _undo_delete(ctx: TaskContext, conn: Conn, error: str) -> None:
    row = await repository.get_plain(conn, ctx.resource_id or "")
    if row is not None:
        await repository.set_state(conn, row.id, vm_state=row.vm_state, task_state=None,
                                   release_lock_of=ctx.task_id)


@register(TaskType.DELETE_VM, on_error=_undo_delete)
async def delete_vm(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        row = await repository.get_plain(conn, ctx.resource_id or "")
    if row is not None and row.host:
        await ctx.driver.delete(row.id, row.host, StepContext())
    async with ctx.db.transaction() as conn:
        if row is not None:
            instance_id = row.id
            ports = await network_repository.port_ids_of_instance(conn, instance_id)
            await floating_repository.delete(conn, list(ctx.data.get("floatings", [])))
            dropped_reserved = set(ctx.data.get("reserved_fixed_ips", []))
            await network_repository.delete_ports(
                conn, [p.id for p in ports if not p.reserved or p.id in dropped_reserved]
            )
            for p in ports:
                if p.reserved and p.id not in dropped_reserved:
                    await network_repository.bind_port(conn, p.id, instance_id=None)
            attached = await volume_repository.attached_to(conn, [instance_id])
            listed = set(ctx.data.get("volumes", []))
            await volume_repository.delete(conn, [v.id for v in attached
                                                  if v.delete_on_termination or v.id in listed])
            await volume_repository.detach(conn, [v.id for v in attached
                                                  if not (v.delete_on_termination or v.id in listed)])
            await repository.delete(conn, instance_id)
        await ctx.finish(conn, resources=created_resources())

"""Task handlers of the instance lifecycle: power actions and resize.

Each loads the instance, calls one driver verb with no transaction open, then in one transaction
sets the final state the state table names, frees the lock and finishes the task. A failed task
puts the instance back where it was: same vm_state (and flavor), no task_state, lock released.
Re-running a handler after a crash is safe: the vm_state is unchanged until the final commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from cloudlet.compute.base import ComputeDriver, DriverError, HostInfo, NoValidHost, StepContext
from cloudlet.core.db import Conn
from cloudlet.flavors import repository as flavor_repository
from cloudlet.instances import repository
from cloudlet.instances.scheduler import choose_host
from cloudlet.instances.states import ACTIONS, RESIZE_PHASES, Transition, VmState
from cloudlet.instances.steps import instance_spec
from cloudlet.instances.steps import progress_reporter
from cloudlet.servergroups import repository as servergroup_repository
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType

PowerVerb = Callable[[ComputeDriver, str, str, StepContext], Awaitable[None]]

_POWER_VERBS: dict[TaskType, PowerVerb] = {
    TaskType.START_VM: lambda d, vm, host, step: d.start(vm, host, step),
    TaskType.STOP_VM: lambda d, vm, host, step: d.stop(vm, host, step),
    TaskType.SOFT_REBOOT_VM: lambda d, vm, host, step: d.reboot(vm, host, hard=False, step=step),
    TaskType.HARD_REBOOT_VM: lambda d, vm, host, step: d.reboot(vm, host, hard=True, step=step),
    TaskType.SUSPEND_VM: lambda d, vm, host, step: d.suspend(vm, host, step),
    TaskType.RESUME_VM: lambda d, vm, host, step: d.resume(vm, host, step),
}
_TRANSITION_OF: dict[str, Transition] = {t.task_type: t for t in ACTIONS.values()}


async def _load(conn: Conn, ctx: TaskContext) -> Any:
    row = await repository.get_plain(conn, ctx.resource_id or "")
    if row is None:
        raise DriverError(f"Instance {ctx.resource_id} no longer exists")
    return row


async def _put_back(ctx: TaskContext, conn: Conn, error: str) -> None:
    """The vm_state and flavor only change in a handler's final commit, so clearing the task is enough."""
    row = await repository.get_plain(conn, ctx.resource_id or "")
    if row is not None and row.task_id == ctx.task_id:
        await repository.set_state(conn, row.id, vm_state=row.vm_state, task_state=None,
                                   release_lock_of=ctx.task_id)


async def power_action(ctx: TaskContext) -> None:
    transition = _TRANSITION_OF[ctx.task_type]
    async with ctx.db.transaction() as conn:
        row = await _load(conn, ctx)
    await _POWER_VERBS[TaskType(ctx.task_type)](ctx.driver, row.id, row.host or "", progress_reporter(ctx, row.id))
    async with ctx.db.transaction() as conn:
        await repository.set_state(conn, row.id, vm_state=transition.final_state(row.vm_state), task_state=None,
                                   release_lock_of=ctx.task_id)
        await ctx.finish(conn, resources=created_resources())


for _task_type in _POWER_VERBS:
    register(_task_type, on_error=_put_back)(power_action)


async def _resize_host(conn: Conn, hosts: list[HostInfo], row: Any, flavor: Any) -> str:
    """Stay on the instance's host if the new size fits there, else migrate where its server group allows."""
    usage = await repository.host_usage(conn)
    if row.host in usage:
        cpu, ram = usage[row.host]
        usage[row.host] = (cpu - row.vcpus, ram - row.ram)
    try:
        return choose_host([h for h in hosts if h.name == row.host], usage, vcpus=flavor.vcpus, ram=flavor.ram)
    except NoValidHost:
        policy, group_hosts = await servergroup_repository.placement_policy(conn, row)
        return choose_host(hosts, usage, vcpus=flavor.vcpus, ram=flavor.ram, policy=policy,
                           group_hosts=group_hosts)


@register(TaskType.RESIZE_VM, on_error=_put_back)
async def resize_vm(ctx: TaskContext) -> None:
    """Cold resize with auto-confirm (Gcore has no confirm/revert): a stopped instance stays stopped."""
    async with ctx.db.transaction() as conn:
        row = await _load(conn, ctx)
        flavor = await flavor_repository.get(conn, row.region_id, ctx.data["flavor_id"])
        if flavor is None:
            raise DriverError(f"Flavor {ctx.data['flavor_id']} no longer exists")
        host = await _resize_host(conn, ctx.driver.hosts(), row, flavor)
        spec = dataclasses.replace(await instance_spec(conn, row), host=host, vcpus=flavor.vcpus, ram=flavor.ram)
    step = progress_reporter(ctx, row.id)
    first, *rest = RESIZE_PHASES
    await step.progress(first)
    await ctx.driver.resize(spec, power_on=row.vm_state != VmState.STOPPED, step=step)
    for phase in rest:
        await step.progress(phase)
    async with ctx.db.transaction() as conn:
        await repository.set_state(conn, row.id, vm_state=ACTIONS["resize"].final_state(row.vm_state),
                                   task_state=None, release_lock_of=ctx.task_id, host=host,
                                   flavor_id=flavor.id, vcpus=flavor.vcpus, ram=flavor.ram)
        await ctx.finish(conn, resources=created_resources())

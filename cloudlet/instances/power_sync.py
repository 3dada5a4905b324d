"""Power-state sync: a guest that powers itself off shows SHUTOFF; one started outside cloudlet, ACTIVE.

Drivers with ``Capability.POWER_EVENTS`` report such changes (libvirt lifecycle events). Only an
instance no task holds is changed: a task's own stop or reboot causes the same events, and the task
records its outcome itself. Each event is checked against the driver's current state first, since
events arrive late (a hard reboot's "stopped" comes after the guest is already running again).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from cloudlet.compute.base import Capability, PowerState
from cloudlet.instances import repository
from cloudlet.instances.states import VmState

log = structlog.get_logger()

# what the guest did -> (the vm_state it changes, the vm_state it leads to)
_CHANGES = {
    PowerState.SHUTDOWN: (VmState.ACTIVE, VmState.STOPPED),
    PowerState.RUNNING: (VmState.STOPPED, VmState.ACTIVE),
}


class PowerSync:
    """The background watch of one process (started and stopped by the app's lifespan)."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        driver = self._runtime.driver
        if Capability.POWER_EVENTS in driver.info().capabilities and self._task is None:
            self._task = asyncio.create_task(driver.watch_power(self.on_event), name="power-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def on_event(self, instance_id: str, host: str, power_state: str) -> None:
        change = _CHANGES.get(power_state)
        if change is None:
            return
        before, after = change
        db = self._runtime.db
        async with db.read() as conn:
            row = await repository.get_plain(conn, instance_id)
        if row is None or row.task_id is not None or row.host != host or row.vm_state != before:
            return
        if await self._runtime.driver.get_state(instance_id, host) != power_state:
            return  # stale: the guest changed again since
        async with db.transaction() as conn:
            if not await repository.sync_power_state(conn, instance_id, before=before, after=after):
                return
        log.info("instance.power_synced", instance_id=instance_id, vm_state=str(after), host=host)


def start_power_sync(runtime: Any) -> PowerSync:
    """Start watching (a no-op for drivers without power events); ``await .stop()`` at shut-down."""
    sync = PowerSync(runtime)
    sync.start()
    return sync

"""The simulated driver: believable timings, real capacity, no guests.

Profiles set how long each operation takes: ``instant`` (0 s, for tests: the first SDK poll
already sees FINISHED), ``fast`` (about a second, so transitional states are observable) and
``realistic`` (Gcore's observed durations, DOC-ASYNC: create 15-30 s, delete 15-70 s).
Power state is kept in memory; after a restart a guest the database knows is taken as it says.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from cloudlet.compute import sim_metrics
from cloudlet.compute.base import (
    Capability,
    ConsoleStream,
    DriverInfo,
    GuestView,
    HostInfo,
    InstanceSpec,
    MetricsSample,
    NicSpec,
    PowerState,
    StepContext,
)
from cloudlet.compute.sim_console import SimConsole, SimConsoleStream

# seconds between two lines of a simulated boot log, per profile
CONSOLE_LINE_DELAY = {"instant": 0.0, "fast": 0.02, "realistic": 0.06}

# seconds per operation
PROFILES: dict[str, dict[str, float]] = {
    "instant": {"create": 0, "delete": 0, "power": 0, "reboot": 0, "resize": 0, "nic": 0},
    "fast": {"create": 1.2, "delete": 0.6, "power": 0.6, "reboot": 0.8, "resize": 1.2, "nic": 0.4},
    "realistic": {"create": 20, "delete": 12, "power": 6, "reboot": 10, "resize": 30, "nic": 4},
}

CREATE_PHASES = ("networking", "block_device_mapping", "spawning")

HOST_VCPUS = 64
HOST_RAM = 256 * 1024


class SimulatedDriver:
    def __init__(self, *, profile: str = "fast", host_count: int = 3) -> None:
        self.timings = PROFILES[profile]
        self.console_line_delay = CONSOLE_LINE_DELAY[profile]
        self._hosts = [HostInfo(name=f"sim-host-{i + 1}", vcpus=HOST_VCPUS, ram=HOST_RAM) for i in range(host_count)]
        self._power: dict[str, str] = {}

    def info(self) -> DriverInfo:
        return DriverInfo(
            name="simulated",
            version="1",
            capabilities=frozenset(
                {Capability.SUSPEND, Capability.RESIZE, Capability.HOT_PLUG_NIC, Capability.SERIAL_CONSOLE,
                 Capability.VNC_CONSOLE, Capability.METRICS}
            ),
        )

    def hosts(self) -> list[HostInfo]:
        return list(self._hosts)

    def waits(self, operation: str) -> bool:
        return self.timings[operation] > 0

    async def _take(self, operation: str, share: float = 1.0) -> None:
        seconds = self.timings[operation] * share
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def create(self, spec: InstanceSpec, step: StepContext) -> None:
        if self.timings["create"] > 0:
            for phase in CREATE_PHASES:
                await step.progress(phase)
                await self._take("create", 1 / len(CREATE_PHASES))
        self._power[spec.id] = PowerState.RUNNING

    async def delete(self, instance_id: str, host: str, step: StepContext) -> None:
        await self._take("delete")
        self._power.pop(instance_id, None)

    async def start(self, instance_id: str, host: str, step: StepContext) -> None:
        await self._take("power")
        self._power[instance_id] = PowerState.RUNNING

    async def stop(self, instance_id: str, host: str, step: StepContext) -> None:
        await self._take("power")
        self._power[instance_id] = PowerState.SHUTDOWN

    async def reboot(self, instance_id: str, host: str, *, hard: bool, step: StepContext) -> None:
        await self._take("reboot", 0.6 if hard else 1.0)
        self._power[instance_id] = PowerState.RUNNING

    async def suspend(self, instance_id: str, host: str, step: StepContext) -> None:
        await self._take("power")
        self._power[instance_id] = PowerState.SUSPENDED

    async def resume(self, instance_id: str, host: str, step: StepContext) -> None:
        await self._take("power")
        self._power[instance_id] = PowerState.RUNNING

    async def resize(self, spec: InstanceSpec, *, power_on: bool, step: StepContext) -> None:
        await self._take("resize")
        self._power[spec.id] = PowerState.RUNNING if power_on else PowerState.SHUTDOWN

    async def attach_interface(self, instance_id: str, host: str, nic: NicSpec, step: StepContext) -> None:
        await self._take("nic")

    async def detach_interface(self, instance_id: str, host: str, port_id: str, step: StepContext) -> None:
        await self._take("nic")

    async def get_state(self, instance_id: str, host: str) -> str:
        return self._power.get(instance_id, PowerState.NOSTATE)

    async def open_console(self, guest: GuestView, console_type: str) -> ConsoleStream:
        """Every console type shows the same text console: a simulated guest has no framebuffer."""
        return SimConsoleStream(SimConsole(guest), line_delay=self.console_line_delay)

    async def metrics(self, guest: GuestView, start: dt.datetime, end: dt.datetime,
                      step: int) -> list[MetricsSample]:
        return sim_metrics.series(guest, start, end, step)

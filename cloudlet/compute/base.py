"""The compute driver protocol: what cloudlet asks of a hypervisor, and nothing more.

A driver receives plain data (``InstanceSpec``) and a ``StepContext``; it never sees a database
session or a table row, and it raises only ``DriverError`` subclasses. Verbs are idempotent where
a resumed task may call them twice: ``create`` of an existing guest and ``delete`` of a missing
one both succeed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = [
    "Capability", "ComputeDriver", "ConsoleStream", "DiskSample", "DiskSpec", "DriverConflict", "DriverError",
    "DriverInfo", "DriverNotFound", "DriverTimeout", "DriverUnavailable", "FramebufferDriver", "FramebufferStream",
    "GuestDisk", "GuestNic", "GuestView", "HostInfo", "InstanceSpec", "MetricsSample", "NicSpec", "NoValidHost",
    "PowerCallback", "PowerSpan", "PowerState", "PowerWatchingDriver", "StepContext",
]


class Capability:
    """Names of optional features; callers test these, never the driver's type."""

    SUSPEND = "suspend"
    RESIZE = "resize"
    HOT_PLUG_NIC = "hot_plug_nic"
    SERIAL_CONSOLE = "serial_console"
    VNC_CONSOLE = "vnc_console"
    METRICS = "metrics"
    # the VNC console is a real framebuffer (RFB bytes for noVNC via ``open_framebuffer``), not a text console
    VNC_FRAMEBUFFER = "vnc_framebuffer"
    # the driver reports power changes the guest makes itself (``watch_power``)
    POWER_EVENTS = "power_events"


class PowerState:
    RUNNING = "running"
    SHUTDOWN = "shutdown"
    SUSPENDED = "suspended"
    NOSTATE = "nostate"


@dataclasses.dataclass(frozen=True, slots=True)
class DriverInfo:
    name: str
    version: str
    capabilities: frozenset[str]


@dataclasses.dataclass(frozen=True, slots=True)
class HostInfo:
    name: str
    vcpus: int
    ram: int  # MiB


@dataclasses.dataclass(frozen=True, slots=True)
class DiskSpec:
    volume_id: str
    size: int  # GiB
    boot_index: int | None
    image_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class NicSpec:
    port_id: str
    mac_address: str
    network_id: str
    ip_addresses: tuple[str, ...]
    # the IPv4 subnet of the first IPv4 address ("10.0.0.0/24") and its gateway, for drivers that run
    # the network's DHCP; None when the caller does not say (a driver may then assume a /24)
    cidr: str | None = None
    gateway_ip: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class InstanceSpec:
    id: str
    name: str
    host: str
    vcpus: int
    ram: int
    os_type: str
    disks: tuple[DiskSpec, ...] = ()
    nics: tuple[NicSpec, ...] = ()
    ssh_public_key: str | None = None
    user_data: str | None = None
    password: str | None = None
    username: str | None = None


ProgressFn = Callable[[str], Awaitable[None]]


async def _no_progress(_: str) -> None:
    return None


@dataclasses.dataclass(slots=True)
class StepContext:
    """What a driver call may use besides its arguments: a way to report the Nova task_state it is in."""

    progress: ProgressFn = _no_progress


@dataclasses.dataclass(frozen=True, slots=True)
class GuestNic:
    name: str  # the guest's interface name, e.g. "ens3"
    mac_address: str
    addresses: tuple[str, ...]  # "ip/prefixlen"


@dataclasses.dataclass(frozen=True, slots=True)
class GuestDisk:
    name: str  # the attachment slot, e.g. "vda"
    size: int  # GiB


@dataclasses.dataclass(frozen=True, slots=True)
class PowerSpan:
    """A stretch of time during which the guest ran; ``end`` None: it still runs."""

    start: dt.datetime
    end: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class GuestView:
    """What cloudlet knows about a guest, for console and metrics calls.

    A real driver needs only ``id`` and ``host``; the simulated one builds its console and its
    load curves from the rest, so what it shows agrees with the API (names, addresses, power history).
    """

    id: str
    name: str
    host: str
    vcpus: int
    ram: int  # MiB
    flavor_id: str
    os_type: str
    os_distro: str | None
    os_version: str | None
    vm_state: str
    created_at: dt.datetime
    running: tuple[PowerSpan, ...] = ()
    nics: tuple[GuestNic, ...] = ()
    disks: tuple[GuestDisk, ...] = ()
    ssh_key_name: str | None = None

    @property
    def booted_at(self) -> dt.datetime | None:
        """When the guest last booted, if it runs now."""
        if self.running and self.running[-1].end is None:
            return self.running[-1].start
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class DiskSample:
    name: str
    bytes_read: float  # per second
    bytes_written: float
    iops_read: float
    iops_write: float


@dataclasses.dataclass(frozen=True, slots=True)
class MetricsSample:
    """One point of a guest's load; rates are per second, network in bytes."""

    time: dt.datetime
    cpu_util: float | None  # % of all vCPUs (max 100)
    memory_util: float | None  # %
    network_bytes_in: float | None
    network_bytes_out: float | None
    network_packets_in: float | None
    network_packets_out: float | None
    disks: tuple[DiskSample, ...] = ()


class ConsoleStream(Protocol):
    """A guest's console as a text stream: what it prints, and what is typed into it."""

    async def read(self) -> str:
        """The next output; "" once the console has closed."""
        ...

    async def write(self, data: str) -> None: ...

    async def close(self) -> None: ...


class FramebufferStream(Protocol):
    """A guest's graphical console as raw RFB (VNC) bytes, for a noVNC client (``Capability.VNC_FRAMEBUFFER``)."""

    async def read(self) -> bytes:
        """The next bytes from the VNC server; b"" once it has closed."""
        ...

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


PowerCallback = Callable[[str, str, str], Awaitable[None]]
"""``(instance_id, host, power_state)``: a guest changed its power state by itself (``watch_power``)."""


class DriverError(Exception):
    """A driver operation failed; the message is shown to the user as the task's ``error``."""


class DriverNotFound(DriverError):
    """The guest does not exist on the host."""


class DriverUnavailable(DriverError):
    """The hypervisor cannot be reached or cannot do this now."""


class DriverConflict(DriverError):
    """The guest is not in a state that allows this operation (e.g. it is not running)."""


class DriverTimeout(DriverError):
    """The operation did not finish in time."""


class NoValidHost(DriverError):
    """No host can take the instance (capacity or placement policy)."""


class ComputeDriver(Protocol):
    def info(self) -> DriverInfo: ...

    def hosts(self) -> list[HostInfo]: ...

    def waits(self, operation: str) -> bool:
        """Whether ``operation`` (``create``, ``delete``, ...) may wait on a hypervisor. A task handler holds
        no transaction while one that waits runs; one that does not may run inside its transaction."""
        ...

    async def create(self, spec: InstanceSpec, step: StepContext) -> None: ...

    async def delete(self, instance_id: str, host: str, step: StepContext) -> None: ...

    async def start(self, instance_id: str, host: str, step: StepContext) -> None: ...

    async def stop(self, instance_id: str, host: str, step: StepContext) -> None: ...

    async def reboot(self, instance_id: str, host: str, *, hard: bool, step: StepContext) -> None: ...

    async def suspend(self, instance_id: str, host: str, step: StepContext) -> None: ...

    async def resume(self, instance_id: str, host: str, step: StepContext) -> None: ...

    async def resize(self, spec: InstanceSpec, *, power_on: bool, step: StepContext) -> None: ...

    async def attach_interface(self, instance_id: str, host: str, nic: NicSpec, step: StepContext) -> None: ...

    async def detach_interface(self, instance_id: str, host: str, port_id: str, step: StepContext) -> None: ...

    async def get_state(self, instance_id: str, host: str) -> str: ...

    async def open_console(self, guest: GuestView, console_type: str) -> ConsoleStream:
        """Attach to the guest's console (``Capability.SERIAL_CONSOLE`` / ``VNC_CONSOLE``)."""
        ...

    async def metrics(self, guest: GuestView, start: dt.datetime, end: dt.datetime,
                      step: int) -> list[MetricsSample]:
        """Samples every ``step`` seconds in (start, end], oldest first (``Capability.METRICS``)."""
        ...


class FramebufferDriver(ComputeDriver, Protocol):
    """Optional: a driver with ``Capability.VNC_FRAMEBUFFER``."""

    async def open_framebuffer(self, guest: GuestView) -> FramebufferStream:
        """Attach to the guest's VNC server; raises ``DriverError`` if it has none."""
        ...


class PowerWatchingDriver(ComputeDriver, Protocol):
    """Optional: a driver with ``Capability.POWER_EVENTS``."""

    async def watch_power(self, callback: PowerCallback) -> None:
        """Call ``callback`` for each power change a guest makes by itself, until cancelled."""
        ...

    def close(self) -> None:
        """Release connections and threads (the process is stopping)."""
        ...

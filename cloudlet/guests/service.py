"""Build a ``GuestView`` of an instance: its flavor, image, NICs, disks and power history."""

from __future__ import annotations

import datetime as dt
import ipaddress

from cloudlet.compute.base import GuestDisk, GuestNic, GuestView, PowerSpan
from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.guests import repository
from cloudlet.instances import service as instance_service
from cloudlet.networks import repository as network_repository
from cloudlet.tasks.types import TaskType
from cloudlet.volumes import repository as volume_repository

RUNNING_STATES = frozenset({"active", "resized", "rescued"})
_BOOTS = {TaskType.CREATE_VM, TaskType.START_VM, TaskType.RESUME_VM, TaskType.HARD_REBOOT_VM}
_REBOOTS = {TaskType.SOFT_REBOOT_VM, TaskType.RESIZE_VM}  # a new boot only if the guest was running
_HALTS = {TaskType.STOP_VM, TaskType.SUSPEND_VM}


def power_spans(*, created_at: dt.datetime, vm_state: str, updated_at: dt.datetime,
                events: list[tuple[dt.datetime, str]]) -> tuple[PowerSpan, ...]:
    """When the guest ran, from its finished power tasks (oldest first), reconciled with its state now.

    Tasks older than the retention period are gone: a history that starts with a stop or a reboot
    means the guest ran from its creation; with no history at all the current state is taken to
    have held since creation (running) or since the last update (not running).
    """
    running_now = vm_state in RUNNING_STATES
    if not events:
        if running_now:
            return (PowerSpan(created_at),)
        if vm_state == "building" or updated_at <= created_at:
            return ()
        return (PowerSpan(created_at, updated_at),)
    spans: list[PowerSpan] = []
    first = events[0][1]
    booted: dt.datetime | None = None if first in (TaskType.CREATE_VM, TaskType.START_VM, TaskType.RESUME_VM) \
        else created_at
    for at, kind in events:
        if kind in _BOOTS or (kind in _REBOOTS and booted is not None):
            if booted is not None:
                spans.append(PowerSpan(booted, at))
            booted = at
        elif kind in _HALTS and booted is not None:
            spans.append(PowerSpan(booted, at))
            booted = None
    if booted is not None:
        spans.append(PowerSpan(booted) if running_now else PowerSpan(booted, max(booted, updated_at)))
    elif running_now:
        spans.append(PowerSpan(max(updated_at, events[-1][0])))
    return tuple(s for s in spans if s.end is None or s.end > s.start)


async def load(conn: Conn, scope: Scope, instance_id: str) -> GuestView:
    """The guest behind an instance of the scope (404 if there is none)."""
    row = await instance_service.get_instance_row(conn, scope, instance_id)
    volumes = await volume_repository.attached_to(conn, [row.id])
    boot = next((v for v in volumes if v.boot_index == 0), volumes[0] if volumes else None)
    image = (boot.image_metadata or {}) if boot is not None else {}
    ports = await network_repository.ports_of_instance(conn, row.id)
    allocations = await network_repository.allocations_of_ports(conn, [p.id for p in ports])
    prefix = {s.id: ipaddress.ip_network(s.cidr).prefixlen
              for subnets in (await network_repository.subnets_of_networks(
                  conn, sorted({p.network_id for p in ports}))).values()
              for s in subnets}
    nics = tuple(
        GuestNic(name=f"ens{3 + n}", mac_address=p.mac_address,
                 addresses=tuple(f"{a.ip_address}/{prefix.get(a.subnet_id, 32 if a.ip_version == 4 else 128)}"
                                 for a in allocations.get(p.id, [])))
        for n, p in enumerate(ports)
    )
    disks = tuple(GuestDisk(name=(v.device or f"vd{chr(ord('a') + n)}").rsplit("/", 1)[-1], size=v.size)
                  for n, v in enumerate(sorted(volumes, key=lambda v: v.device or "")))
    events = await repository.power_events(conn, scope, row.id, [*_BOOTS, *_REBOOTS, *_HALTS])
    return GuestView(
        id=row.id, name=row.name, host=row.host or "", vcpus=row.vcpus, ram=row.ram, flavor_id=row.flavor_id,
        os_type=row.os_type, os_distro=image.get("os_distro"), os_version=image.get("os_version"),
        vm_state=row.vm_state, created_at=row.created_at,
        running=power_spans(created_at=row.created_at, vm_state=row.vm_state, updated_at=row.updated_at,
                            events=events),
        nics=nics, disks=disks, ssh_key_name=row.ssh_key_name,
    )

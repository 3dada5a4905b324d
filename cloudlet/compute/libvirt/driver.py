"""``LibvirtDriver``: every ComputeDriver verb on real QEMU guests, through libvirt.

One libvirt connection per host (``CLOUDLET_LIBVIRT_URI``: ``qemu:///system``, ``qemu+ssh://host/system``,
``qemu:///system?socket=/path``); libvirt's own remote protocol reaches remote hosts. Blocking libvirt
calls run in threads (``asyncio.to_thread``) and their errors become ``DriverError``s at this boundary
(``errors.libvirt_errors``). Guests always run under TCG (``type='qemu'``), with RAM and vCPUs capped
by ``max_guest_ram_mib``/``max_guest_vcpus`` while the API reports the flavor.

Verbs are idempotent: a task resumed after a crash may call them again. A spawn that fails removes
what it made (domain, disks, config drive, DHCP entries) before raising.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import structlog

from cloudlet.compute.base import (
    Capability,
    ConsoleStream,
    DriverConflict,
    DriverError,
    DriverInfo,
    DriverNotFound,
    DriverUnavailable,
    FramebufferStream,
    GuestView,
    HostInfo,
    InstanceSpec,
    MetricsSample,
    NicSpec,
    PowerCallback,
    PowerState,
    StepContext,
)
from cloudlet.compute.libvirt import config_drive, image_store, networks
from cloudlet.compute.libvirt.connection import HostConnection, import_libvirt, start_event_loop
from cloudlet.compute.libvirt.console import SerialConsole, VncConsole, log_tail
from cloudlet.compute.libvirt.domain_xml import (
    DiskPlan,
    DomainPlan,
    NicPlan,
    disk_sources,
    domain_name,
    domain_xml,
    guest_hostname,
    instance_id_of,
    interface_xml,
    nics_of,
    resized_xml,
)
from cloudlet.compute.libvirt.errors import libvirt_errors
from cloudlet.compute.libvirt.stats import History, Snapshot, series, snapshot_from_stats
from cloudlet.compute.libvirt.storage import HostStorage, config_volume, console_log_volume, volume_name

__all__ = ["LibvirtDriver", "LibvirtOptions"]

log = structlog.get_logger()
T = TypeVar("T")

DEFAULT_CMDLINE = "console=ttyS0 panic=-1 quiet"
DETACH_WAIT_SECONDS = 15.0


@dataclasses.dataclass(frozen=True, slots=True)
class LibvirtOptions:
    uris: tuple[str, ...]
    image_dir: Path  # cloudlet's image store, on this machine
    instance_dir: Path  # the "cloudlet" storage pool's directory on every host
    max_guest_ram_mib: int = 256
    max_guest_vcpus: int = 1
    shutdown_timeout: float = 30.0  # seconds of ACPI power button before a forced power-off
    stats_interval: float = 15.0  # seconds between metric samples of every running guest (0: only on request)
    # capacity reported to the scheduler, in flavor units (Nova's default allocation ratios)
    cpu_allocation_ratio: float = 16.0
    ram_allocation_ratio: float = 1.5


class LibvirtDriver:
    """The libvirt compute driver; constructing it connects to every host (or raises ``DriverUnavailable``)."""

    def __init__(self, options: LibvirtOptions) -> None:
        if not options.uris:
            raise DriverUnavailable("CLOUDLET_DRIVER=libvirt needs CLOUDLET_LIBVIRT_URI (e.g. qemu:///system)")
        self.options = dataclasses.replace(options, image_dir=options.image_dir.resolve(),
                                           instance_dir=options.instance_dir.resolve())
        self._lv = import_libvirt()
        start_event_loop(self._lv)
        self._hosts: dict[str, HostConnection] = {}
        for uri in options.uris:
            try:
                host = HostConnection(self._lv, uri, self._on_lifecycle)
            except self._lv.libvirtError as exc:
                raise DriverUnavailable(f"Cannot use libvirt at {uri}: {exc.get_error_message()}") from exc
            n = 2
            while host.name in self._hosts:  # two URIs reaching machines with one hostname
                host.name = f"{host.hostname}-{n}"
                n += 1
            self._hosts[host.name] = host
        version = next(iter(self._hosts.values())).lib_version
        self._version = f"{version // 1_000_000}.{version // 1000 % 1000}.{version % 1000}"
        self._watchers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[tuple[str, str, str]]]] = []
        self._history = History()
        self._network_locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._closing = threading.Event()
        if options.stats_interval > 0:
            threading.Thread(target=self._sample_forever, name="libvirt-stats", daemon=True).start()

    # --- plumbing -------------------------------------------------------------------------

    def _host(self, host: str) -> HostConnection:
        try:
            return self._hosts[host]
        except KeyError:
            raise DriverNotFound(f"Host {host!r} is not one of this driver's libvirt hosts "
                                 f"({', '.join(self._hosts)}); check CLOUDLET_LIBVIRT_URI") from None

    async def _run(self, host: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on the host's shared connection, in a thread, with libvirt errors translated."""
        hc = self._host(host)

        def call() -> T:
            with libvirt_errors(host):
                return fn(hc.get(), *args)

        return await asyncio.to_thread(call)

    def _storage(self, conn: Any, host: str) -> HostStorage:
        return HostStorage(self._lv, conn, host, str(self.options.instance_dir))

    def _domain(self, conn: Any, instance_id: str) -> Any | None:
        try:
            return conn.lookupByName(domain_name(instance_id))
        except self._lv.libvirtError as exc:
            if exc.get_error_code() == self._lv.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def _require(self, conn: Any, instance_id: str, host: str) -> Any:
        dom = self._domain(conn, instance_id)
        if dom is None:
            raise DriverNotFound(f"Instance {instance_id} has no guest on {host}")
        return dom

    def _network_lock(self, host: str, network: str) -> threading.Lock:
        with self._locks_guard:
            return self._network_locks.setdefault((host, network), threading.Lock())

    def _is_local(self, host: str) -> bool:
        return urlparse(self._host(host).uri).hostname in (None, "", "localhost")

    # --- what the driver is ---------------------------------------------------------------

    def info(self) -> DriverInfo:
        return DriverInfo(
            name="libvirt", version=self._version,
            capabilities=frozenset({
                Capability.SUSPEND, Capability.RESIZE, Capability.HOT_PLUG_NIC, Capability.SERIAL_CONSOLE,
                Capability.VNC_CONSOLE, Capability.VNC_FRAMEBUFFER, Capability.METRICS, Capability.POWER_EVENTS,
            }),
        )

    def hosts(self) -> list[HostInfo]:
        return [h.host_info(cpu_ratio=self.options.cpu_allocation_ratio, ram_ratio=self.options.ram_allocation_ratio)
                for h in self._hosts.values()]

    def waits(self, operation: str) -> bool:
        return True  # every operation talks to a libvirtd

    def close(self) -> None:
        self._closing.set()
        for host in self._hosts.values():
            host.close()

    # --- networks -------------------------------------------------------------------------

    def _ensure_network(self, conn: Any, host: str, nic: NicSpec) -> str:
        """The NIC's libvirt network, running, with the NIC's static DHCP entry; returns its name."""
        lv = self._lv
        plan = networks.plan_for(nic)
        name = networks.network_name(nic.network_id)
        flags = lv.VIR_NETWORK_UPDATE_AFFECT_LIVE | lv.VIR_NETWORK_UPDATE_AFFECT_CONFIG
        with self._network_lock(host, name):
            try:
                net = conn.networkLookupByName(name)
            except lv.libvirtError as exc:
                if exc.get_error_code() != lv.VIR_ERR_NO_NETWORK:
                    raise
                net = conn.networkDefineXML(networks.network_xml(plan))
                net.setAutostart(1)
                net.create()
                return name
            if not net.isActive():
                net.create()
            if plan.ip_address is None:
                return name
            hosts = networks.dhcp_hosts(net.XMLDesc(0))
            entry = networks.dhcp_host_xml(plan.mac_address, plan.ip_address)
            if hosts.get(plan.mac_address) == plan.ip_address:
                return name
            if plan.mac_address in hosts:
                net.update(lv.VIR_NETWORK_UPDATE_COMMAND_MODIFY, lv.VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, entry,
                           flags)
            elif hosts:
                net.update(lv.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, lv.VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, entry,
                           flags)
            else:  # a network without DHCP entries serves nobody: make it anew with this one
                net.destroy()
                net.undefine()
                net = conn.networkDefineXML(networks.network_xml(plan))
                net.setAutostart(1)
                net.create()
        return name

    def _forget_dhcp(self, conn: Any, host: str, network: str | None, mac: str) -> None:
        """Remove a port's DHCP entry; a network left with none is removed (no guest uses it)."""
        if not network:
            return
        lv = self._lv
        with self._network_lock(host, network):
            try:
                net = conn.networkLookupByName(network)
            except lv.libvirtError as exc:
                if exc.get_error_code() == lv.VIR_ERR_NO_NETWORK:
                    return
                raise
            hosts = networks.dhcp_hosts(net.XMLDesc(0))
            if mac not in hosts:
                return
            if len(hosts) == 1:
                if net.isActive():
                    net.destroy()
                net.undefine()
                return
            flags = lv.VIR_NETWORK_UPDATE_AFFECT_CONFIG | (lv.VIR_NETWORK_UPDATE_AFFECT_LIVE if net.isActive() else 0)
            net.update(lv.VIR_NETWORK_UPDATE_COMMAND_DELETE, lv.VIR_NETWORK_SECTION_IP_DHCP_HOST, -1,
                       networks.dhcp_host_xml(mac, hosts[mac]), flags)

    def _activate_networks(self, conn: Any, dom: Any) -> None:
        for nic in nics_of(dom.XMLDesc(self._lv.VIR_DOMAIN_XML_INACTIVE)):
            if nic.network:
                try:
                    net = conn.networkLookupByName(nic.network)
                except self._lv.libvirtError:
                    continue  # libvirt's own error on start names it
                if not net.isActive():
                    net.create()

    # --- create / delete ------------------------------------------------------------------

    def _images_of(self, spec: InstanceSpec) -> dict[str, image_store.ImageFiles]:
        """The stored files of every image the spec's disks come from; a missing one stops the spawn here."""
        found = {}
        for disk in spec.disks:
            if disk.image_id and disk.image_id not in found:
                files = image_store.find(self.options.image_dir, disk.image_id)
                if files is None:
                    raise DriverError(
                        f"Image {disk.image_id} has no disk file in the image store "
                        f"({self.options.image_dir / (disk.image_id + '.qcow2')}): register it with "
                        f"`cloudlet images register --file ...` (or `cloudlet images build-tiny`)")
                found[disk.image_id] = files
        return found

    def _prepare_disks(self, conn: Any, host: str, spec: InstanceSpec,
                       images: dict[str, image_store.ImageFiles]) -> tuple[list[DiskPlan], dict[str, str]]:
        """Upload images, make each volume's disk and the config drive; returns the disks and the boot image's files."""
        storage = self._storage(conn, host)
        on_host = {image_id: storage.ensure_image(files) for image_id, files in images.items()}
        ordered = sorted(spec.disks, key=lambda d: (d.boot_index is None, d.boot_index or 0))
        plans = []
        for n, disk in enumerate(ordered):
            backing = on_host[disk.image_id]["disk"] if disk.image_id else None
            path = storage.ensure_disk(volume_name(disk.volume_id), disk.size, backing)
            plans.append(DiskPlan(path=path, target=f"vd{chr(ord('a') + n)}", serial=disk.volume_id))
        iso = config_drive.build_iso(config_drive.config_files(spec))
        path = storage.put_file(config_volume(spec.id), iso)
        plans.append(DiskPlan(path=path, target=f"vd{chr(ord('a') + len(ordered))}", format="raw", readonly=True,
                              serial="config-drive"))
        boot = ordered[0].image_id if ordered and ordered[0].image_id else None
        return plans, (on_host[boot] if boot else {})

    def _plan(self, spec: InstanceSpec, disks: list[DiskPlan], boot: dict[str, str], nets: dict[str, str],
              boot_files: image_store.ImageFiles | None) -> DomainPlan:
        kernel = boot.get("kernel")
        cmdline = None
        if kernel:
            base = boot_files.cmdline if boot_files is not None and boot_files.cmdline else DEFAULT_CMDLINE
            cmdline = f"{base} cloudlet.hostname={guest_hostname(spec.name)}"
        return DomainPlan(
            instance_id=spec.id, title=spec.name,
            memory_mib=min(spec.ram, self.options.max_guest_ram_mib), vcpus=min(spec.vcpus, self.options.max_guest_vcpus),
            flavor_ram=spec.ram, flavor_vcpus=spec.vcpus, disks=tuple(disks),
            nics=tuple(NicPlan(port_id=n.port_id, mac_address=n.mac_address, network=nets[n.port_id])
                       for n in spec.nics),
            console_log=str(self.options.instance_dir / console_log_volume(spec.id)),
            kernel=kernel, initrd=boot.get("initrd"), cmdline=cmdline,
        )

    def _running(self, conn: Any, instance_id: str) -> bool:
        dom = self._domain(conn, instance_id)
        return dom is not None and bool(dom.isActive())

    async def create(self, spec: InstanceSpec, step: StepContext) -> None:
        host = spec.host
        if await self._run(host, self._running, spec.id):
            return  # a resumed task: the guest already runs
        images = self._images_of(spec)  # before anything is made: a missing image leaves nothing behind
        try:
            await step.progress("networking")
            nets = {}
            for nic in spec.nics:
                nets[nic.port_id] = await self._run(host, self._ensure_network, host, nic)
            await step.progress("block_device_mapping")
            disks, boot = await self._run(host, self._prepare_disks, host, spec, images)
            await step.progress("spawning")
            boot_image = next((d.image_id for d in sorted(spec.disks, key=lambda d: (d.boot_index is None,
                                                                                      d.boot_index or 0))), None)
            plan = self._plan(spec, disks, boot, nets, images.get(boot_image or ""))
            await self._run(host, self._define_and_start, plan)
        except BaseException as exc:
            log.warning("libvirt.spawn_failed", instance_id=spec.id, host=host, error=str(exc))
            try:
                await self._run(host, self._destroy_all, host, spec.id,
                                [volume_name(d.volume_id) for d in spec.disks],
                                [(networks.network_name(n.network_id), n.mac_address.lower()) for n in spec.nics])
            except DriverError as cleanup:
                log.warning("libvirt.spawn_cleanup_failed", instance_id=spec.id, host=host, error=str(cleanup))
            raise

    def _define_and_start(self, conn: Any, plan: DomainPlan) -> None:
        dom = conn.defineXML(domain_xml(plan))
        if not dom.isActive():
            dom.create()

    def _destroy_all(self, conn: Any, host: str, instance_id: str, volumes: list[str],
                     nics: list[tuple[str, str]]) -> None:
        """Remove the guest and everything cloudlet made for it on the host; what is already gone is skipped."""
        lv = self._lv
        storage = self._storage(conn, host)
        names = [*volumes, config_volume(instance_id), console_log_volume(instance_id)]
        found_nics = list(nics)
        dom = self._domain(conn, instance_id)
        if dom is not None:
            xml = dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)
            names += storage.names_at(disk_sources(xml))
            found_nics += [(n.network or "", n.mac_address) for n in nics_of(xml)]
            if dom.isActive():
                dom.destroy()
            dom.undefineFlags(lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        for network, mac in dict.fromkeys(found_nics):
            self._forget_dhcp(conn, host, network, mac)
        storage.delete(list(dict.fromkeys(names)), refresh=True)
        self._history.forget(instance_id)

    async def delete(self, instance_id: str, host: str, step: StepContext) -> None:
        await self._run(host, self._destroy_all, host, instance_id, [], [])

    # --- power ----------------------------------------------------------------------------

    def _shutdown(self, dom: Any) -> None:
        """ACPI power button, then a forced power-off after ``shutdown_timeout``."""
        lv = self._lv
        if not dom.isActive():
            return
        try:
            dom.shutdownFlags(lv.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
        except lv.libvirtError as exc:
            if exc.get_error_code() != lv.VIR_ERR_OPERATION_INVALID:  # it stopped meanwhile
                raise
        deadline = time.monotonic() + self.options.shutdown_timeout
        while time.monotonic() < deadline:
            if not dom.isActive():
                return
            time.sleep(0.2)
        log.info("libvirt.forced_power_off", domain=dom.name(), after_seconds=self.options.shutdown_timeout)
        try:
            dom.destroy()
        except lv.libvirtError as exc:
            if exc.get_error_code() != lv.VIR_ERR_OPERATION_INVALID:
                raise

    def _start(self, conn: Any, instance_id: str, host: str) -> None:
        dom = self._require(conn, instance_id, host)
        if dom.isActive():
            if dom.state()[0] == self._lv.VIR_DOMAIN_PAUSED:
                dom.resume()
            return
        self._activate_networks(conn, dom)
        dom.create()  # restores a managed save if there is one

    def _stop(self, conn: Any, instance_id: str, host: str) -> None:
        self._shutdown(self._require(conn, instance_id, host))

    def _soft_reboot(self, conn: Any, instance_id: str, host: str) -> None:
        dom = self._require(conn, instance_id, host)
        if not dom.isActive():
            raise DriverConflict(f"Instance {instance_id} is not running, so it cannot reboot; start it")
        dom.reboot(self._lv.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)

    def _hard_reboot(self, conn: Any, instance_id: str, host: str) -> None:
        # destroy + start: a reset under TCG takes longer than a cold boot (5-11 s against 3 s)
        dom = self._require(conn, instance_id, host)
        if dom.hasManagedSaveImage(0):
            dom.managedSaveRemove(0)
        if dom.isActive():
            dom.destroy()
        self._activate_networks(conn, dom)
        dom.create()

    def _suspend(self, conn: Any, instance_id: str, host: str) -> None:
        dom = self._require(conn, instance_id, host)
        if not dom.isActive():
            if dom.hasManagedSaveImage(0):
                return
            raise DriverConflict(f"Instance {instance_id} is not running, so it cannot be suspended")
        dom.managedSave(0)

    async def start(self, instance_id: str, host: str, step: StepContext) -> None:
        await self._run(host, self._start, instance_id, host)

    async def stop(self, instance_id: str, host: str, step: StepContext) -> None:
        await self._run(host, self._stop, instance_id, host)

    async def reboot(self, instance_id: str, host: str, *, hard: bool, step: StepContext) -> None:
        await self._run(host, self._hard_reboot if hard else self._soft_reboot, instance_id, host)

    async def suspend(self, instance_id: str, host: str, step: StepContext) -> None:
        await self._run(host, self._suspend, instance_id, host)

    async def resume(self, instance_id: str, host: str, step: StepContext) -> None:
        await self._run(host, self._start, instance_id, host)

    def _resize(self, conn: Any, spec: InstanceSpec, power_on: bool) -> None:
        dom = self._require(conn, spec.id, spec.host)
        self._shutdown(dom)
        xml = resized_xml(dom.XMLDesc(self._lv.VIR_DOMAIN_XML_INACTIVE),
                          memory_mib=min(spec.ram, self.options.max_guest_ram_mib),
                          vcpus=min(spec.vcpus, self.options.max_guest_vcpus),
                          flavor_ram=spec.ram, flavor_vcpus=spec.vcpus)
        dom = conn.defineXML(xml)
        if power_on:
            self._activate_networks(conn, dom)
            dom.create()

    async def resize(self, spec: InstanceSpec, *, power_on: bool, step: StepContext) -> None:
        """Cold resize on the guest's host: stop, new vCPUs/RAM in the config, start again if it ran."""
        for name in self._hosts:
            if name != spec.host and await self._run(name, self._domain, spec.id) is not None:
                raise DriverUnavailable(f"Instance {spec.id} runs on {name}, not {spec.host}: moving a guest "
                                        f"between libvirt hosts (cold migration) is not supported")
        await self._run(spec.host, self._resize, spec, power_on)

    async def get_state(self, instance_id: str, host: str) -> str:
        def state(conn: Any) -> str:
            lv = self._lv
            dom = self._domain(conn, instance_id)
            if dom is None:
                return PowerState.NOSTATE
            code = dom.state()[0]
            if code in (lv.VIR_DOMAIN_RUNNING, lv.VIR_DOMAIN_BLOCKED, lv.VIR_DOMAIN_PAUSED):
                return PowerState.RUNNING
            if code == lv.VIR_DOMAIN_PMSUSPENDED or (code == lv.VIR_DOMAIN_SHUTOFF and dom.hasManagedSaveImage(0)):
                return PowerState.SUSPENDED
            if code in (lv.VIR_DOMAIN_SHUTOFF, lv.VIR_DOMAIN_SHUTDOWN, lv.VIR_DOMAIN_CRASHED):
                return PowerState.SHUTDOWN
            return PowerState.NOSTATE

        return await self._run(host, state)

    # --- NICs -----------------------------------------------------------------------------

    def _attach(self, conn: Any, host: str, instance_id: str, nic: NicSpec) -> None:
        lv = self._lv
        dom = self._require(conn, instance_id, host)
        network = self._ensure_network(conn, host, nic)
        live = bool(dom.isActive())
        configured = any(n.port_id == nic.port_id for n in nics_of(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)))
        plugged = live and any(n.port_id == nic.port_id for n in nics_of(dom.XMLDesc(0)))
        device = interface_xml(NicPlan(port_id=nic.port_id, mac_address=nic.mac_address, network=network))
        if live and not plugged:
            dom.attachDeviceFlags(device, lv.VIR_DOMAIN_AFFECT_LIVE)
        if not configured:
            dom.attachDeviceFlags(device, lv.VIR_DOMAIN_AFFECT_CONFIG)

    def _detach(self, conn: Any, host: str, instance_id: str, port_id: str) -> None:
        lv = self._lv
        dom = self._require(conn, instance_id, host)
        configured = [n for n in nics_of(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)) if n.port_id == port_id]
        plugged = [n for n in nics_of(dom.XMLDesc(0)) if n.port_id == port_id] if dom.isActive() else []
        if plugged:
            dom.detachDeviceFlags(plugged[0].xml, lv.VIR_DOMAIN_AFFECT_LIVE)
            # the guest releases the device asynchronously (DEVICE_REMOVED); wait so the task means "gone"
            deadline = time.monotonic() + DETACH_WAIT_SECONDS
            while any(n.port_id == port_id for n in nics_of(dom.XMLDesc(0))):
                if time.monotonic() > deadline:
                    raise DriverError(f"The guest of instance {instance_id} did not release the NIC of port "
                                      f"{port_id} within {DETACH_WAIT_SECONDS:.0f} s")
                time.sleep(0.2)
        if configured:
            dom.detachDeviceFlags(configured[0].xml, lv.VIR_DOMAIN_AFFECT_CONFIG)
        for nic in configured or plugged:
            self._forget_dhcp(conn, host, nic.network, nic.mac_address)

    async def attach_interface(self, instance_id: str, host: str, nic: NicSpec, step: StepContext) -> None:
        await self._run(host, self._attach, host, instance_id, nic)

    async def detach_interface(self, instance_id: str, host: str, port_id: str, step: StepContext) -> None:
        await self._run(host, self._detach, host, instance_id, port_id)

    # --- consoles -------------------------------------------------------------------------

    async def open_console(self, guest: GuestView, console_type: str) -> ConsoleStream:
        """The serial console (every type: the VNC framebuffer is ``open_framebuffer``)."""
        hc = self._host(guest.host)
        loop = asyncio.get_running_loop()
        replay_path = self.options.instance_dir / console_log_volume(guest.id) if self._is_local(guest.host) else None

        def attach() -> SerialConsole:
            with libvirt_errors(guest.host):
                conn = hc.open_new()
                try:
                    dom = self._require(conn, guest.id, guest.host)
                    if not dom.isActive():
                        raise DriverConflict(f"Instance {guest.id} is not running: its console opens while it runs")
                    replay = log_tail(replay_path) if replay_path is not None else b""
                    return SerialConsole(self._lv, conn, dom, loop, replay)
                except BaseException:
                    conn.close()
                    raise

        return await asyncio.to_thread(attach)

    async def open_framebuffer(self, guest: GuestView) -> FramebufferStream:
        dom = await self._run(guest.host, self._require, guest.id, guest.host)
        if not await asyncio.to_thread(dom.isActive):
            raise DriverConflict(f"Instance {guest.id} is not running: its console opens while it runs")
        return await VncConsole.open(self._lv, dom, guest.host)

    # --- metrics --------------------------------------------------------------------------

    def _stats_flags(self) -> int:
        lv = self._lv
        return (lv.VIR_DOMAIN_STATS_STATE | lv.VIR_DOMAIN_STATS_CPU_TOTAL | lv.VIR_DOMAIN_STATS_BALLOON
                | lv.VIR_DOMAIN_STATS_VCPU | lv.VIR_DOMAIN_STATS_INTERFACE | lv.VIR_DOMAIN_STATS_BLOCK)

    def _record(self, dom: Any, stats: dict[str, Any]) -> None:
        instance_id = instance_id_of(dom.name())
        if instance_id is not None:
            at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            self._history.add(instance_id, snapshot_from_stats(stats, at, skip_paths=(".iso",)))

    def _sample_host(self, conn: Any) -> None:
        for dom, stats in conn.getAllDomainStats(self._stats_flags(),
                                                 self._lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE):
            self._record(dom, stats)

    def _sample_forever(self) -> None:
        while not self._closing.wait(self.options.stats_interval):
            for name, host in list(self._hosts.items()):
                try:
                    with libvirt_errors(name):
                        self._sample_host(host.get())
                except DriverError as exc:
                    log.debug("libvirt.stats_failed", host=name, error=str(exc))

    def _sample_one(self, conn: Any, instance_id: str) -> bool:
        dom = self._domain(conn, instance_id)
        if dom is None or not dom.isActive():
            return False
        for found, stats in conn.domainListGetStats([dom], self._stats_flags(), 0):
            self._record(found, stats)
        return True

    async def metrics(self, guest: GuestView, start: dt.datetime, end: dt.datetime,
                      step: int) -> list[MetricsSample]:
        """Rates between samples taken in (start, end]; a running guest is sampled now (twice, a second
        apart, when there is no earlier sample to compare with)."""
        if await self._run(guest.host, self._sample_one, guest.id):
            history: list[Snapshot] = self._history.get(guest.id)
            if len(history) < 2:
                await asyncio.sleep(1.0)
                await self._run(guest.host, self._sample_one, guest.id)
        end = max(end, dt.datetime.now(dt.UTC).replace(tzinfo=None))
        return series(self._history.get(guest.id), start, end, step)

    # --- power events ---------------------------------------------------------------------

    def _on_lifecycle(self, host: str, dom: Any, event: int, detail: int) -> None:
        """On libvirt's event thread: pass power changes on to ``watch_power`` callers."""
        lv = self._lv
        instance_id = instance_id_of(dom.name())
        if instance_id is None or not self._watchers:
            return
        state = None
        if event == lv.VIR_DOMAIN_EVENT_STOPPED and detail not in (
                lv.VIR_DOMAIN_EVENT_STOPPED_SAVED, lv.VIR_DOMAIN_EVENT_STOPPED_MIGRATED,
                lv.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT):
            state = PowerState.SHUTDOWN
        elif event == lv.VIR_DOMAIN_EVENT_STARTED and detail == lv.VIR_DOMAIN_EVENT_STARTED_BOOTED:
            state = PowerState.RUNNING
        if state is None:
            return
        for loop, queue in list(self._watchers):
            loop.call_soon_threadsafe(queue.put_nowait, (instance_id, host, state))

    async def watch_power(self, callback: PowerCallback) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
        entry = (loop, queue)
        self._watchers.append(entry)
        try:
            while True:
                instance_id, host, state = await queue.get()
                try:
                    await callback(instance_id, host, state)
                except Exception:  # noqa: BLE001 - one bad event must not end the watch
                    log.warning("libvirt.power_event_failed", instance_id=instance_id, exc_info=True)
        finally:
            self._watchers.remove(entry)

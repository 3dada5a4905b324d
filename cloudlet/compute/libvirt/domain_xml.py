"""Domain XML: what cloudlet asks libvirt to run, built from plain data (no libvirt needed).

Every guest is ``type='qemu'``: pure software emulation (TCG). The accelerator is never chosen from
the presence of /dev/kvm: on the machines cloudlet is tested on, /dev/kvm exists and hangs guests.
The flavor's vCPUs and RAM are kept in ``<metadata>``; the guest itself gets them capped by the driver
settings (``CLOUDLET_LIBVIRT_MAX_GUEST_RAM_MIB`` / ``..._MAX_GUEST_VCPUS``), so a small host can run
several guests while the API still reports the flavor.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

__all__ = [
    "DOMAIN_PREFIX", "DiskPlan", "DomainPlan", "NicPlan", "domain_name", "domain_xml", "guest_hostname",
    "instance_id_of", "interface_xml", "nic_alias", "nics_of", "resized_xml", "disk_sources",
]

DOMAIN_PREFIX = "cloudlet-"
METADATA_NS = "https://cloudlet.dev/xmlns/libvirt/instance/1"
MIN_GUEST_RAM_MIB = 96  # the Debian cloud kernel hangs below ~80 MiB
VIDEO_VRAM_KIB = 16384


@dataclasses.dataclass(frozen=True, slots=True)
class DiskPlan:
    path: str
    target: str  # vda, vdb, ...
    format: str = "qcow2"
    readonly: bool = False
    serial: str | None = None  # shows in the guest as /dev/disk/by-id/virtio-<serial>


@dataclasses.dataclass(frozen=True, slots=True)
class NicPlan:
    port_id: str
    mac_address: str
    network: str  # libvirt network name


@dataclasses.dataclass(frozen=True, slots=True)
class DomainPlan:
    instance_id: str
    title: str  # the instance's name
    memory_mib: int  # what the guest gets
    vcpus: int
    flavor_ram: int  # what the API reports
    flavor_vcpus: int
    disks: tuple[DiskPlan, ...] = ()
    nics: tuple[NicPlan, ...] = ()
    console_log: str | None = None
    kernel: str | None = None  # direct kernel boot (the tiny image); else BIOS boots the first disk
    initrd: str | None = None
    cmdline: str | None = None
    vnc: bool = True


def domain_name(instance_id: str) -> str:
    return f"{DOMAIN_PREFIX}{instance_id}"


def instance_id_of(name: str) -> str | None:
    """The instance id behind a domain name, None for domains cloudlet did not make."""
    return name[len(DOMAIN_PREFIX):] if name.startswith(DOMAIN_PREFIX) else None


def nic_alias(port_id: str) -> str:
    # user aliases must start with "ua-" (libvirt keeps them across restarts)
    return f"ua-port-{port_id}"


def guest_hostname(name: str) -> str:
    """An RFC 1123 label from an instance name (the kernel command line must not carry spaces)."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return label or "cloudlet"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _interface(parent: ET.Element, nic: NicPlan) -> ET.Element:
    iface = _sub(parent, "interface", type="network")
    _sub(iface, "source", network=nic.network)
    _sub(iface, "mac", address=nic.mac_address.lower())
    _sub(iface, "model", type="virtio")
    _sub(iface, "rom", enabled="no")  # no iPXE ROM: the guest never boots from the network
    _sub(iface, "alias", name=nic_alias(nic.port_id))
    return iface


def interface_xml(nic: NicPlan) -> str:
    """A NIC as a device for ``attachDeviceFlags``."""
    holder = ET.Element("devices")
    return ET.tostring(_interface(holder, nic), encoding="unicode")


def domain_xml(plan: DomainPlan) -> str:
    ET.register_namespace("cloudlet", METADATA_NS)
    domain = ET.Element("domain", type="qemu")
    _sub(domain, "name", domain_name(plan.instance_id))
    if re.fullmatch(r"[0-9a-fA-F-]{36}", plan.instance_id):
        _sub(domain, "uuid", plan.instance_id)
    _sub(domain, "title", plan.title.replace("\n", " "))
    metadata = _sub(domain, "metadata")
    ET.SubElement(metadata, f"{{{METADATA_NS}}}instance", {
        "id": plan.instance_id, "flavor_vcpus": str(plan.flavor_vcpus), "flavor_ram": str(plan.flavor_ram),
    })
    memory = max(plan.memory_mib, MIN_GUEST_RAM_MIB)
    _sub(domain, "memory", str(memory), unit="MiB")
    _sub(domain, "currentMemory", str(memory), unit="MiB")
    _sub(domain, "vcpu", str(max(plan.vcpus, 1)), placement="static")
    os_ = _sub(domain, "os")
    _sub(os_, "type", "hvm", arch="x86_64", machine="pc")
    if plan.kernel:
        _sub(os_, "kernel", plan.kernel)
        if plan.initrd:
            _sub(os_, "initrd", plan.initrd)
        if plan.cmdline:
            _sub(os_, "cmdline", plan.cmdline)
    else:
        _sub(os_, "boot", dev="hd")
    features = _sub(domain, "features")
    _sub(features, "acpi")
    _sub(features, "apic")
    _sub(domain, "clock", offset="utc")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")
    devices = _sub(domain, "devices")
    for disk in plan.disks:
        element = _sub(devices, "disk", type="file", device="disk")
        _sub(element, "driver", name="qemu", type=disk.format)
        _sub(element, "source", file=disk.path)
        _sub(element, "target", dev=disk.target, bus="virtio")
        if disk.readonly:
            _sub(element, "readonly")
        if disk.serial:
            _sub(element, "serial", disk.serial[:20])
    for nic in plan.nics:
        _interface(devices, nic)
    serial = _sub(devices, "serial", type="pty")
    if plan.console_log:
        _sub(serial, "log", file=plan.console_log, append="off")
    _sub(serial, "target", port="0")
    console = _sub(devices, "console", type="pty")
    _sub(console, "target", type="serial", port="0")
    if plan.vnc:
        _sub(devices, "graphics", type="vnc", port="-1", autoport="yes", listen="127.0.0.1")
        video = _sub(devices, "video")
        _sub(video, "model", type="vga", vram=str(VIDEO_VRAM_KIB))
    balloon = _sub(devices, "memballoon", model="virtio")
    _sub(balloon, "stats", period="5")
    return ET.tostring(domain, encoding="unicode")


def resized_xml(xml: str, *, memory_mib: int, vcpus: int, flavor_ram: int, flavor_vcpus: int) -> str:
    """The (inactive) domain XML with new RAM and vCPUs, for a cold resize."""
    domain = ET.fromstring(xml)
    memory = str(max(memory_mib, MIN_GUEST_RAM_MIB))
    for tag in ("memory", "currentMemory"):
        element = domain.find(tag)
        if element is None:
            element = ET.SubElement(domain, tag)
        element.text, element.attrib = memory, {"unit": "MiB"}
    vcpu = domain.find("vcpu")
    if vcpu is None:
        vcpu = ET.SubElement(domain, "vcpu")
    vcpu.text, vcpu.attrib = str(max(vcpus, 1)), {"placement": "static"}
    for extra in ("maxMemory", "vcpus", "cputune"):  # written by libvirt for hot-plug; would clash with the new sizes
        for element in domain.findall(extra):
            domain.remove(element)
    instance = domain.find(f"metadata/{{{METADATA_NS}}}instance")
    if instance is not None:
        instance.set("flavor_ram", str(flavor_ram))
        instance.set("flavor_vcpus", str(flavor_vcpus))
    ET.register_namespace("cloudlet", METADATA_NS)
    return ET.tostring(domain, encoding="unicode")


@dataclasses.dataclass(frozen=True, slots=True)
class FoundNic:
    port_id: str | None
    mac_address: str
    network: str | None
    xml: str  # the <interface> element, as ``detachDeviceFlags`` wants it


def nics_of(xml: str) -> list[FoundNic]:
    """The NICs of a domain XML, with the port each was made for (from its alias)."""
    found = []
    for iface in ET.fromstring(xml).findall("devices/interface"):
        alias = iface.find("alias")
        name = alias.get("name", "") if alias is not None else ""
        mac = iface.find("mac")
        source = iface.find("source")
        found.append(FoundNic(
            port_id=name.removeprefix("ua-port-") if name.startswith("ua-port-") else None,
            mac_address=(mac.get("address", "") if mac is not None else "").lower(),
            network=source.get("network") if source is not None else None,
            xml=ET.tostring(iface, encoding="unicode"),
        ))
    return found


def disk_sources(xml: str) -> list[str]:
    """The files of a domain's disks."""
    out = []
    for disk in ET.fromstring(xml).findall("devices/disk"):
        source = disk.find("source")
        if source is not None and source.get("file"):
            out.append(source.get("file", ""))
    return out

"""The libvirt driver's pure parts: domain and network XML, error mapping, config drive, metrics maths.

No libvirt, QEMU or root needed: these run everywhere (no ``libvirt`` marker).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from cloudlet.compute.base import (
    DriverConflict,
    DriverError,
    DriverInfo,
    DriverNotFound,
    DriverTimeout,
    DriverUnavailable,
    InstanceSpec,
    NicSpec,
)
from cloudlet.compute.libvirt import config_drive, networks
from cloudlet.compute.libvirt.domain_xml import (
    DiskPlan,
    DomainPlan,
    NicPlan,
    disk_sources,
    domain_xml,
    guest_hostname,
    instance_id_of,
    interface_xml,
    nics_of,
    resized_xml,
)
from cloudlet.compute.libvirt.errors import ERROR_MAP, libvirt_errors, translate
from cloudlet.compute.libvirt.stats import Snapshot, rates, series, snapshot_from_stats

INSTANCE = "0b6f5a84-1c7e-4d0e-9a52-3f1f8e2c9d10"


def plan(**overrides: object) -> DomainPlan:
    values: dict[str, object] = dict(
        instance_id=INSTANCE, title="web 1", memory_mib=256, vcpus=1, flavor_ram=2048, flavor_vcpus=1,
        disks=(DiskPlan(path="/pool/volume-v1.qcow2", target="vda", serial="v1"),
               DiskPlan(path="/pool/config-x.iso", target="vdb", format="raw", readonly=True)),
        nics=(NicPlan(port_id="p1", mac_address="52:54:00:AA:BB:01", network="cloudlet-n1"),),
        console_log="/pool/x.console.log", kernel="/pool/image-i.kernel", initrd="/pool/image-i.initrd",
        cmdline="console=ttyS0 cloudlet.hostname=web-1",
    )
    values.update(overrides)
    return DomainPlan(**values)  # type: ignore[arg-type]


class TestDomainXml:
    def test_always_tcg_never_kvm(self):
        root = ET.fromstring(domain_xml(plan()))
        assert root.get("type") == "qemu"

    def test_names_the_domain_after_the_instance_and_uses_its_uuid(self):
        root = ET.fromstring(domain_xml(plan()))
        assert root.findtext("name") == f"cloudlet-{INSTANCE}"
        assert root.findtext("uuid") == INSTANCE
        assert root.findtext("title") == "web 1"
        assert instance_id_of(root.findtext("name") or "") == INSTANCE
        assert instance_id_of("someone-elses-vm") is None

    def test_guest_gets_the_capped_size_and_metadata_keeps_the_flavor(self):
        root = ET.fromstring(domain_xml(plan()))
        assert root.findtext("memory") == "256" and root.find("memory").get("unit") == "MiB"
        assert root.findtext("vcpu") == "1"
        meta = root.find("metadata")[0]
        assert meta.get("flavor_ram") == "2048" and meta.get("id") == INSTANCE

    def test_too_little_ram_is_raised_to_what_the_kernel_boots_with(self):
        assert ET.fromstring(domain_xml(plan(memory_mib=64))).findtext("memory") == "96"

    def test_direct_kernel_boot_with_command_line(self):
        os_ = ET.fromstring(domain_xml(plan())).find("os")
        assert os_.findtext("kernel") == "/pool/image-i.kernel" and os_.findtext("initrd") == "/pool/image-i.initrd"
        assert "cloudlet.hostname=web-1" in (os_.findtext("cmdline") or "")
        assert os_.find("boot") is None

    def test_without_kernel_the_bios_boots_the_disk(self):
        os_ = ET.fromstring(domain_xml(plan(kernel=None, initrd=None, cmdline=None))).find("os")
        assert os_.find("kernel") is None and os_.find("boot").get("dev") == "hd"

    def test_disks_nics_console_vnc_and_balloon(self):
        xml = domain_xml(plan())
        devices = ET.fromstring(xml).find("devices")
        disks = devices.findall("disk")
        assert [d.find("target").get("dev") for d in disks] == ["vda", "vdb"]
        assert disks[0].find("driver").get("type") == "qcow2" and disks[1].find("readonly") is not None
        assert disk_sources(xml) == ["/pool/volume-v1.qcow2", "/pool/config-x.iso"]
        nic = devices.find("interface")
        assert nic.get("type") == "network" and nic.find("source").get("network") == "cloudlet-n1"
        assert nic.find("mac").get("address") == "52:54:00:aa:bb:01"
        assert nic.find("alias").get("name") == "ua-port-p1"
        assert devices.find("serial/log").get("file") == "/pool/x.console.log"
        assert devices.find("graphics").get("listen") == "127.0.0.1"
        assert devices.find("memballoon/stats").get("period") == "5"

    def test_nics_are_found_again_by_port(self):
        found = nics_of(domain_xml(plan()))
        assert [(n.port_id, n.mac_address, n.network) for n in found] == [("p1", "52:54:00:aa:bb:01", "cloudlet-n1")]
        assert found[0].xml.startswith("<interface")

    def test_hot_plug_device_is_the_same_interface(self):
        device = ET.fromstring(interface_xml(NicPlan(port_id="p2", mac_address="52:54:00:00:00:02",
                                                     network="cloudlet-n2")))
        assert device.tag == "interface" and device.find("alias").get("name") == "ua-port-p2"

    def test_resize_rewrites_size_and_flavor_only(self):
        xml = resized_xml(domain_xml(plan()), memory_mib=192, vcpus=2, flavor_ram=4096, flavor_vcpus=2)
        root = ET.fromstring(xml)
        assert root.findtext("memory") == "192" and root.findtext("currentMemory") == "192"
        assert root.findtext("vcpu") == "2"
        assert root.find("metadata")[0].get("flavor_ram") == "4096"
        assert disk_sources(xml) == disk_sources(domain_xml(plan()))

    @pytest.mark.parametrize(("name", "hostname"), [("Web Server #1", "web-server-1"), ("---", "cloudlet"),
                                                    ("a" * 80, "a" * 63)])
    def test_hostnames_are_rfc1123_labels(self, name: str, hostname: str):
        assert guest_hostname(name) == hostname


class FakeLibvirtError(Exception):
    """Quacks like ``libvirt.libvirtError``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self._code = code
        self._message = message

    def get_error_code(self) -> int:
        return self._code

    def get_error_message(self) -> str:
        return self._message


class TestErrorMapping:
    @pytest.mark.parametrize(("code", "kind"), [
        (42, DriverNotFound), (50, DriverNotFound), (55, DriverConflict), (68, DriverTimeout),
        (38, DriverUnavailable), (1, DriverError),
    ])
    def test_codes_map_to_driver_errors(self, code: int, kind: type[DriverError]):
        error = translate(FakeLibvirtError(code, "boom"), "host-1")
        assert type(error) is kind
        assert str(error) == "libvirt on host-1: boom"

    def test_every_mapped_class_is_a_driver_error(self):
        assert all(issubclass(kind, DriverError) for kind in ERROR_MAP.values())

    def test_context_manager_chains_the_original(self):
        original = FakeLibvirtError(42, "Domain not found")
        with pytest.raises(DriverNotFound) as raised, libvirt_errors("h"):
            raise original
        assert raised.value.__cause__ is original

    def test_other_exceptions_pass_through(self):
        with pytest.raises(KeyError), libvirt_errors("h"):
            raise KeyError("x")
        with pytest.raises(DriverConflict), libvirt_errors("h"):
            raise DriverConflict("already a DriverError")


class TestNetworks:
    def test_isolated_network_with_static_dhcp(self):
        nic = NicSpec(port_id="p", mac_address="52:54:00:AA:00:01", network_id="5d2e2e8c-2f1a-4c5b-8b1e-0e7c3a9f0001",
                      ip_addresses=("2a03::5", "92.38.128.7"), cidr="92.38.128.0/20", gateway_ip="92.38.128.1")
        plan_ = networks.plan_for(nic)
        root = ET.fromstring(networks.network_xml(plan_))
        assert root.find("forward") is None  # never routed off the host
        assert root.find("bridge").get("name") == "clt5d2e2e8c2f1a" and len("clt5d2e2e8c2f1a") <= 15
        assert root.find("ip").get("address") == "92.38.128.1" and root.find("ip").get("prefix") == "20"
        assert networks.dhcp_hosts(networks.network_xml(plan_)) == {"52:54:00:aa:00:01": "92.38.128.7"}

    def test_without_a_subnet_a_slash_24_is_assumed(self):
        plan_ = networks.plan_for(NicSpec(port_id="p", mac_address="52:54:00:00:00:01", network_id="n",
                                          ip_addresses=("10.1.2.3",)))
        assert plan_.cidr == "10.1.2.0/24" and plan_.bridge_address == "10.1.2.254"


class TestConfigDrive:
    def spec(self, **overrides: object) -> InstanceSpec:
        values: dict[str, object] = dict(id=INSTANCE, name="Web 1", host="h", vcpus=1, ram=512, os_type="linux",
                                         ssh_public_key="ssh-ed25519 AAAAkey me")
        values.update(overrides)
        return InstanceSpec(**values)  # type: ignore[arg-type]

    def test_nocloud_files(self):
        files = config_drive.config_files(self.spec(user_data=base64.b64encode(b"#!/bin/sh\necho hi\n").decode()))
        meta = json.loads(files["meta-data"])
        assert meta == {"instance-id": INSTANCE, "local-hostname": "web-1", "public-keys": ["ssh-ed25519 AAAAkey me"]}
        assert files["user-data"] == b"#!/bin/sh\necho hi\n"  # base64 in the API, plain on the drive
        assert files["cloudlet/authorized_keys"] == b"ssh-ed25519 AAAAkey me\n"

    def test_a_password_replaces_user_data(self):
        files = config_drive.config_files(self.spec(password='p"w', username="bob", user_data="aWdub3JlZA=="))
        user_data = files["user-data"].decode()
        assert user_data.startswith("#cloud-config\n") and "ignored" not in user_data
        config = json.loads(user_data.split("\n", 1)[1])
        assert config["users"][1]["name"] == "bob" and config["users"][1]["plain_text_passwd"] == 'p"w'

    def test_iso_has_the_cidata_label_and_real_names(self):
        pycdlib = pytest.importorskip("pycdlib")
        import io

        data = config_drive.build_iso({"meta-data": b"{}", "cloudlet/hostname": b"web-1\n"})
        iso = pycdlib.PyCdlib()
        iso.open_fp(io.BytesIO(data))
        walked = {path: (sorted(dirs), sorted(names)) for path, dirs, names in iso.walk(rr_path="/")}
        assert walked == {"/": (["cloudlet"], ["meta-data"]), "/cloudlet": ([], ["hostname"])}
        assert iso.pvd.volume_identifier.strip() == b"cidata"
        iso.close()


def snap(t: int, cpu_s: float, rx: int = 0, disk_rd: int = 0, vcpus: int = 1) -> Snapshot:
    return Snapshot(time=dt.datetime(2026, 1, 1) + dt.timedelta(seconds=t), cpu_ns=int(cpu_s * 1e9), vcpus=vcpus,
                    memory_util=40.0, rx_bytes=rx, tx_bytes=0, rx_packets=0, tx_packets=0,
                    disks={"vda": (disk_rd, 0, 0, 0)})


class TestMetrics:
    def test_rates_between_two_snapshots(self):
        sample = rates(snap(0, 1.0, rx=1000, disk_rd=0, vcpus=2), snap(10, 6.0, rx=3000, disk_rd=5000, vcpus=2))
        assert sample is not None
        assert sample.cpu_util == 25.0  # 5 s of CPU over 10 s on 2 vCPUs
        assert sample.network_bytes_in == 200.0 and sample.disks[0].bytes_read == 500.0

    def test_a_restart_in_between_gives_no_sample(self):
        assert rates(snap(0, 9.0), snap(10, 1.0)) is None

    def test_series_buckets_by_step(self):
        snaps = [snap(t, t * 0.1) for t in range(0, 61, 5)]
        start = dt.datetime(2026, 1, 1)
        out = series(snaps, start, start + dt.timedelta(seconds=60), 15)
        assert [s.time for s in out] == [start + dt.timedelta(seconds=s) for s in (15, 30, 45, 60)]
        assert all(abs((s.cpu_util or 0) - 10.0) < 1e-6 for s in out)

    def test_snapshot_reads_libvirt_stats_keys(self):
        stats = {"cpu.time": 5, "vcpu.current": 2, "balloon.available": 1000, "balloon.unused": 250,
                 "net.count": 1, "net.0.rx.bytes": 7, "block.count": 2, "block.0.name": "vda", "block.0.path": "/p/v",
                 "block.0.rd.bytes": 3, "block.1.name": "vdb", "block.1.path": "/p/config-x.iso"}
        s = snapshot_from_stats(stats, dt.datetime(2026, 1, 1), skip_paths=(".iso",))
        assert s.memory_util == 75.0 and s.rx_bytes == 7 and list(s.disks) == ["vda"] and s.vcpus == 2


def test_a_capability_the_driver_lacks_is_refused_with_400() -> None:
    from cloudlet.core.errors import ValidationError
    from cloudlet.instances.states import check_supported

    without_suspend = DriverInfo(name="libvirt", version="9", capabilities=frozenset({"resize"}))
    with pytest.raises(ValidationError) as raised:
        check_supported("suspend", without_suspend)
    assert raised.value.status_code == 400 and "suspend" in raised.value.message


def test_unknown_driver_and_missing_uri_fail_settings() -> None:
    from cloudlet.config import Settings

    with pytest.raises(ValueError, match="CLOUDLET_DRIVER must be one of"):
        Settings.from_env({"CLOUDLET_DRIVER": "xen"})
    with pytest.raises(ValueError, match="CLOUDLET_LIBVIRT_URI"):
        Settings.from_env({"CLOUDLET_DRIVER": "libvirt"})
    settings = Settings.from_env({"CLOUDLET_DRIVER": "libvirt", "CLOUDLET_LIBVIRT_URI": "qemu:///system, qemu+ssh://h/system"})
    assert settings.libvirt_uris == ("qemu:///system", "qemu+ssh://h/system")
    assert settings.effective_image_dir == settings.data_dir / "images"

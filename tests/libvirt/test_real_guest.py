"""One real guest, end to end: the official SDK (strict) against ``cloudlet serve`` with CLOUDLET_DRIVER=libvirt.

The guest is the tiny image (busybox, Debian's cloud kernel) under QEMU TCG, in a private libvirtd
(see conftest.py). The tests run in order on the same guest: boot and console, stop/start, reboots,
suspend/resume, resize, NIC hot-plug, metrics, a power-off from inside, delete. Timeouts are generous:
under TCG a boot takes 3-5 s, a reboot up to 11 s.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from gcore import Gcore

from tests.conftest import ADMIN_TOKEN, Server, run_server
from tests.libvirt.conftest import PrivateLibvirtd
from tests.libvirt.ws_client import WebSocket, WebSocketClosed

pytestmark = pytest.mark.libvirt

FLAVOR = "g1-standard-1-2"
BIGGER_FLAVOR = "g1-standard-2-4"
BOOT_TIMEOUT = 90.0
USER_DATA = "#!/bin/sh\necho USERDATA-RAN-$((6*7))\n"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cloudlet-libvirt")


@pytest.fixture(scope="module")
def server(libvirtd: PrivateLibvirtd, tiny_image: Path, data_dir: Path) -> Iterator[Server]:
    db_url = f"sqlite:///{data_dir}/cloudlet.db"
    env = {**os.environ, "CLOUDLET_DATA_DIR": str(data_dir), "CLOUDLET_DATABASE_URL": db_url,
           "CLOUDLET_ADMIN_API_KEY": ADMIN_TOKEN, "CLOUDLET_TINY_CACHE": str(tiny_image)}
    subprocess.run([sys.executable, "-m", "cloudlet", "images", "build-tiny"], env=env, check=True,
                   capture_output=True)
    with run_server(db_url, data_dir, profile="fast", extra_env={
        "CLOUDLET_DRIVER": "libvirt", "CLOUDLET_LIBVIRT_URI": libvirtd.uri,
        "CLOUDLET_LIBVIRT_MAX_GUEST_RAM_MIB": "160", "CLOUDLET_LIBVIRT_MAX_GUEST_VCPUS": "2",
        "CLOUDLET_LIBVIRT_SHUTDOWN_TIMEOUT": "20", "CLOUDLET_LIBVIRT_STATS_INTERVAL": "2",
    }) as srv:
        yield srv


@pytest.fixture(scope="module")
def sdk(server: Server) -> Gcore:
    return Gcore(api_key=ADMIN_TOKEN, base_url=server.url, cloud_project_id=1, cloud_region_id=1,
                 polling_interval_seconds=1, polling_timeout_seconds=180, max_retries=0, timeout=60,
                 _strict_response_validation=True)


@pytest.fixture(scope="module")
def lv(libvirtd: PrivateLibvirtd) -> Iterator[Any]:
    import libvirt

    conn = libvirt.open(libvirtd.uri)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def tiny_id(sdk: Gcore) -> str:
    images = [i for i in sdk.cloud.instances.images.list().results if i.name == "cloudlet-tiny"]
    assert len(images) == 1
    return images[0].id


def _ssh_public_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


class Guest:
    """The instance the tests share, and helpers to look inside it through the console websocket."""

    def __init__(self, sdk: Gcore, server: Server, instance: Any, ssh_key: str) -> None:
        self.sdk = sdk
        self.server = server
        self.id = instance.id
        self.instance = instance
        self.ssh_key = ssh_key

    def refresh(self) -> Any:
        self.instance = self.sdk.cloud.instances.get(self.id)
        return self.instance

    def console_url(self, console_type: str) -> str:
        console = self.sdk.cloud.instances.get_console(self.id, console_type=console_type)  # type: ignore[arg-type]
        assert console.remote_console.type == console_type
        query = parse_qs(urlsplit(console.remote_console.url).query)
        token = query["token"][0] if "token" in query else parse_qs(query["path"][0].lstrip("?"))["token"][0]
        return f"{self.server.url.replace('http://', 'ws://')}/console/ws?token={token}"

    def console(self) -> WebSocket:
        return WebSocket(self.console_url("serial"))

    def wait_ready(self) -> None:
        """Until this boot's /init is done (the serial log, replayed on connecting, starts at each boot)."""
        ws = self.console()
        try:
            ws.read_until("GUEST-READY", timeout=BOOT_TIMEOUT)
        finally:
            ws.close()

    def run(self, command: str, expect: str, timeout: float = 30.0) -> str:
        """Type a command on the serial console; its output (retrying the command until ``expect``, a regex,
        matches it).

        The command ends with ``echo END-''<marker>``: the terminal echoes that as typed, the shell prints
        ``END-<marker>``, so the output is what lies between the two.
        """
        deadline = time.monotonic() + timeout
        output = ""
        while True:
            marker = uuid.uuid4().hex[:8]
            ws = self.console()
            try:
                ws.send_text("\r")
                ws.send_text(f"{command}; echo END-''{marker}\r")
                seen = ws.read_until(f"\nEND-{marker}", timeout=max(1.0, min(15.0, deadline - time.monotonic())))
                typed = f"END-''{marker}"
                output = seen.split(typed, 1)[1].split(f"\nEND-{marker}", 1)[0] if typed in seen else ""
                if typed in seen and re.search(expect, output, re.MULTILINE):
                    return output
            except (TimeoutError, WebSocketClosed, OSError):
                pass
            finally:
                ws.close()
            if time.monotonic() > deadline:
                raise AssertionError(f"{expect!r} not seen after {command!r}; the output was:\n{output[-2000:]}")
            time.sleep(1)

    def wait_status(self, status: str, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while self.refresh().status != status:
            assert time.monotonic() < deadline, f"instance stayed {self.instance.status}, never {status}"
            time.sleep(0.5)
        return self.instance


def _domain(lv: Any, instance_id: str) -> Any | None:
    import libvirt

    try:
        return lv.lookupByName(f"cloudlet-{instance_id}")
    except libvirt.libvirtError:
        return None


@pytest.fixture(scope="module")
def guest(sdk: Gcore, server: Server, tiny_id: str) -> Guest:
    key = _ssh_public_key()
    sdk.cloud.ssh_keys.create(name="libvirt-test-key", public_key=key)
    started = time.monotonic()
    instance = sdk.cloud.instances.create_and_poll(
        flavor=FLAVOR, name="Tiny One", interfaces=[{"type": "external"}],
        volumes=[{"source": "image", "image_id": tiny_id, "size": 1, "boot_index": 0}],
        ssh_key_name="libvirt-test-key", user_data=base64.b64encode(USER_DATA.encode()).decode(),
    )
    print(f"create_and_poll took {time.monotonic() - started:.1f} s")
    return Guest(sdk, server, instance, key)


class TestRealGuest:
    def test_boots_and_shows_its_banner_on_the_console(self, guest: Guest, lv: Any):
        assert guest.instance.status == "ACTIVE" and guest.instance.flavor.flavor_id == FLAVOR
        dom = _domain(lv, guest.id)
        assert dom is not None and dom.isActive()
        # TCG, and the guest's RAM capped (160 MiB) while the API reports the flavor's 2 GiB
        assert "type='qemu'" in dom.XMLDesc(0) and dom.maxMemory() == 160 * 1024
        assert guest.instance.flavor.ram == 2048
        ws = guest.console()
        try:
            # the hostname comes from the instance name
            seen = ws.read_until("GUEST-READY tiny-one", timeout=BOOT_TIMEOUT)
        finally:
            ws.close()
        assert "GUEST-BANNER" in seen and "config drive" in seen

    def test_guest_got_the_api_address_key_and_user_data(self, guest: Guest):
        address = guest.instance.addresses["public"][0].addr
        guest.run("ip -4 addr show eth0", re.escape(f"inet {address}/"), timeout=60)
        guest.run("cat /root/.ssh/authorized_keys", re.escape(guest.ssh_key.split()[1][:40]))
        guest.run("cat /run/user-data.log", "USERDATA-RAN-42")
        guest.run("hostname", "tiny-one")

    def test_novnc_console_speaks_rfb(self, guest: Guest):
        console = guest.sdk.cloud.instances.get_console(guest.id, console_type="novnc")
        page = httpx.get(console.remote_console.url, timeout=10)
        assert page.status_code == 200 and "static/vnc.js" in page.text
        ws = WebSocket(guest.console_url("novnc"), subprotocol="binary")
        try:
            assert "sec-websocket-protocol: binary" in ws.headers
            hello = ws.receive()
            assert isinstance(hello, bytes) and hello.startswith(b"RFB 003.008")
        finally:
            ws.close()

    def test_stop_and_start(self, guest: Guest, lv: Any):
        stopped = guest.sdk.cloud.instances.action_and_poll(guest.id, action="stop")
        assert stopped.status == "SHUTOFF"
        assert not _domain(lv, guest.id).isActive()
        started = guest.sdk.cloud.instances.action_and_poll(guest.id, action="start")
        assert started.status == "ACTIVE"
        ws = guest.console()
        try:
            ws.read_until("GUEST-READY", timeout=BOOT_TIMEOUT)
        finally:
            ws.close()

    def test_soft_reboot_boots_the_guest_again(self, guest: Guest):
        ws = guest.console()
        try:
            ws.read_until("GUEST-READY", timeout=BOOT_TIMEOUT)  # the replayed boot log
            ws.send_text("\recho BEFORE-REBOOT\r")
            ws.read_until("BEFORE-REBOOT\r\n", timeout=20)
            rebooted = guest.sdk.cloud.instances.action_and_poll(guest.id, action="reboot")
            assert rebooted.status == "ACTIVE"
            ws.read_until("GUEST-BANNER", timeout=BOOT_TIMEOUT)  # live: this boot, not the replay
        finally:
            ws.close()

    def test_hard_reboot_is_a_fresh_boot(self, guest: Guest):
        guest.run("echo gone > /tmp/hard-reboot-mark", "")
        rebooted = guest.sdk.cloud.instances.action_and_poll(guest.id, action="reboot_hard")
        assert rebooted.status == "ACTIVE"
        guest.wait_ready()
        guest.run("cat /tmp/hard-reboot-mark 2>&1", "No such file", timeout=BOOT_TIMEOUT)

    def test_suspend_and_resume_keep_the_guest_state(self, guest: Guest, lv: Any):
        guest.run("echo kept-$((20+22)) > /tmp/suspend-mark", "")
        suspended = guest.sdk.cloud.instances.action_and_poll(guest.id, action="suspend")
        assert suspended.status == "SUSPENDED"
        dom = _domain(lv, guest.id)
        assert not dom.isActive() and dom.hasManagedSaveImage(0)
        resumed = guest.sdk.cloud.instances.action_and_poll(guest.id, action="resume")
        assert resumed.status == "ACTIVE"
        guest.run("cat /tmp/suspend-mark", "kept-42")  # restored, not rebooted

    def test_resize_changes_the_guest_vcpus(self, guest: Guest, lv: Any):
        resized = guest.sdk.cloud.instances.resize_and_poll(guest.id, flavor_id=BIGGER_FLAVOR)
        assert resized.status == "ACTIVE" and resized.flavor.flavor_id == BIGGER_FLAVOR
        assert resized.flavor.vcpus == 2 and resized.flavor.ram == 4096
        assert _domain(lv, guest.id).info()[3] == 2  # vCPUs
        guest.wait_ready()
        guest.run("grep -c ^processor /proc/cpuinfo", r"^2\r?$")

    def test_attach_and_detach_a_nic_shows_in_the_guest(self, guest: Guest):
        sdk = guest.sdk
        network = sdk.cloud.networks.create_and_poll(name="libvirt-private")
        subnet = sdk.cloud.networks.subnets.create_and_poll(network_id=network.id, name="libvirt-private-v4",
                                                            cidr="10.77.0.0/24")
        sdk.cloud.instances.interfaces.attach_and_poll(guest.id, type="subnet", subnet_id=subnet.id)
        ports = [i for i in sdk.cloud.instances.interfaces.list(guest.id).results if i.network_id == network.id]
        assert len(ports) == 1
        address = ports[0].ip_assignments[0].ip_address
        guest.run("ip -4 addr show eth1", re.escape(f"inet {address}/24"), timeout=60)
        sdk.cloud.instances.interfaces.detach_and_poll(guest.id, ip_address=address, port_id=ports[0].port_id)
        output = guest.run("ls /sys/class/net", "eth0")
        assert "eth1" not in output

    def test_metrics_come_from_libvirt(self, guest: Guest):
        time.sleep(4)  # two background samples (CLOUDLET_LIBVIRT_STATS_INTERVAL=2)
        metrics = guest.sdk.cloud.instances.metrics.list(guest.id, time_interval=1, time_unit="hour")
        assert metrics.count >= 1
        assert any((m.cpu_util or 0) > 0 for m in metrics.results)
        assert any((m.memory_util or 0) > 0 for m in metrics.results)
        assert any(d.disk_name == "vda" for m in metrics.results for d in (m.disks or []))

    def test_a_guest_that_powers_itself_off_shows_shutoff(self, guest: Guest, lv: Any):
        ws = guest.console()
        try:
            ws.send_text("\rpoweroff -f\r")
            ws.read_until("reboot: Power down", timeout=30)  # then the console hangs up
        except WebSocketClosed:
            pass
        finally:
            ws.close()
        guest.wait_status("SHUTOFF", timeout=60)
        assert guest.instance.vm_state == "stopped"
        assert not _domain(lv, guest.id).isActive()

    def test_delete_removes_the_domain_and_its_disks(self, guest: Guest, lv: Any, data_dir: Path):
        volume_ids = [v.id for v in guest.refresh().volumes]
        pool = data_dir / "instances"
        assert all((pool / f"volume-{v}.qcow2").exists() for v in volume_ids)
        assert (pool / f"config-{guest.id}.iso").exists()
        guest.sdk.cloud.instances.delete_and_poll(guest.id, volumes=",".join(volume_ids))
        assert _domain(lv, guest.id) is None
        leftovers = sorted(p.name for p in pool.iterdir() if guest.id in p.name or any(v in p.name for v in volume_ids))
        assert leftovers == []


class TestSpawnFailures:
    def test_an_image_without_a_file_fails_the_task_and_leaves_nothing(self, sdk: Gcore, lv: Any, data_dir: Path):
        catalog_image = next(i for i in sdk.cloud.instances.images.list().results if i.name != "cloudlet-tiny")
        tasks = sdk.cloud.instances.create(
            flavor=FLAVOR, name="no-file", interfaces=[{"type": "external"}],
            volumes=[{"source": "image", "image_id": catalog_image.id, "size": 10, "boot_index": 0}],
        ).tasks
        deadline = time.monotonic() + 60
        while (task := sdk.cloud.tasks.get(tasks[0])).state not in ("FINISHED", "ERROR"):
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert task.state == "ERROR"
        assert "image store" in (task.error or "") and catalog_image.id in (task.error or "")
        assert [i.name for i in sdk.cloud.instances.list(name="no-file")] == []
        # the only guest of this module was deleted before: nothing may be left
        assert lv.listAllDomains(0) == []
        assert sorted(p.name for p in (data_dir / "instances").glob("*")
                      if p.name.startswith(("volume-", "config-")) or p.name.endswith(".console.log")) == []



def test_serve_refuses_to_start_when_libvirtd_is_unreachable(libvirt_ready: None, tmp_path: Path) -> None:
    env = {**os.environ, "CLOUDLET_DATA_DIR": str(tmp_path), "CLOUDLET_DRIVER": "libvirt",
           "CLOUDLET_LIBVIRT_URI": f"qemu:///system?socket={tmp_path}/no-such-socket"}
    done = subprocess.run([sys.executable, "-m", "cloudlet", "serve", "--port", "1"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "the compute driver cannot start" in done.stderr and "no-such-socket" in done.stderr

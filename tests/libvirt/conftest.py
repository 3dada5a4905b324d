"""A private libvirtd for the libvirt tests: in a network namespace the tests make, with its own state.

Opt-in: these tests run when ``CLOUDLET_TEST_LIBVIRT=1`` or ``CI=true``, and skip elsewhere with the
reason. Under CI=true a missing package fails them instead (``scripts/ci-libvirt-setup.sh`` installs
everything). Needs root (namespaces, libvirtd).

Isolation: libvirtd runs in a fresh network namespace (its bridges, dnsmasq and iptables rules never
touch the host's), and in a mount namespace where libvirt's state directories (/etc/libvirt/qemu,
/etc/libvirt/storage, /run/libvirt, /var/lib/libvirt) are private directories of the test run: the
host's own libvirt definitions are neither seen nor changed. cloudlet reaches it by its Unix socket
(``qemu:///system?socket=...``), which works across network namespaces.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI

OPTED_IN = IN_CI or os.environ.get("CLOUDLET_TEST_LIBVIRT", "") in ("1", "true", "yes")
BINARIES = ("libvirtd", "qemu-system-x86_64", "qemu-img", "dnsmasq", "iptables", "ip", "unshare", "apt-get",
            "dpkg-deb", "depmod", "mkfs.ext4", "busybox")
PRIVATE_DIRS = ("/etc/libvirt/qemu", "/etc/libvirt/storage", "/run/libvirt", "/var/lib/libvirt")
TINY_CACHE = Path(os.environ.get("CLOUDLET_TINY_CACHE")
                  or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cloudlet" / "tiny")


def _missing() -> list[str]:
    missing = [b for b in BINARIES if shutil.which(b) is None]
    for module in ("libvirt", "pycdlib"):
        if importlib.util.find_spec(module) is None:
            missing.append(f"python module {module} (pip install '.[libvirt]')")
    if os.geteuid() != 0:
        missing.append("root (network namespaces, libvirtd)")
    return missing


@pytest.fixture(scope="session")
def libvirt_ready() -> None:
    """Skip (or, under CI, fail) unless the machine can run the libvirt tests."""
    if not OPTED_IN:
        pytest.skip("real-hypervisor tests are opt-in: set CLOUDLET_TEST_LIBVIRT=1 (CI=true runs them)")
    missing = _missing()
    if missing:
        message = f"libvirt tests need: {', '.join(missing)} (run scripts/ci-libvirt-setup.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def tiny_image(libvirt_ready: None) -> Path:
    from cloudlet.compute.libvirt import tiny_image

    return tiny_image.build(TINY_CACHE).directory


class PrivateLibvirtd:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.netns = f"cloudlet-test-{os.getpid()}"
        self.socket = root / "sock" / "libvirt-sock"
        self.uri = f"qemu:///system?socket={self.socket}"
        self.log = root / "libvirtd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        (self.root / "sock").mkdir(parents=True)
        conf = self.root / "libvirtd.conf"
        conf.write_text(f'unix_sock_dir = "{self.socket.parent}"\n')
        # the mount points too: a fresh install of the packages (no libvirt-daemon-system) lacks some of them
        binds = " ".join(f"mkdir -p {self.root}/state{d} {d} && mount --bind {self.root}/state{d} {d} &&"
                         for d in PRIVATE_DIRS)
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
        with self.log.open("wb") as out:
            # ip netns exec and unshare exec in place: the process's pid ends up being libvirtd's
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, "unshare", "--mount", "--propagation", "private", "sh", "-c",
                 f"{binds} exec libvirtd -f {conf} --pid-file {self.root}/libvirtd.pid"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"libvirtd did not start:\n{self.log.read_text()}")
            time.sleep(0.05)
        # the first call that needs QEMU's capabilities probes them (4-60 s); pay it once, here
        import libvirt

        conn = libvirt.open(self.uri)
        try:
            conn.getDomainCapabilities(None, "x86_64", None, "qemu", 0)
        finally:
            conn.close()

    def stop(self) -> None:
        import libvirt

        try:
            conn = libvirt.open(self.uri)
            for dom in conn.listAllDomains(0):
                if dom.isActive():
                    dom.destroy()
            for net in conn.listAllNetworks(0):
                if net.isActive():
                    net.destroy()
            conn.close()
        except libvirt.libvirtError:
            pass
        # QEMU outlives libvirtd: end any guest whose pid file is still there (only ours: private /run/libvirt)
        for pid_file in (self.root / "state" / "run" / "libvirt" / "qemu").glob("*.pid"):
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            except (ValueError, OSError):
                pass
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        subprocess.run(["ip", "netns", "del", self.netns], check=False)


@pytest.fixture(scope="session")
def libvirtd(libvirt_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateLibvirtd]:
    daemon = PrivateLibvirtd(tmp_path_factory.mktemp("libvirtd"))
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()

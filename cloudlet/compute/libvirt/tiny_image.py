"""Build "cloudlet-tiny": a small bootable Linux guest made from Debian packages only.

The kernel comes from ``linux-image-cloud-amd64`` (fetched with ``apt-get download``), the userland is
``busybox-static`` in an initramfs. The guest boots directly from kernel + initramfs (libvirt
``<kernel>``/``<initrd>``), so the image is three files: ``vmlinuz``, ``initramfs.gz`` and a small
ext4 ``disk.qcow2`` that becomes the instance's boot volume (an overlay per instance).

What ``/init`` does (see ``INIT``): load the virtio modules, print ``GUEST-BANNER``, read the config
drive (an ISO 9660 "cidata" disk: hostname, SSH keys, user data; a user-data script is run), answer
the ACPI power button, bring up every ethN with DHCP (also NICs plugged in later), print
``GUEST-READY`` and keep a root shell on the serial console.

Run ``python -m cloudlet.compute.libvirt.tiny_image DIR`` to build into DIR (skipped when DIR holds a
build of the same recipe). Needs: apt-get, dpkg-deb, depmod (kmod), mkfs.ext4 (e2fsprogs), qemu-img,
/bin/busybox (busybox-static).
"""

from __future__ import annotations

import gzip
import io
import json
import lzma
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["RECIPE_VERSION", "TinyImage", "build", "cached"]

RECIPE_VERSION = 4
KERNEL_META_PACKAGE = "linux-image-cloud-amd64"
# virtio_ring before virtio: the order of the notes; the dependency walk below keeps deps first anyway
MODULES = ("failover", "net_failover", "virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
           "virtio_pci", "virtio_net", "virtio_blk", "virtio_balloon", "virtio_console", "evdev", "button",
           "isofs")
DISK_MIB = 32

INIT = r"""#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /run /tmp /mnt/config /mnt/disk /root/.ssh
mount -t devpts devpts /dev/pts
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
echo "cloudlet-tiny GUEST-BANNER kernel $(uname -r)"

name=cloudlet-tiny
for arg in $(cat /proc/cmdline); do
  case "$arg" in cloudlet.hostname=*) name="${arg#cloudlet.hostname=}" ;; esac
done

# config drive: the ISO 9660 disk labelled cidata (NoCloud layout, plus plain files under cloudlet/)
sleep 0.3
for dev in /dev/vd?; do
  [ -b "$dev" ] || continue
  if mount -t iso9660 -o ro "$dev" /mnt/config 2>/dev/null; then
    if [ -f /mnt/config/meta-data ]; then
      mkdir -p /run/cloudlet
      cp -r /mnt/config/. /run/cloudlet/
      echo "cloudlet-tiny: config drive $dev"
      break
    fi
    umount /mnt/config
  fi
done
[ -s /run/cloudlet/cloudlet/hostname ] && name="$(cat /run/cloudlet/cloudlet/hostname)"
hostname "$name"
echo "$name" > /etc/hostname
if [ -s /run/cloudlet/cloudlet/authorized_keys ]; then
  cp /run/cloudlet/cloudlet/authorized_keys /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
  echo "cloudlet-tiny: ssh key installed"
fi

# the ACPI power button (libvirt's shutdown and soft reboot): busybox acpid, in the foreground of a
# background job (daemonized, it dies for want of /var/log)
mkdir -p /var/log
acpid -f -c /etc/acpi > /dev/null 2>&1 &

# NICs probe asynchronously, and may be hot-plugged later: start DHCP on each new ethN
(
  while true; do
    for path in /sys/class/net/eth*; do
      nic="${path##*/}"
      [ -e "$path" ] || continue
      [ -e "/run/udhcpc.$nic.pid" ] && continue
      ip link set "$nic" up
      udhcpc -b -i "$nic" -t 30 -T 1 -A 1 -p "/run/udhcpc.$nic.pid" >/dev/null 2>&1
    done
    sleep 1
  done
) &
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done

if [ -b /dev/vda ] && mount -t ext4 /dev/vda /mnt/disk 2>/dev/null; then
  echo "cloudlet-tiny: disk $(cat /mnt/disk/cloudlet-tiny 2>/dev/null)"
fi

if [ -s /run/cloudlet/user-data ] && [ "$(head -c 2 /run/cloudlet/user-data)" = "#!" ]; then
  cp /run/cloudlet/user-data /run/user-data.sh
  chmod 700 /run/user-data.sh
  (/run/user-data.sh > /run/user-data.log 2>&1; echo "cloudlet-tiny: user-data exited $?") &
fi

echo "cloudlet-tiny GUEST-READY $name"
while true; do
  setsid cttyhack /bin/sh -l
  sleep 0.2
done
"""

DHCP_SCRIPT = r"""#!/bin/sh
# udhcpc events: set the leased address (and route) on $interface
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
      ip route replace default via "${router%% *}" dev "$interface" 2>/dev/null
    fi
    echo "cloudlet-tiny: $interface $ip/${mask:-24}" > /dev/console
    ;;
esac
exit 0
"""

PROFILE = 'PS1="[\\h]# "\nexport PS1\n'
POWER_BUTTON = "#!/bin/sh\npoweroff -f\n"


class TinyImage:
    """The files of a build, in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.kernel = directory / "vmlinuz"
        self.initrd = directory / "initramfs.gz"
        self.disk = directory / "disk.qcow2"
        self.info_file = directory / "build-info.json"

    def info(self) -> dict[str, object]:
        return dict(json.loads(self.info_file.read_text()))


def _run(*args: str, cwd: Path | None = None) -> str:
    try:
        out = subprocess.run(list(args), cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise RuntimeError(f"{args[0]} is not installed (see scripts/ci-libvirt-setup.sh)") from None
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{' '.join(args)} failed: {exc.stderr.strip() or exc.stdout.strip()}") from None
    return out.stdout


def kernel_package() -> str:
    """The versioned package the meta-package depends on (a glob would fetch every kernel there is)."""
    for line in _run("apt-cache", "depends", KERNEL_META_PACKAGE).splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            return line.split()[1]
    raise RuntimeError(f"apt-cache knows no kernel behind {KERNEL_META_PACKAGE}: run apt-get update")


def _module_order(modules_dir: Path, wanted: tuple[str, ...]) -> list[Path]:
    """The wanted modules and their dependencies, each after what it needs (from modules.dep)."""
    deps: dict[str, list[str]] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        path, _, needs = line.partition(":")
        deps[path] = needs.split()
    by_name = {Path(p).name.split(".ko")[0].replace("-", "_"): p for p in deps}
    order: list[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        for dep in deps.get(path, []):
            visit(dep)
        order.append(path)

    for name in wanted:
        if name not in by_name:
            raise RuntimeError(f"kernel module {name} is not in {modules_dir} (built in?)")
        visit(by_name[name])
    return [modules_dir / p for p in order]


def _module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    return data


class _Cpio:
    """A newc cpio archive written in memory: what the kernel unpacks as the initramfs."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"") -> None:
        header = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0))
        self.ino += 1
        self.out.write(header.encode() + name.encode() + b"\0")
        self.out.write(b"\0" * (-(110 + len(name) + 1) % 4))
        self.out.write(data)
        self.out.write(b"\0" * (-len(data) % 4))

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return self.out.getvalue()


def _initramfs(modules: list[Path]) -> bytes:
    busybox = Path("/bin/busybox")
    if not busybox.exists():
        raise RuntimeError("/bin/busybox is missing: apt-get install busybox-static")
    archive = _Cpio()
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "etc/acpi", "etc/acpi/PWRF", "etc/udhcpc",
              "lib", "lib/modules", "proc", "sys", "dev", "run", "tmp", "mnt", "root", "var", "var/run"):
        archive.directory(d)
    archive.file("bin/busybox", busybox.read_bytes(), 0o755)
    for applet in _run(str(busybox), "--list-full").split():
        if applet.rsplit("/", 1)[-1] == "busybox" or applet == "bin/busybox":
            continue  # the loop would otherwise replace the binary with a link to itself
        archive.symlink(applet, "/bin/busybox")
    archive.file("init", INIT.encode(), 0o755)
    archive.file("etc/udhcpc/default.script", DHCP_SCRIPT.encode(), 0o755)
    archive.file("etc/acpi/PWRF/00000080", POWER_BUTTON.encode(), 0o755)
    archive.file("etc/profile", PROFILE.encode())
    archive.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    archive.file("etc/group", b"root:x:0:\n")
    names = []
    for module in modules:
        name = module.name.split(".ko")[0]
        archive.file(f"lib/modules/{name}.ko", _module_bytes(module))
        names.append(name)
    archive.file("etc/modules", ("\n".join(names) + "\n").encode())
    return gzip.compress(archive.finish(), compresslevel=6, mtime=0)


def cached(directory: Path) -> TinyImage | None:
    """The build in ``directory`` if it is complete and of the current recipe."""
    image = TinyImage(directory)
    try:
        if image.info().get("recipe") == RECIPE_VERSION and image.kernel.exists() and image.initrd.exists() \
                and image.disk.exists():
            return image
    except (OSError, ValueError):
        pass
    return None


def build(directory: Path, *, force: bool = False) -> TinyImage:
    """Build into ``directory`` (kept if a complete build of this recipe is already there)."""
    if not force and (found := cached(directory)) is not None:
        return found
    directory.mkdir(parents=True, exist_ok=True)
    package = kernel_package()
    with tempfile.TemporaryDirectory(prefix="cloudlet-tiny-") as tmp:
        work = Path(tmp)
        _run("apt-get", "download", package, cwd=work)
        deb = next(work.glob("*.deb"))
        _run("dpkg-deb", "-x", str(deb), str(work / "root"))
        kernels = sorted((work / "root" / "boot").glob("vmlinuz-*"))
        if not kernels:
            raise RuntimeError(f"{package} holds no /boot/vmlinuz-*")
        version = kernels[0].name.removeprefix("vmlinuz-")
        _run("depmod", "-b", str(work / "root"), version)
        modules = _module_order(work / "root" / "lib" / "modules" / version, MODULES)
        initrd = _initramfs(modules)

        disk_src = work / "disk-src"
        disk_src.mkdir()
        (disk_src / "cloudlet-tiny").write_text(f"cloudlet-tiny root disk (kernel {version})\n")
        raw = work / "disk.raw"
        _run("mkfs.ext4", "-q", "-F", "-L", "cloudlet-root", "-d", str(disk_src), str(raw), f"{DISK_MIB}M")

        image = TinyImage(directory)
        shutil.copyfile(kernels[0], image.kernel)
        image.initrd.write_bytes(initrd)
        _run("qemu-img", "convert", "-O", "qcow2", str(raw), str(image.disk))
        image.info_file.write_text(json.dumps({
            "recipe": RECIPE_VERSION, "kernel_package": package, "kernel_version": version,
            "modules": [m.name for m in modules], "cmdline": "console=ttyS0 panic=-1 quiet",
        }, indent=2) + "\n")
    os.sync()
    return image


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m cloudlet.compute.libvirt.tiny_image DIR", file=sys.stderr)
        return 2
    image = build(Path(argv[0]))
    print(f"cloudlet-tiny in {image.directory}: kernel {image.info()['kernel_version']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

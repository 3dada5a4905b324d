#!/usr/bin/env bash
# Prepares a Debian 12 machine for the libvirt tests (tests/libvirt, marker `libvirt`): QEMU (TCG only),
# libvirt without systemd, dnsmasq and iptables for isolated networks, the `libvirt` extra in .venv, and
# the tiny guest image in a cache directory. Idempotent: a second run only checks.
# See /work/shared/reference/real-driver-notes.md for why each step is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  qemu-system-x86 qemu-utils busybox-static kmod cpio e2fsprogs
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-dev pkg-config
  dnsmasq-base iptables iproute2
)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  # --no-install-recommends: libvirt-daemon-system would pull in systemd and replace /sbin/init
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# libvirtd parses its compiled-in default user before reading qemu.conf, so the user must exist.
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
getent group libvirt >/dev/null || groupadd -r libvirt
mkdir -p /etc/libvirt
want='user = "root"
group = "root"
security_driver = "none"
stdio_handler = "file"'
if [ "$(cat /etc/libvirt/qemu.conf 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" > /etc/libvirt/qemu.conf
fi

# The Python binding from PyPI (Debian's python3-libvirt is invisible to a pyenv/venv Python).
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-$(command -v python3.11 || command -v python3)}" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
if ! .venv/bin/python -c "import libvirt, pycdlib" 2>/dev/null; then
  .venv/bin/python -m pip install -q -e ".[test,libvirt]"
fi

# The tiny guest (kernel from linux-image-cloud-amd64, busybox initramfs): about 5 s, cached.
CACHE="${CLOUDLET_TINY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlet/tiny}"
.venv/bin/python -m cloudlet.compute.libvirt.tiny_image "$CACHE"
echo "libvirt test setup ready (tiny image in $CACHE)"

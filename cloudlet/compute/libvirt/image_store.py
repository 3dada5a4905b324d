"""cloudlet's image store: the files of each image, keyed by image id, on the machine running cloudlet.

    <image dir>/<image id>.qcow2      the disk (every image has one)
    <image dir>/<image id>.kernel     optional: boot this kernel directly (the tiny image)
    <image dir>/<image id>.initrd     optional, with .kernel
    <image dir>/<image id>.cmdline    optional, with .kernel: its kernel command line

The images table has no path column: the id is the key. Registration copies a qcow2 (or converts a
raw file with ``qemu-img``) into the store; the driver uploads the files to each host that needs them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["ImageFiles", "ImageStoreError", "detect_format", "find", "store"]

QCOW2_MAGIC = b"QFI\xfb"


class ImageStoreError(Exception):
    """A file cannot be taken into the store (missing, unreadable, not a disk image)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ImageFiles:
    image_id: str
    disk: Path
    kernel: Path | None = None
    initrd: Path | None = None
    cmdline: str | None = None

    def parts(self) -> dict[str, Path]:
        """The files to upload to a host, by part name."""
        found = {"disk": self.disk}
        if self.kernel is not None:
            found["kernel"] = self.kernel
        if self.initrd is not None:
            found["initrd"] = self.initrd
        return found

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.parts().values())


def find(image_dir: Path, image_id: str) -> ImageFiles | None:
    """The stored files of an image, None if it has no disk in the store."""
    disk = image_dir / f"{image_id}.qcow2"
    if not disk.is_file():
        return None
    kernel = image_dir / f"{image_id}.kernel"
    initrd = image_dir / f"{image_id}.initrd"
    cmdline = image_dir / f"{image_id}.cmdline"
    has_kernel = kernel.is_file()
    return ImageFiles(
        image_id=image_id, disk=disk, kernel=kernel if has_kernel else None,
        initrd=initrd if has_kernel and initrd.is_file() else None,
        cmdline=cmdline.read_text().strip() if has_kernel and cmdline.is_file() else None,
    )


def detect_format(path: Path) -> str:
    with path.open("rb") as f:
        return "qcow2" if f.read(4) == QCOW2_MAGIC else "raw"


def virtual_size(path: Path) -> int:
    """The disk's size as the guest sees it, in bytes (``qemu-img info``)."""
    try:
        out = subprocess.run(["qemu-img", "info", "--output=json", str(path)], check=True, capture_output=True,
                             text=True).stdout
    except FileNotFoundError:
        raise ImageStoreError("qemu-img is not installed (apt-get install qemu-utils)") from None
    except subprocess.CalledProcessError as exc:
        raise ImageStoreError(f"{path} is not a disk image qemu-img can read: {exc.stderr.strip()}") from None
    return int(json.loads(out)["virtual-size"])


def store(image_dir: Path, image_id: str, disk: Path, *, kernel: Path | None = None, initrd: Path | None = None,
          cmdline: str | None = None) -> ImageFiles:
    """Copy an image's files into the store (a raw disk is converted to qcow2); returns the stored files."""
    if not disk.is_file():
        raise ImageStoreError(f"{disk} does not exist")
    for extra in (kernel, initrd):
        if extra is not None and not extra.is_file():
            raise ImageStoreError(f"{extra} does not exist")
    image_dir.mkdir(parents=True, exist_ok=True)
    target = image_dir / f"{image_id}.qcow2"
    partial = image_dir / f".{image_id}.qcow2.part"
    if detect_format(disk) == "qcow2":
        virtual_size(disk)  # refuse what qemu-img cannot read
        shutil.copyfile(disk, partial)
    else:
        if disk.stat().st_size == 0 or disk.stat().st_size % 512:
            raise ImageStoreError(f"{disk} is neither qcow2 nor a raw disk (its size is not a whole number of "
                                  f"512-byte sectors)")
        try:
            subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(disk), str(partial)], check=True,
                           capture_output=True, text=True)
        except FileNotFoundError:
            raise ImageStoreError("qemu-img is not installed (apt-get install qemu-utils)") from None
        except subprocess.CalledProcessError as exc:
            raise ImageStoreError(f"qemu-img could not convert {disk}: {exc.stderr.strip()}") from None
    if kernel is not None:
        shutil.copyfile(kernel, image_dir / f"{image_id}.kernel")
        if initrd is not None:
            shutil.copyfile(initrd, image_dir / f"{image_id}.initrd")
        if cmdline:
            (image_dir / f"{image_id}.cmdline").write_text(cmdline + "\n")
    os.replace(partial, target)  # last: a disk in the store means the image is complete
    found = find(image_dir, image_id)
    assert found is not None
    return found

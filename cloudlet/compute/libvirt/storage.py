"""Disks on a libvirt host, through libvirt's storage API only (so remote hosts need no agent of ours).

Each host has one directory pool, "cloudlet", at the instance disk directory. In it:

- ``image-<image id>.<part>``: an image's files, uploaded once per host from cloudlet's image store
  (``disk`` is qcow2; the tiny image adds ``kernel``, ``initrd``). ``image-<id>.complete`` is written
  after the last byte, so an upload cut short by a crash is redone, never used;
- ``volume-<volume id>.qcow2``: a volume; a qcow2 overlay on its image's disk (libvirt runs
  ``qemu-img create -b``), or an empty qcow2 disk, sized by the volume;
- ``config-<instance id>.iso``: the config drive; ``<instance id>.console.log``: the serial log.

Every function here is blocking: the driver runs them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from cloudlet.compute.base import DriverError
from cloudlet.compute.libvirt.image_store import ImageFiles

__all__ = ["POOL_NAME", "HostStorage", "config_volume", "console_log_volume", "volume_name"]

POOL_NAME = "cloudlet"
GIB = 1024**3
UPLOAD_WAIT_SECONDS = 600.0
_upload_locks: dict[tuple[str, str], threading.Lock] = {}
_upload_locks_guard = threading.Lock()


def volume_name(volume_id: str) -> str:
    return f"volume-{volume_id}.qcow2"


def config_volume(instance_id: str) -> str:
    return f"config-{instance_id}.iso"


def console_log_volume(instance_id: str) -> str:
    return f"{instance_id}.console.log"


def _volume_xml(name: str, capacity: int, fmt: str, backing: tuple[str, str] | None = None) -> str:
    volume = ET.Element("volume")
    ET.SubElement(volume, "name").text = name
    ET.SubElement(volume, "capacity", unit="bytes").text = str(capacity)
    ET.SubElement(volume, "allocation", unit="bytes").text = "0"
    target = ET.SubElement(volume, "target")
    ET.SubElement(target, "format", type=fmt)
    ET.SubElement(ET.SubElement(target, "permissions"), "mode").text = "0600"
    if backing is not None:
        store = ET.SubElement(volume, "backingStore")
        ET.SubElement(store, "path").text = backing[0]
        ET.SubElement(store, "format", type=backing[1])
    return ET.tostring(volume, encoding="unicode")


class HostStorage:
    """The cloudlet pool of one host, on a libvirt connection."""

    def __init__(self, libvirt: Any, conn: Any, host: str, pool_path: str) -> None:
        self._lv = libvirt
        self._conn = conn
        self._host = host
        self._pool_path = pool_path

    def pool(self) -> Any:
        """The pool, defined, built and started if need be."""
        lv = self._lv
        try:
            pool = self._conn.storagePoolLookupByName(POOL_NAME)
        except lv.libvirtError as exc:
            if exc.get_error_code() != lv.VIR_ERR_NO_STORAGE_POOL:
                raise
            root = ET.Element("pool", type="dir")
            ET.SubElement(root, "name").text = POOL_NAME
            ET.SubElement(ET.SubElement(root, "target"), "path").text = self._pool_path
            pool = self._conn.storagePoolDefineXML(ET.tostring(root, encoding="unicode"), 0)
            pool.build(0)  # mkdir -p
            pool.setAutostart(1)
        if not pool.isActive():
            pool.create(0)
        return pool

    def _lookup(self, pool: Any, name: str) -> Any | None:
        try:
            return pool.storageVolLookupByName(name)
        except self._lv.libvirtError as exc:
            if exc.get_error_code() == self._lv.VIR_ERR_NO_STORAGE_VOL:
                return None
            raise

    def path_of(self, name: str) -> str:
        return f"{self._pool_path.rstrip('/')}/{name}"

    # --- images ---------------------------------------------------------------------------

    def ensure_image(self, image: ImageFiles) -> dict[str, str]:
        """Upload the image's files unless the host has them complete; returns part -> path on the host."""
        key = (self._host, image.image_id)
        with _upload_locks_guard:
            lock = _upload_locks.setdefault(key, threading.Lock())
        with lock:
            pool = self.pool()
            marker = f"image-{image.image_id}.complete"
            parts = image.parts()
            if self._lookup(pool, marker) is None:
                for part, path in parts.items():
                    self._upload(pool, f"image-{image.image_id}.{part}", path)
                pool.createXML(_volume_xml(marker, 0, "raw"), 0)
            return {part: self.path_of(f"image-{image.image_id}.{part}") for part in parts}

    def _upload(self, pool: Any, name: str, source: Path) -> None:
        old = self._lookup(pool, name)
        if old is not None:
            old.delete(0)  # an earlier upload that never completed
        size = source.stat().st_size
        volume = pool.createXML(_volume_xml(name, size, "raw"), 0)
        stream = self._conn.newStream(0)
        try:
            volume.upload(stream, 0, size, 0)
            with source.open("rb") as src:
                stream.sendAll(lambda _stream, nbytes, fh: fh.read(nbytes), src)
            stream.finish()
        except BaseException:
            try:
                stream.abort()
            except self._lv.libvirtError:
                pass
            volume.delete(0)
            raise

    # --- volumes and files ----------------------------------------------------------------

    def ensure_disk(self, name: str, size_gib: int, backing: str | None) -> str:
        """A qcow2 volume of ``size_gib`` (an overlay on ``backing`` if given); an existing one is kept."""
        pool = self.pool()
        if self._lookup(pool, name) is None:
            xml = _volume_xml(name, max(size_gib, 1) * GIB, "qcow2",
                              (backing, "qcow2") if backing is not None else None)
            pool.createXML(xml, 0)
        return self.path_of(name)

    def put_file(self, name: str, data: bytes) -> str:
        """A raw volume holding ``data`` (replaced if it exists)."""
        pool = self.pool()
        old = self._lookup(pool, name)
        if old is not None:
            old.delete(0)
        volume = pool.createXML(_volume_xml(name, len(data), "raw"), 0)
        stream = self._conn.newStream(0)
        try:
            volume.upload(stream, 0, len(data), 0)
            offset = 0
            while offset < len(data):
                sent = stream.send(data[offset:offset + 65536])
                if sent < 0:
                    raise DriverError(f"libvirt on {self._host}: upload of {name} failed")
                offset += sent
            stream.finish()
        except BaseException:
            try:
                stream.abort()
            except self._lv.libvirtError:
                pass
            volume.delete(0)
            raise
        return self.path_of(name)

    def delete(self, names: list[str], *, refresh: bool = False) -> None:
        """Delete the volumes that exist among ``names`` (files QEMU made need ``refresh`` to be seen)."""
        pool = self.pool()
        if refresh:
            self._refresh(pool)
        for name in names:
            volume = self._lookup(pool, name)
            if volume is not None:
                volume.delete(0)

    def exists(self, name: str) -> bool:
        return self._lookup(self.pool(), name) is not None

    def names_at(self, paths: list[str]) -> list[str]:
        """The pool volume names among disk paths (disks elsewhere are not cloudlet's to delete)."""
        prefix = self._pool_path.rstrip("/") + "/"
        return [p[len(prefix):] for p in paths if p.startswith(prefix) and "/" not in p[len(prefix):]]

    def _refresh(self, pool: Any) -> None:
        # a refresh fails while another is running in libvirt; try a few times
        for attempt in range(5):
            try:
                pool.refresh(0)
                return
            except self._lv.libvirtError:
                if attempt == 4:
                    raise
                time.sleep(0.2)

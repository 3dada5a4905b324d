"""Connections to libvirt hosts, and the event loop thread libvirt needs for events and streams.

libvirt delivers lifecycle events, stream callbacks and keep-alives only while an event loop runs:
``virEventRegisterDefaultImpl()`` (before the first connection) and a thread that keeps calling
``virEventRunDefaultImpl()``. One per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cloudlet.compute.base import DriverUnavailable, HostInfo

__all__ = ["HostConnection", "import_libvirt", "start_event_loop"]

_loop_lock = threading.Lock()
_loop_started = False

LifecycleHandler = Callable[[str, Any, int, int], None]  # host, domain, event, detail


def import_libvirt() -> Any:
    """The ``libvirt`` module, or a start-up error that says how to get it."""
    try:
        import libvirt
    except ImportError as exc:
        raise DriverUnavailable(
            "CLOUDLET_DRIVER=libvirt needs the libvirt Python binding: pip install 'cloudlet[libvirt]' "
            "(it builds against the libvirt-dev and pkg-config Debian packages)") from exc
    return libvirt


def start_event_loop(libvirt: Any) -> None:
    global _loop_started
    with _loop_lock:
        if _loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()
        # libvirt prints every error to stderr by default; they reach callers as exceptions instead
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _loop_started = True


class HostConnection:
    """One libvirt host: its URI, a shared connection (reopened when it drops) and its capacity."""

    def __init__(self, libvirt: Any, uri: str, on_lifecycle: LifecycleHandler | None = None) -> None:
        self._lv = libvirt
        self.uri = uri
        self._on_lifecycle = on_lifecycle
        self._lock = threading.Lock()
        self._conn: Any = None
        conn = self.get()
        self.hostname: str = conn.getHostname()
        info = conn.getInfo()  # [model, memory MiB, cpus, MHz, nodes, sockets, cores, threads]
        self.memory_mib: int = int(info[1])
        self.cpus: int = int(info[2])
        self.lib_version: int = int(conn.getLibVersion())
        self.name = self.hostname

    def open_new(self) -> Any:
        """A connection of its own (consoles: a busy stream must not stall the shared connection)."""
        try:
            return self._lv.open(self.uri)
        except self._lv.libvirtError as exc:
            raise DriverUnavailable(f"Cannot connect to libvirt at {self.uri}: {exc.get_error_message()}") from exc

    def get(self) -> Any:
        """The shared connection, reopened if libvirtd went away since."""
        with self._lock:
            if self._conn is not None:
                try:
                    if self._conn.isAlive():
                        return self._conn
                except self._lv.libvirtError:
                    pass
                try:
                    self._conn.close()
                except self._lv.libvirtError:
                    pass
                self._conn = None
            conn = self.open_new()
            try:
                conn.setKeepAlive(5, 3)
            except self._lv.libvirtError:
                pass  # a local driver without keep-alive support
            if self._on_lifecycle is not None:
                handler = self._on_lifecycle
                conn.domainEventRegisterAny(
                    None, self._lv.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                    lambda _conn, dom, event, detail, _opaque: handler(self.name, dom, event, detail), None)
            self._conn = conn
            return conn

    def host_info(self, *, cpu_ratio: float, ram_ratio: float) -> HostInfo:
        """Capacity in flavor units: guests are capped, so the host takes more than its size (Nova's ratios)."""
        return HostInfo(name=self.name, vcpus=int(self.cpus * cpu_ratio), ram=int(self.memory_mib * ram_ratio))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except self._lv.libvirtError:
                    pass
                self._conn = None

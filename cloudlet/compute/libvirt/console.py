"""Consoles of libvirt guests: the serial console as text, the VNC server as raw RFB bytes.

The serial console is a non-blocking ``virStream`` (``virDomainOpenConsole``) on a connection of its
own, read through stream callbacks on libvirt's event thread: a blocking reader on the shared
connection can stall other calls for seconds. What the guest printed before the console was opened
(its boot banner) is replayed first from the serial log, when that file is readable here.

VNC: ``virDomainOpenGraphicsFD`` hands over a socket already connected to QEMU's VNC server, so the
server never needs to be reachable over the network (it listens on the host's 127.0.0.1, possibly
in another network namespace). That needs a local libvirt connection (a ``qemu:///`` URI).
"""

from __future__ import annotations

import asyncio
import codecs
import socket
from pathlib import Path
from typing import Any

from cloudlet.compute.base import DriverUnavailable

__all__ = ["SerialConsole", "VncConsole", "log_tail"]

REPLAY_BYTES = 64 * 1024


def log_tail(path: Path, limit: int = REPLAY_BYTES) -> bytes:
    """The last ``limit`` bytes of a serial log, b"" if it cannot be read here (a remote host)."""
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read()
    except OSError:
        return b""


class SerialConsole:
    """A ``ConsoleStream`` on a domain's serial console."""

    def __init__(self, libvirt: Any, conn: Any, domain: Any, loop: asyncio.AbstractEventLoop,
                 replay: bytes = b"") -> None:
        self._lv = libvirt
        self._conn = conn
        self._loop = loop
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._closed = False
        if replay:
            self._queue.put_nowait(replay)
        self._stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        # FORCE: take the console over from an earlier session (a browser tab left open)
        domain.openConsole(None, self._stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        self._stream.eventAddCallback(
            libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP,
            self._on_event, None)

    def _push(self, data: bytes | None) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, data)

    def _on_event(self, stream: Any, events: int, _opaque: Any) -> None:
        """On libvirt's event thread: drain what is readable."""
        lv = self._lv
        if events & lv.VIR_STREAM_EVENT_READABLE:
            while True:
                try:
                    data = stream.recv(65536)
                except lv.libvirtError:
                    self._end(stream)
                    return
                if data == -2:  # would block
                    break
                if not data:
                    self._end(stream)
                    return
                self._push(bytes(data))
        if events & (lv.VIR_STREAM_EVENT_ERROR | lv.VIR_STREAM_EVENT_HANGUP):
            self._end(stream)

    def _end(self, stream: Any) -> None:
        try:
            stream.eventRemoveCallback()
        except self._lv.libvirtError:
            pass
        self._push(None)

    async def read(self) -> str:
        while True:
            data = await self._queue.get()
            if data is None:
                self._queue.put_nowait(None)
                return self._decoder.decode(b"", final=True)
            text = self._decoder.decode(data)
            if text:
                return text

    async def write(self, data: str) -> None:
        if self._closed:
            return
        payload = data.encode()

        def send() -> None:
            offset = 0
            while offset < len(payload):
                sent = self._stream.send(payload[offset:])
                if sent == -2:
                    continue
                if sent < 0:
                    return
                offset += sent

        try:
            await asyncio.to_thread(send)
        except self._lv.libvirtError:
            self._push(None)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def finish() -> None:
            for call in (self._stream.eventRemoveCallback, self._stream.abort, self._conn.close):
                try:
                    call()
                except self._lv.libvirtError:
                    pass

        await asyncio.to_thread(finish)


class VncConsole:
    """A ``FramebufferStream`` on a socket connected to the guest's VNC server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, libvirt: Any, domain: Any, host: str) -> VncConsole:
        try:
            fd = await asyncio.to_thread(domain.openGraphicsFD, 0, libvirt.VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH)
        except libvirt.libvirtError as exc:
            raise DriverUnavailable(f"libvirt on {host} cannot hand over the VNC console: {exc.get_error_message()}"
                                    " (VNC needs a local qemu:/// connection and a running guest)") from exc
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    async def read(self) -> bytes:
        try:
            return await self._reader.read(65536)
        except ConnectionError:
            return b""

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass

"""A minimal HTTP/1.1 keep-alive client for the create loaders.

The loaders share the machine's two cores with the server they measure. httpx costs about 1 ms of
CPU per request pair (a create and its task poll), a third of what cloudlet spends on the create
itself, so with httpx the loader, not the server, set the create rate. This client writes a
request in one send and reads a ``Content-Length`` or chunked answer; nothing more (no TLS, no
redirects, no compression), which is all that cloudlet's and moto's servers on loopback need.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class HttpError(Exception):
    """The connection failed or the answer was not HTTP/1.x."""


class Connection:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        fixed = {"Host": f"{self.host}:{self.port}", **headers}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"",
                      content_type: str = "application/json") -> tuple[int, bytes]:
        """(status, body) of one request; one retry on a fresh connection if a kept one was closed."""
        for attempt in (1, 2):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            try:
                return await self._exchange(method, path, body, content_type)
            except (ConnectionError, asyncio.IncompleteReadError, HttpError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        assert self._reader is not None and self._writer is not None
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._fixed
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n".encode()
        self._writer.write(head + b"\r\n" + body)
        status_line = await self._reader.readline()
        if not status_line.startswith(b"HTTP/1."):
            raise HttpError(f"not an HTTP answer: {status_line[:80]!r}")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = None, False, status_line.startswith(b"HTTP/1.0")
        while (line := await self._reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        if chunked:
            data = await self._read_chunks()
        elif length is not None:
            data = await self._reader.readexactly(length)
        else:  # no length: the body runs to the end of the connection
            data, close = await self._reader.read(), True
        if close:
            self.close()
        return status, data

    async def _read_chunks(self) -> bytes:
        assert self._reader is not None
        parts = []
        while size := int((await self._reader.readline()).split(b";")[0], 16):
            parts.append(await self._reader.readexactly(size))
            await self._reader.readline()
        while (await self._reader.readline()) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(parts)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

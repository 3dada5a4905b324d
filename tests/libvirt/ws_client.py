"""A minimal blocking websocket client (RFC 6455), enough to talk to cloudlet's console socket.

The test dependencies hold no websocket client; this one does the handshake, masked client frames,
and reads text, binary and close frames.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from urllib.parse import urlsplit


class WebSocketClosed(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"websocket closed: {code} {reason}")
        self.code = code
        self.reason = reason


class WebSocket:
    def __init__(self, url: str, *, subprotocol: str | None = None, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("no websocket handshake answer")
            head += chunk
        head, self._buffer = head.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise ConnectionError(f"websocket handshake refused: {status!r}")
        self.headers = head.decode(errors="replace").lower()

    def _read_exact(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WebSocketClosed(None, "connection lost")
            self._buffer += chunk
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def receive(self) -> str | bytes:
        """The next text (str) or binary (bytes) message; raises ``WebSocketClosed`` on a close frame."""
        message, kind = b"", 0
        while True:
            first, second = self._read_exact(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read_exact(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read_exact(8))[0]
            payload = self._read_exact(length)
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise WebSocketClosed(code, payload[2:].decode(errors="replace"))
            if opcode == 0x9:  # ping
                self._send(0xA, payload)
                continue
            kind = opcode or kind  # 0: a continuation of the message begun with ``kind``
            message += payload
            if first & 0x80:  # FIN
                return message.decode(errors="replace") if kind == 0x1 else message

    def _send(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def send_bytes(self, data: bytes) -> None:
        self._send(0x2, data)

    def read_until(self, needle: str, timeout: float) -> str:
        """Text received until ``needle`` appears; raises TimeoutError with what was seen."""
        seen = ""
        deadline = time.monotonic() + timeout
        while needle not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{needle!r} not seen in {timeout} s; console showed:\n{seen[-3000:]}")
            self.sock.settimeout(remaining)
            try:
                message = self.receive()
            except socket.timeout:
                continue
            seen += message if isinstance(message, str) else message.decode(errors="replace")
        return seen

    def close(self) -> None:
        try:
            self._send(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()

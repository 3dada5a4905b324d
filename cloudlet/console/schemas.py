"""Wire model of ``get_console`` (endpoints.md S8)."""

from __future__ import annotations

from msgspec import Struct


class RemoteConsole(Struct):
    protocol: str
    type: str
    url: str


class Console(Struct):
    remote_console: RemoteConsole

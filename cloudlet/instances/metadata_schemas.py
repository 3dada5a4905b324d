"""Wire models of the v1/v2 instance metadata endpoints (endpoints.md sections 5-6)."""

from __future__ import annotations

from msgspec import Struct


class MetadataItem(Struct):
    key: str
    value: str
    read_only: bool


class MetadataList(Struct):
    count: int
    results: list[MetadataItem]

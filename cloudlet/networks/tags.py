"""Key/value tags as the network-side groups store them: a JSON list of ``{key, value, read_only}``.

Shared by networks, subnets, floating IPs and security groups: create takes a map, PATCH takes a
JSON merge patch (a ``null`` value deletes a key, ``tags: null`` deletes every user tag), lists
filter with ``tag_key`` (every key present) and ``tag_key_value`` (``{"k": "v"}`` or ``k=v``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from cloudlet.core.errors import ValidationError
from cloudlet.core.pagination import split_multi

TagList = list[dict[str, Any]]


def from_map(values: Mapping[str, str] | None) -> TagList:
    return [{"key": k, "value": v, "read_only": False} for k, v in sorted((values or {}).items())]


def merge_patch(current: Iterable[dict[str, Any]], patch: Mapping[str, str | None] | None) -> TagList:
    """RFC 7386 over the tag map; read-only tags never change."""
    tags = {t["key"]: dict(t) for t in current}
    if patch is None:
        return [t for _, t in sorted(tags.items()) if t.get("read_only")]
    for key, value in patch.items():
        existing = tags.get(key)
        if existing is not None and existing.get("read_only"):
            continue
        if value is None:
            tags.pop(key, None)
        else:
            tags[key] = {"key": key, "value": value, "read_only": False}
    return [t for _, t in sorted(tags.items())]


def parse_key_value(value: str | None, field: str = "tag_key_value") -> dict[str, str]:
    """``{"k": "v"}`` (Gcore's documented form) or ``k=v``."""
    if value is None:
        return {}
    text = value.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise ValidationError.for_field(field, "must be a JSON object such as {\"key\": \"value\"}") from None
        if not isinstance(parsed, dict):
            raise ValidationError.for_field(field, "must be a JSON object such as {\"key\": \"value\"}")
        return {str(k): str(v) for k, v in parsed.items()}
    key, sep, val = text.partition("=")
    if not sep or not key:
        raise ValidationError.for_field(field, 'use a JSON object such as {"key": "value"}, or key=value')
    return {key: val}


class TagFilter:
    """The ``tag_key`` / ``tag_key_value`` query of a list endpoint."""

    def __init__(self, tag_key: list[str] | None, tag_key_value: str | None) -> None:
        self.keys = split_multi(tag_key)
        self.pairs = parse_key_value(tag_key_value)

    def __bool__(self) -> bool:
        return bool(self.keys or self.pairs)

    def matches(self, tags: Iterable[dict[str, Any]] | None) -> bool:
        present = {t["key"]: t["value"] for t in tags or ()}
        return all(k in present for k in self.keys) and all(present.get(k) == v for k, v in self.pairs.items())

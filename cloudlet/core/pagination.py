"""Offset pagination: ``count`` is always the total number of matches (the Python SDK pages on it)."""

from __future__ import annotations

from typing import Any

from cloudlet.core.errors import ValidationError

MAX_LIMIT = 1000


def page_bounds(limit: int | None, offset: int | None, *, default: int = MAX_LIMIT) -> tuple[int, int]:
    limit = default if limit is None else limit
    offset = 0 if offset is None else offset
    if limit < 0 or limit > MAX_LIMIT:
        raise ValidationError.for_field("limit", f"limit must be between 0 and {MAX_LIMIT}")
    if offset < 0:
        raise ValidationError.for_field("offset", "offset must not be negative")
    return limit, offset


def envelope(count: int, results: list[Any]) -> dict[str, Any]:
    return {"count": count, "results": results}


def split_multi(values: list[str] | None) -> list[str]:
    """Accept both ``?k=a&k=b`` and ``?k=a,b`` (endpoints.md fact 7)."""
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out

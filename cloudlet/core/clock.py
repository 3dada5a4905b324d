"""Time and identifiers. All stored times are naive UTC, rendered as ISO 8601 (Gcore's own form)."""

from __future__ import annotations

import datetime as dt
import uuid


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_id() -> str:
    return str(uuid.uuid4())


def parse_timestamp(value: str) -> dt.datetime:
    """Parse an ISO 8601 time from a query; a zone is converted to UTC, no zone means UTC."""
    text = value.strip().replace(" ", "+") if "T" in value else value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed

"""The rules every instance tag (= metadata item) obeys, wherever it is written: create, PATCH, metadata."""

from __future__ import annotations

import re
from typing import Any

from cloudlet.core.errors import ValidationError

MAX_ITEMS = 100
MAX_KEY_CHARS = 255
MAX_VALUE_BYTES = 1024
_BAD_KEY = re.compile(r"[\s=]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_items(items: dict[str, Any]) -> dict[str, str]:
    """Keys of 1-255 characters without whitespace or '='; string values of at most 1024 bytes."""
    for key, value in items.items():
        if not key or len(key) > MAX_KEY_CHARS:
            raise ValidationError.for_field(key or "key", f"A key must have 1 to {MAX_KEY_CHARS} characters")
        if _BAD_KEY.search(key):
            raise ValidationError.for_field(key, "A key cannot contain spaces, tabs, newlines or '='")
        if not isinstance(value, str):
            raise ValidationError.for_field(key, f"The value must be a string, not {type(value).__name__}")
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise ValidationError.for_field(key, f"The value must be at most {MAX_VALUE_BYTES} bytes")
        if _CONTROL.search(value):
            raise ValidationError.for_field(key, "The value cannot contain tabs, newlines or control characters")
    return dict(items)


def check_count(keys: set[str]) -> None:
    if len(keys) > MAX_ITEMS:
        raise ValidationError.for_field("metadata", f"An instance can have at most {MAX_ITEMS} metadata items; "
                                                    f"this request would make {len(keys)}")

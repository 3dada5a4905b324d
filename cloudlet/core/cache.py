"""A small in-process cache with a time limit, for facts that change rarely and are read on every
request (who an API key is, which project a scope resolves to).

Entries live ``ttl`` seconds at most: in a cluster, a change made through another process (a revoked
key, a deleted project) takes effect here within that time; in this process, code that makes such a
change calls ``clear()`` so it takes effect at once.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any


class TtlCache:
    def __init__(self, ttl: float, max_items: int = 10_000) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable) -> Any:
        """The cached value, or None when absent or expired."""
        hit = self._items.get(key)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        return hit[1]

    def put(self, key: Hashable, value: Any) -> None:
        if len(self._items) >= self.max_items:
            self._items.clear()  # rare; simpler and cheaper than tracking recency
        self._items[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        self._items.clear()

"""A small in-process cache with a time limit, for facts that change rarely and are read on every
request (who an API key is, which project a scope resolves to).

Entries live ``ttl`` seconds at most: in a cluster, a change made through another process (a revoked
key, a deleted project) takes effect here within that time; in this process, code that makes such a
change calls ``clear()`` so it takes effect at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class TtlCache:
    def __init__(self, ttl: float, max_items: int = 10_000) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._items: dict[Hashable, tuple[float, Any]] = {}
        self._loading: dict[Hashable, asyncio.Future[Any]] = {}
        self._generation = 0  # moved by clear(): a load begun before it must not fill the cache after it

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

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """The cached value, or else ``load()``'s, kept for next time. Callers missing the same key at
        the same moment share one load: when a busy entry expires, one query refills it, not one per
        request waiting (``load`` must therefore use no caller's connection). A failed load fails
        every caller that shared it, and is not kept."""
        value = self.get(key)
        if value is not None:
            return value
        pending = self._loading.get(key)
        if pending is None:
            pending = self._loading[key] = asyncio.ensure_future(self._load(key, load, self._generation))
        return await asyncio.shield(pending)

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[Any]], generation: int) -> Any:
        try:
            value = await load()
            if generation == self._generation:
                self.put(key, value)
            return value
        finally:
            if generation == self._generation:
                self._loading.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
        self._loading.clear()
        self._generation += 1

"""Concurrent lookups by key, coalesced into one query per round trip.

Under load many requests want one small value each (the revision a cached GET checks) at the same
moment. Asking the database once per request costs a round trip, a backend wake-up and a statement
each; asking once for all of them costs one. ``BatchedLookup`` keeps at most one query in flight: keys
asked for meanwhile wait for the next query, which starts as soon as the current one returns. A key is
never added to a query already sent, so every answer reflects what was committed before it was asked.
With one request at a time a lookup goes out at once, alone: batching adds no wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchedLookup(Generic[K, V]):
    """``await lookup.get(key)``: ``fetch([key, ...])[key]``, or None when ``fetch`` does not find it.

    If a query fails, every lookup in it raises its exception."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]]) -> None:
        self._fetch = fetch
        self._next: dict[K, asyncio.Future[V | None]] = {}  # keys for the next query
        self._sender: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        future = self._next.get(key)
        if future is None:
            future = self._next[key] = asyncio.get_running_loop().create_future()
        if self._sender is None:
            self._sender = asyncio.create_task(self._send())
        # shielded: a caller that gives up (its client went away) leaves the others' query alone
        return await asyncio.shield(future)

    async def _send(self) -> None:
        batch: dict[K, asyncio.Future[V | None]] = {}
        try:
            while self._next:
                batch, self._next = self._next, {}
                try:
                    found = await self._fetch(list(batch))
                except Exception as error:  # noqa: BLE001 - each waiting caller gets it
                    for future in batch.values():
                        if not future.done():
                            future.set_exception(error)
                            future.exception()  # retrieved here too: no warning if every caller gave up
                    continue
                for key, future in batch.items():
                    if not future.done():
                        future.set_result(found.get(key))
        finally:
            self._sender = None
            for future in [*batch.values(), *self._next.values()]:  # left only if this task was cancelled
                future.cancel()
            self._next = {}

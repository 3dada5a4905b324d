"""BatchedLookup: one query in flight, later keys wait for the next one, answers never older than the ask."""

from __future__ import annotations

import asyncio

import pytest

from cloudlet.core.batching import BatchedLookup


class Store:
    """A table the fetch reads when it starts (as a query's snapshot), optionally held until released."""

    def __init__(self, **rows: int) -> None:
        self.rows = dict(rows)
        self.queries: list[list[str]] = []
        self.hold: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.fail: Exception | None = None

    async def fetch(self, keys: list[str]) -> dict[str, int]:
        self.queries.append(keys)
        snapshot = {k: self.rows[k] for k in keys if k in self.rows}
        self.started.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail is not None:
            raise self.fail
        return snapshot


async def test_one_lookup_goes_out_at_once_alone():
    store = Store(a=1)
    lookup = BatchedLookup(store.fetch)
    assert await lookup.get("a") == 1
    assert await lookup.get("missing") is None
    assert store.queries == [["a"], ["missing"]]


async def test_lookups_made_during_a_query_share_the_next_one():
    store = Store(a=1, b=2, c=3)
    store.hold = asyncio.Event()
    lookup = BatchedLookup(store.fetch)
    first = asyncio.create_task(lookup.get("a"))
    await store.started.wait()
    later = [asyncio.create_task(lookup.get(k)) for k in ("b", "c", "b", "a")]
    await asyncio.sleep(0)
    store.hold.set()
    assert await first == 1
    assert await asyncio.gather(*later) == [2, 3, 2, 1]
    assert store.queries == [["a"], ["b", "c", "a"]]


async def test_an_answer_is_never_older_than_its_question():
    store = Store(a=1)
    store.hold = asyncio.Event()
    lookup = BatchedLookup(store.fetch)
    first = asyncio.create_task(lookup.get("a"))
    await store.started.wait()  # the first query has read a = 1
    store.rows["a"] = 2  # a write commits
    second = asyncio.create_task(lookup.get("a"))  # asked after the commit: must not ride the first query
    await asyncio.sleep(0)
    store.hold.set()
    assert (await first, await second) == (1, 2)


async def test_a_failed_query_fails_its_lookups_only():
    store = Store(a=1)
    store.hold = asyncio.Event()
    store.fail = RuntimeError("database unreachable")
    lookup = BatchedLookup(store.fetch)
    waiting = [asyncio.create_task(lookup.get(k)) for k in ("a", "b")]
    await store.started.wait()
    store.hold.set()
    for task in waiting:
        with pytest.raises(RuntimeError, match="unreachable"):
            await task
    store.fail, store.hold = None, None
    assert await lookup.get("a") == 1


async def test_a_caller_that_gives_up_leaves_the_others_their_answer():
    store = Store(a=1)
    store.hold = asyncio.Event()
    lookup = BatchedLookup(store.fetch)
    quitter = asyncio.create_task(lookup.get("a"))
    stayer = asyncio.create_task(lookup.get("a"))
    await store.started.wait()
    quitter.cancel()
    await asyncio.sleep(0)
    store.hold.set()
    assert await stayer == 1
    assert quitter.cancelled()

"""TtlCache.get_or_load: one load for all the callers missing a key at once; a load that a clear()
overtook, or that failed, leaves nothing behind."""

from __future__ import annotations

import asyncio

import pytest

from cloudlet.core.cache import TtlCache


class Loader:
    def __init__(self, value: object = "principal") -> None:
        self.value = value
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self) -> object:
        self.calls += 1
        await self.release.wait()
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


async def test_callers_missing_a_key_together_share_one_load():
    cache, load = TtlCache(ttl=60), Loader()
    waiting = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(20)]
    await asyncio.sleep(0)
    load.release.set()
    assert await asyncio.gather(*waiting) == ["principal"] * 20
    assert load.calls == 1
    assert await cache.get_or_load("k", Loader("other")) == "principal"  # kept


async def test_a_load_overtaken_by_clear_is_not_kept():
    cache, stale = TtlCache(ttl=60), Loader("revoked key's principal")
    first = asyncio.create_task(cache.get_or_load("k", stale))
    await asyncio.sleep(0)
    cache.clear()  # e.g. the key is revoked while its lookup is out
    fresh = Loader("fresh")
    fresh.release.set()
    assert await cache.get_or_load("k", fresh) == "fresh"  # not joined to the load from before
    stale.release.set()
    assert await first == "revoked key's principal"
    assert cache.get("k") == "fresh"


async def test_a_failed_load_fails_its_callers_and_is_not_kept():
    cache, failing = TtlCache(ttl=60), Loader(LookupError("unknown key"))
    waiting = [asyncio.create_task(cache.get_or_load("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    failing.release.set()
    for task in waiting:
        with pytest.raises(LookupError):
            await task
    assert cache.get("k") is None
    ok = Loader()
    ok.release.set()
    assert await cache.get_or_load("k", ok) == "principal"

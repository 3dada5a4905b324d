"""Counts of a name filter's matches, reused while the names in the scope stay the same.

A list filtered by name alone answers with the exact count of its matches, and counting them costs more
the more instances match. Which instances match depends only on the scope's names, and the database
moves the scope's name version on every insert, delete or rename there (migration 0008), in the same
transaction: a count made at the current version is still exact."""

from __future__ import annotations

import dataclasses
import weakref

from cloudlet.core.db import Database
from cloudlet.core.scope import Scope

_LIMIT = 10_000  # (scope, filter) pairs per database; the table starts again when full


@dataclasses.dataclass(frozen=True, slots=True)
class NameCount:
    version: int  # the scope's name version the count was made at
    total: int
    indexed: bool  # the trigram index drove the query (instances/repository.py, name_index)


_counts: weakref.WeakKeyDictionary[Database, dict[tuple[int, int, str], NameCount]] = weakref.WeakKeyDictionary()


def known(db: Database, scope: Scope, name: str, version: int) -> NameCount | None:
    """The count of instances ``name`` matches in the scope, if this process made one at ``version``."""
    hit = _counts.get(db, {}).get((scope.project_id, scope.region_id, name))
    return hit if hit is not None and hit.version == version else None


def remember(db: Database, scope: Scope, name: str, count: NameCount) -> None:
    """Keep a count made at ``count.version``, read before counting (so it is never older than its version)."""
    counts = _counts.setdefault(db, {})
    if len(counts) >= _LIMIT:
        counts.clear()
    counts[(scope.project_id, scope.region_id, name)] = count

"""Prepared statements on SQLite (core/direct.py): after SQLAlchemy has run one once, the driver runs it directly,
and every caller sees what SQLAlchemy would have returned."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from cloudlet.core.db import Database
from cloudlet.core.direct import prepared

metadata = sa.MetaData()
things = sa.Table(
    "things", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False, default=7),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("data", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

T0 = dt.datetime(2026, 11, 29, 12, 30, 15, 123456)
INSERT = prepared(things.insert())
BY_ID = prepared(sa.select(things, (things.c.size * 2).label("double")).where(things.c.id == sa.bindparam("id")))
BY_IDS = prepared(sa.select(things.c.id, things.c.created_at)
                  .where(things.c.id.in_(sa.bindparam("ids", expanding=True))).order_by(things.c.id))
RENAME = prepared(things.update().where(things.c.id == sa.bindparam("b_id"), things.c.enabled.is_(True)))
ENABLED_SINCE = prepared(sa.select(sa.func.count()).where(things.c.created_at >= sa.bindparam("since"),
                                                          things.c.enabled == True))  # noqa: E712 - a bound value


def unprepared(statement: Any) -> Any:
    """The same statement as a new object: not marked, so SQLAlchemy runs it every time."""
    return statement._generate()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/direct.db")
    metadata.create_all(database._sync_engine)
    yield database
    await database.dispose()


class Counter:
    """Statements that went through SQLAlchemy's execution path."""

    def __init__(self, db: Database) -> None:
        self.statements: list[str] = []
        sa.event.listen(db._sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)


def row(n: int, **values: Any) -> dict[str, Any]:
    return {"id": f"t{n}", "name": f"thing {n}", "enabled": n % 2 == 0, "data": {"n": n, "tags": ["a"]},
            "created_at": T0 + dt.timedelta(minutes=n), **values}


async def test_second_run_skips_sqlalchemy_and_returns_the_same_rows(db: Database) -> None:
    seen = Counter(db)
    async with db.transaction() as conn:
        await conn.execute(INSERT, row(1))  # learnt through SQLAlchemy
        await conn.execute(INSERT, row(2, data=None))  # direct: its omitted column default and JSON null
        await conn.execute(INSERT, [row(3), row(4)])  # executemany, learnt
        await conn.execute(INSERT, [row(5), row(6, size=1)])  # direct
    assert len(seen.statements) == 2
    async with db.read() as conn:
        for n in range(1, 7):
            wanted = (await conn.execute(unprepared(BY_ID), {"id": f"t{n}"})).first()
            got = (await conn.execute(BY_ID, {"id": f"t{n}"})).first()
            assert got == wanted
            assert got._fields == wanted._fields
            assert (got.created_at, got.data, got.enabled, got.size, got.double) == (
                wanted.created_at, wanted.data, wanted.enabled, wanted.size, wanted.double)
            assert isinstance(got.created_at, dt.datetime) and isinstance(got.enabled, bool)
        assert (await conn.execute(BY_ID, {"id": "t2"})).one().data is None
        assert (await conn.execute(BY_ID, {"id": "t1"})).one().size == 7
        assert (await conn.execute(BY_ID, {"id": "t6"})).one().size == 1
        assert (await conn.execute(BY_ID, {"id": "nope"})).first() is None
    # two inserts, six reference reads, and BY_ID's first run: the rest ran on the driver
    assert len(seen.statements) == 2 + 6 + 1


async def test_lists_expand_into_as_many_placeholders_as_items(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(INSERT, [row(n) for n in range(1, 6)])
    seen = Counter(db)
    async with db.read() as conn:
        for ids in (["t1"], ["t5", "t2", "t3"], ["t4", "nope"], ["t1", "t2", "t3", "t4", "t5"], ["t3"]):
            got = (await conn.execute(BY_IDS, {"ids": ids})).all()
            assert got == (await conn.execute(unprepared(BY_IDS), {"ids": ids})).all()
            assert [r.id for r in got] == sorted(i for i in ids if i != "nope")
        assert (await conn.execute(BY_IDS, {"ids": []})).all() == []  # SQLAlchemy renders the empty IN
    assert len(seen.statements) == 1 + 5 + 1


async def test_values_fixed_in_the_statement_and_rowcounts(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(INSERT, [row(n) for n in range(1, 5)])
        assert (await conn.execute(RENAME, {"b_id": "t2", "name": "renamed"})).rowcount == 1
        assert (await conn.execute(RENAME, {"b_id": "t1", "name": "renamed"})).rowcount == 0  # not enabled
        assert (await conn.execute(RENAME, {"b_id": "t4", "name": "renamed"})).rowcount == 1
    async with db.read() as conn:
        names = {r.id: r.name for r in await conn.execute(sa.select(things.c.id, things.c.name))}
        assert names == {"t1": "thing 1", "t2": "renamed", "t3": "thing 3", "t4": "renamed"}
        for since in (T0, T0 + dt.timedelta(minutes=3), T0 + dt.timedelta(days=1)):
            assert await conn.scalar(ENABLED_SINCE, {"since": since}) == await conn.scalar(
                unprepared(ENABLED_SINCE), {"since": since})
        assert await conn.scalar(ENABLED_SINCE, {"since": T0}) == 2


async def test_errors_are_sqlalchemys(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(INSERT, row(1))
    for _ in range(2):  # learnt, then direct
        with pytest.raises(sa.exc.IntegrityError):
            async with db.transaction() as conn:
                await conn.execute(INSERT, row(1))
    async with db.read() as conn:
        await conn.execute(BY_ID, {"id": "t1"})
        for _ in range(2):  # a missing parameter goes back to SQLAlchemy, which names it
            with pytest.raises(sa.exc.StatementError, match="'id'"):
                await conn.execute(BY_ID, {"wrong": "t1"})
        assert (await conn.execute(BY_ID, {"id": "t1"})).one().name == "thing 1"


async def test_a_failed_transaction_leaves_the_held_writer_usable(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(INSERT, row(1))
            raise RuntimeError("handler failed")
    async with db.transaction() as conn:
        await conn.execute(INSERT, row(2))
    async with db.read() as conn:
        assert [r.id for r in await conn.execute(sa.select(things.c.id))] == ["t2"]


async def test_unprepared_statements_always_go_through_sqlalchemy(db: Database) -> None:
    seen = Counter(db)
    statement = sa.select(things.c.id).where(things.c.id == sa.bindparam("id"))
    async with db.read() as conn:
        for _ in range(3):
            await conn.execute(statement, {"id": "t1"})
    assert len(seen.statements) == 3

"""Database access: one small interface over SQLite (embedded) and PostgreSQL (scaled out).

Queries are SQLAlchemy Core statements. Callers get a connection from ``Database.transaction()``
(a write transaction, committed when the block exits without an exception) or
``Database.read()`` (a read-only snapshot), and call ``await conn.execute(stmt)``.

Why two SQLite access styles exist: aiosqlite pays a thread hop per statement, and cloudlet's
statements are short (an indexed lookup is a few microseconds), so running them directly on
the event loop thread is faster (see ``benchmarks/sqlite_drivers.py``). ``sqlite://`` uses that
path; ``sqlite+aiosqlite://`` stays available for comparison. SQLite has one writer: write
transactions are serialised by an ``asyncio.Lock`` and start with ``BEGIN IMMEDIATE`` so two
writers never deadlock on lock promotion.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

__all__ = ["Conn", "Database"]


class Conn(Protocol):
    """The part of a connection that repositories use; both backends provide it."""

    async def execute(self, statement: Any, parameters: Any = None) -> Any: ...

    async def scalar(self, statement: Any, parameters: Any = None) -> Any: ...

    @property
    def dialect_name(self) -> str: ...


class _SyncConn:
    """A synchronous SQLAlchemy connection presented with the async ``Conn`` interface."""

    __slots__ = ("_conn",)
    dialect_name = "sqlite"

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        return self._conn.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self._conn.scalar(statement, parameters)


class _AsyncConn:
    __slots__ = ("_conn", "dialect_name")

    def __init__(self, conn: AsyncConnection, dialect_name: str) -> None:
        self._conn = conn
        self.dialect_name = dialect_name

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return await self._conn.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return await self._conn.scalar(statement, parameters)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


class Database:
    """Engines and transactions for one database URL."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._write_lock = asyncio.Lock()
        self._sync_engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        if url.startswith("sqlite+aiosqlite"):
            self._async_engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
            sa.event.listen(self._async_engine.sync_engine, "connect", _sqlite_pragmas)
        elif url.startswith("sqlite"):
            self._sync_engine = sa.create_engine(
                url, isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=8,
                connect_args={"check_same_thread": False},
            )
            sa.event.listen(self._sync_engine, "connect", _sqlite_pragmas)
        else:
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            self._async_engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False
            )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A write transaction: committed on normal exit, rolled back on an exception."""
        if self._sync_engine is not None:
            async with self._write_lock:
                with self._sync_engine.connect() as conn:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    try:
                        yield _SyncConn(conn)
                    except BaseException:
                        conn.exec_driver_sql("ROLLBACK")
                        raise
                    conn.exec_driver_sql("COMMIT")
        elif self.is_sqlite:
            assert self._async_engine is not None
            async with self._write_lock, self._async_engine.connect() as aconn:
                await aconn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield _AsyncConn(aconn, "sqlite")
                except BaseException:
                    await aconn.exec_driver_sql("ROLLBACK")
                    raise
                await aconn.exec_driver_sql("COMMIT")
        else:
            assert self._async_engine is not None
            async with self._async_engine.begin() as aconn:
                yield _AsyncConn(aconn, "postgresql")

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        """A read-only snapshot; never takes the write lock."""
        if self._sync_engine is not None:
            with self._sync_engine.connect() as conn:
                conn.exec_driver_sql("BEGIN")
                try:
                    yield _SyncConn(conn)
                finally:
                    conn.exec_driver_sql("ROLLBACK")
        else:
            assert self._async_engine is not None
            async with self._async_engine.connect() as aconn:
                if self.is_sqlite:
                    await aconn.exec_driver_sql("BEGIN")
                    try:
                        yield _AsyncConn(aconn, "sqlite")
                    finally:
                        await aconn.exec_driver_sql("ROLLBACK")
                else:
                    yield _AsyncConn(aconn, "postgresql")

    async def dispose(self) -> None:
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        if self._async_engine is not None:
            await self._async_engine.dispose()

"""Database access: one small interface over SQLite (embedded) and PostgreSQL (scaled out).

Queries are SQLAlchemy Core statements. Callers get a connection from ``Database.transaction()``
(a write transaction, committed when the block exits without an exception) or
``Database.read()`` (a read-only connection), and call ``await conn.execute(stmt)``.

Why two SQLite access styles exist: aiosqlite pays a thread hop per statement, and cloudlet's
statements are short (an indexed lookup is a few microseconds), so running them directly on
the event loop thread is faster (``../shared/reference/stack-measurements.md``). ``sqlite://`` uses that
path; ``sqlite+aiosqlite://`` stays available for comparison. SQLite has one writer: write
transactions are serialised by an ``asyncio.Lock``, share one held connection, and start with
``BEGIN IMMEDIATE`` so two writers never deadlock on lock promotion. On that path, statements marked
``prepared`` run on the sqlite3 connection without SQLAlchemy's execution machinery (core/direct.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
from collections.abc import AsyncIterator
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from cloudlet.core.cache import TtlCache
from cloudlet.core.direct import DirectPlans, is_prepared

__all__ = ["Conn", "Database"]

log = structlog.get_logger()


class Conn(Protocol):
    """The part of a connection that repositories use; both backends provide it."""

    async def execute(self, statement: Any, parameters: Any = None) -> Any: ...

    async def scalar(self, statement: Any, parameters: Any = None) -> Any: ...

    @property
    def dialect_name(self) -> str: ...

    @property
    def database(self) -> Database: ...

    async def first_value(self, sql: str, params: tuple[Any, ...]) -> Any:
        """First column of the first row of a raw SQL statement (``?`` placeholders), or None.

        For the hottest single-value lookups only: it skips SQLAlchemy's statement machinery."""
        ...

    async def raw_rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """All rows of a raw SQL statement (``?`` placeholders), as ``first_value`` runs it (Database.read_rows)."""
        ...


class _SyncConn:
    """A synchronous SQLAlchemy connection presented with the async ``Conn`` interface.

    Prepared statements (core/direct.py) run on its sqlite3 connection directly once SQLAlchemy has run
    them once with the same parameter names."""

    __slots__ = ("_conn", "_driver", "database")
    dialect_name = "sqlite"

    def __init__(self, conn: Connection, database: Database) -> None:
        self._conn = conn
        self._driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        self.database = database

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self._execute(statement, parameters)

    def _execute(self, statement: Any, parameters: Any = None) -> Any:
        if is_prepared(statement):
            return self.database.direct_plans.execute(self._conn, self._driver, statement, parameters)
        return self._conn.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        if is_prepared(statement):
            return self._execute(statement, parameters).scalar()
        return self._conn.scalar(statement, parameters)

    async def first_value(self, sql: str, params: tuple[Any, ...]) -> Any:
        row = self._driver.execute(sql, params).fetchone()
        return None if row is None else row[0]

    async def raw_rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return self._driver.execute(sql, params).fetchall()


class _AsyncConn:
    __slots__ = ("_conn", "database", "dialect_name")

    def __init__(self, conn: AsyncConnection, dialect_name: str, database: Database) -> None:
        self._conn = conn
        self.dialect_name = dialect_name
        self.database = database

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return await self._conn.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return await self._conn.scalar(statement, parameters)

    async def first_value(self, sql: str, params: tuple[Any, ...]) -> Any:
        raw = (await self._conn.get_raw_connection()).driver_connection
        if self.dialect_name == "postgresql":
            return await raw.fetchval(_dollar_placeholders(sql), *params)
        async with raw.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]

    async def raw_rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        raw = (await self._conn.get_raw_connection()).driver_connection
        if self.dialect_name == "postgresql":
            return list(await raw.fetch(_dollar_placeholders(sql), *params))
        async with raw.execute(sql, params) as cursor:
            return list(await cursor.fetchall())


@functools.lru_cache(maxsize=256)
def _dollar_placeholders(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...``."""
    parts = sql.split("?")
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, start=1))


async def _no_reset(_connection: Any) -> None:
    return None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def _no_auto_checkpoint(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")  # WalCheckpointer does it, off the event loop


class WalCheckpointer:
    """Checkpoints a SQLite database's write-ahead log from a thread of its own.

    SQLite's automatic checkpoint runs inside whichever COMMIT takes the log past 1,000 pages, with
    the fsyncs a checkpoint needs: on the event loop thread, that stalls every request (measured: a
    third of the COMMIT time of a create). A PASSIVE checkpoint here never blocks writers or readers,
    and the sqlite3 module releases the GIL while it works."""

    def __init__(self, path: str, interval: float = 0.5, restart_frames: int = 8_000) -> None:
        self.path = path
        self.interval = interval
        # PASSIVE checkpoints alone let the log grow while writes never pause: SQLite starts writing it from
        # the beginning again only when a write finds every frame checkpointed (measured: 150 MB in 500
        # creates at full speed). Past this many frames (4 KiB each) the thread asks the next write to
        # restart it (``restart_if_wanted``) and checkpoints no more until then.
        self.restart_frames = restart_frames
        self.restart_wanted = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def restart_if_wanted(self, conn: Connection) -> None:
        """On the write connection, before a write transaction (no other write is under way): when the
        log has grown past ``restart_frames``, checkpoint the few frames the thread's last checkpoint
        left and have this write start the log afresh. Waits at most 50 ms for another process's reader."""
        if not self.restart_wanted.is_set():
            return
        try:
            conn.exec_driver_sql("PRAGMA busy_timeout=50")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)").fetchall()
        except Exception as exc:  # noqa: BLE001 - the write goes on; the thread asks again
            log.warning("sqlite.wal_restart_failed", path=self.path, error=str(exc))
        finally:
            conn.exec_driver_sql("PRAGMA busy_timeout=5000")
            self.restart_wanted.clear()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="cloudlet-wal-checkpoint", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=5)
        try:
            while True:
                stopping = self._stop.wait(self.interval)
                if self.restart_wanted.is_set() and not stopping:
                    continue  # the restart's checkpoint must not wait for one of these
                try:  # PASSIVE never waits: pages a reader still needs are left for the next round
                    _busy, frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames > self.restart_frames:
                        self.restart_wanted.set()
                except sqlite3.Error as exc:  # not expected (disk full, I/O error): say so, and keep trying
                    log.warning("sqlite.wal_checkpoint_failed", path=self.path, error=str(exc))
                if stopping:
                    return
        finally:
            conn.close()


class Database:
    """Engines and transactions for one database URL."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._pool_size = pool_size
        self._write_lock = asyncio.Lock()
        # who an API key is and what a (principal, project, region) scope resolves to: see core/cache.py
        self.tenancy_cache = TtlCache(ttl=2.0)
        self.direct_plans = DirectPlans()  # SQLite: how its prepared statements run on the driver
        self._sync_engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._read_engine: AsyncEngine | None = None
        self._reader: _SyncConn | None = None
        self._writer: _SyncConn | None = None
        self._checkpointer: WalCheckpointer | None = None
        self._value_pool: Any = None  # PostgreSQL: a plain asyncpg pool for read_rows, made on first use
        self._value_pool_lock = asyncio.Lock()
        if url.startswith("sqlite+aiosqlite"):
            self._async_engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
            sa.event.listen(self._async_engine.sync_engine, "connect", _sqlite_pragmas)
        elif url.startswith("sqlite"):
            self._sync_engine = sa.create_engine(
                url, isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=8,
                connect_args={"check_same_thread": False},
            )
            sa.event.listen(self._sync_engine, "connect", _sqlite_pragmas)
            path = self._sync_engine.url.database
            if path and path != ":memory:" and not path.startswith("file:"):
                sa.event.listen(self._sync_engine, "connect", _no_auto_checkpoint)
                self._checkpointer = WalCheckpointer(path)
        else:
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            self._async_engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False
            )
            # Reads need no transaction: autocommit and no reset on return save two round trips per
            # request (BEGIN and ROLLBACK). Each statement sees the latest committed data.
            self._read_engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False,
                isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
            )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A write transaction: committed on normal exit, rolled back on an exception."""
        if self._sync_engine is not None:
            if self._checkpointer is not None:
                self._checkpointer.start()
            async with self._write_lock:
                # One connection serves every write transaction (the lock lets one run at a time); BEGIN and
                # COMMIT go to the driver itself, as SQLAlchemy (autocommit) would pass them on unchanged.
                if self._writer is None:
                    self._writer = _SyncConn(self._sync_engine.connect(), self)
                writer = self._writer
                if self._checkpointer is not None:
                    self._checkpointer.restart_if_wanted(writer._conn)
                writer._driver.execute("BEGIN IMMEDIATE")
                try:
                    yield writer
                except BaseException:
                    if writer._driver.in_transaction:  # SQLite ends some failed transactions itself
                        writer._driver.execute("ROLLBACK")
                    raise
                writer._driver.execute("COMMIT")
        elif self.is_sqlite:
            assert self._async_engine is not None
            async with self._write_lock, self._async_engine.connect() as aconn:
                await aconn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield _AsyncConn(aconn, "sqlite", self)
                except BaseException:
                    await aconn.exec_driver_sql("ROLLBACK")
                    raise
                await aconn.exec_driver_sql("COMMIT")
        else:
            assert self._async_engine is not None
            async with self._async_engine.begin() as aconn:
                yield _AsyncConn(aconn, "postgresql", self)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        """A read-only connection; never takes the write lock. Each statement sees the latest committed
        data (no snapshot across statements: readers check revisions where it matters)."""
        if self._sync_engine is not None:
            # One connection serves every read: statements run synchronously on the loop thread, so
            # reads never interleave inside a statement, and without a transaction (autocommit) two
            # read blocks may interleave between statements. Each statement sees the latest commit.
            if self._reader is None:
                self._reader = _SyncConn(self._sync_engine.connect(), self)
            yield self._reader
        else:
            assert self._async_engine is not None
            async with (self._read_engine or self._async_engine).connect() as aconn:
                if self.is_sqlite:
                    await aconn.exec_driver_sql("BEGIN")
                    try:
                        yield _AsyncConn(aconn, "sqlite", self)
                    finally:
                        await aconn.exec_driver_sql("ROLLBACK")
                else:
                    yield _AsyncConn(aconn, "postgresql", self)

    async def read_rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The rows of a raw read (``?`` placeholders) as tuples; no transaction.

        For the hottest lookups only (the revisions cached GETs check). On PostgreSQL it uses a plain
        asyncpg pool whose connections skip the reset round trip on release: one autocommit SELECT
        leaves nothing to reset (stack-measurements.md: no reset is worth +40% req/s)."""
        if self.is_sqlite:
            async with self.read() as conn:
                return [tuple(r) for r in await conn.raw_rows(sql, params)]
        pool = self._value_pool or await self._open_value_pool()
        return [tuple(r) for r in await pool.fetch(_dollar_placeholders(sql), *params)]

    async def _open_value_pool(self) -> Any:
        import asyncpg

        async with self._value_pool_lock:
            if self._value_pool is None:
                url = "postgresql://" + self.url.split("://", 1)[1]
                # no idle-connection timer either: asyncpg would arm and cancel one per query
                self._value_pool = await asyncpg.create_pool(url, min_size=1, max_size=self._pool_size,
                                                             reset=_no_reset, max_inactive_connection_lifetime=0)
        return self._value_pool

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
        if self._value_pool is not None:
            await self._value_pool.close()
            self._value_pool = None
        for held in (self._reader, self._writer):
            if held is not None:
                held._conn.close()
        self._reader = self._writer = None
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        if self._async_engine is not None:
            await self._async_engine.dispose()
        if self._read_engine is not None:
            await self._read_engine.dispose()

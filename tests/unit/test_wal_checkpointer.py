"""SQLite's write-ahead log is checkpointed by a thread of cloudlet's, not inside a request's COMMIT."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

from cloudlet.core.db import Database, WalCheckpointer


def _writer(path: Path, count: int) -> sqlite3.Connection:
    """A connection that wrote ``count`` rows and stays open (closing the last one checkpoints)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * count)
    conn.commit()
    return conn


def test_the_thread_moves_the_log_into_the_database(tmp_path):
    path = tmp_path / "c.db"
    writer = _writer(path, 2000)
    before = path.stat().st_size  # what was written is still in c.db-wal
    checkpointer = WalCheckpointer(str(path), interval=0.05)
    checkpointer.start()
    try:
        deadline = time.monotonic() + 10
        while path.stat().st_size <= before and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        checkpointer.stop()
    assert path.stat().st_size > before + 500_000
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (2000,)
    writer.close()


async def test_a_file_database_turns_automatic_checkpoints_off_and_checkpoints_itself(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        async with db.transaction() as conn:
            assert await conn.scalar(sa.text("PRAGMA wal_autocheckpoint")) == 0
            await conn.execute(sa.text("CREATE TABLE t (x TEXT)"))
        assert db._checkpointer is not None and db._checkpointer._thread is not None
    finally:
        await db.dispose()
    assert db._checkpointer._thread is None


async def test_the_log_stays_bounded_while_writes_never_pause(tmp_path):
    path = tmp_path / "c.db"
    db = Database(f"sqlite:///{path}")
    assert db._checkpointer is not None
    db._checkpointer.interval, db._checkpointer.restart_frames = 0.01, 200
    try:
        async with db.transaction() as conn:
            await conn.execute(sa.text("CREATE TABLE t (x TEXT)"))
        rows = [{"x": "y" * 500}] * 20
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # one commit after another, ~3 pages each, never pausing
            async with db.transaction() as conn:
                await conn.execute(sa.text("INSERT INTO t VALUES (:x)"), rows)
        wal = Path(f"{path}-wal").stat().st_size
        async with db.read() as conn:
            written = await conn.scalar(sa.text("SELECT count(*) FROM t"))
    finally:
        await db.dispose()
    assert written > 2000
    # Bounded, with slack: between two looks of the thread (every 10 ms, and it may wait for the GIL) this
    # loop commits ~60 times, ~200 frames. Without the restart the log passes 200 MB (50,000 frames).
    assert wal < 10 * 200 * 4096, f"the log grew to {wal:,} bytes"

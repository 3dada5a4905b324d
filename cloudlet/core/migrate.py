"""Apply Alembic migrations at start-up; on PostgreSQL an advisory lock makes concurrent starters take turns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_ADVISORY_LOCK_KEY = 0x636C6F75  # "clou"


def _alembic_config(connection: sa.engine.Connection) -> Config:
    cfg = Config(str(_MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_connection(connection: sa.engine.Connection) -> None:
    """Bring the schema to head on an open synchronous connection."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        try:
            command.upgrade(_alembic_config(connection), "head")
            connection.commit()
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK_KEY})
            connection.commit()
    else:
        command.upgrade(_alembic_config(connection), "head")
        connection.commit()


async def upgrade(url: str) -> None:
    """Migrate the database at ``url`` to the newest schema."""
    if url.startswith("sqlite"):
        sync_url = url.replace("sqlite+aiosqlite", "sqlite")
        engine = sa.create_engine(sync_url)
        try:
            with engine.connect() as conn:
                upgrade_connection(conn)
        finally:
            engine.dispose()
        return
    from sqlalchemy.ext.asyncio import create_async_engine

    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    aengine = create_async_engine(url)
    try:
        async with aengine.connect() as aconn:
            await aconn.run_sync(upgrade_connection)
    finally:
        await aengine.dispose()


async def hold_start_lock(conn: Any) -> None:
    """On PostgreSQL, take the start-up lock until ``conn``'s transaction ends, so that processes starting together
    on an empty database seed it once (the second one waits, then finds it seeded)."""
    if conn.dialect_name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})

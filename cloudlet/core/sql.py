"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from cloudlet.core.db import Conn


async def insert_ignore(conn: Conn, table: sa.Table, values: dict[str, Any]) -> bool:
    """INSERT that does nothing on a key conflict; returns whether the row was written.

    On PostgreSQL a concurrent insert of the same key waits for the other transaction and then
    reports a conflict, so two writers can never both win.
    """
    dialect = postgresql if conn.dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing()
    return (await conn.execute(stmt)).rowcount == 1  # type: ignore[no-any-return]


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

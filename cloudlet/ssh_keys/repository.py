"""SQL for SSH keys (project-wide, no region)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.core.sql import insert_ignore, like_escape
from cloudlet.models import ssh_keys

ORDERINGS = {
    "created_at.asc": (ssh_keys.c.created_at.asc(), ssh_keys.c.id.asc()),
    "created_at.desc": (ssh_keys.c.created_at.desc(), ssh_keys.c.id.desc()),
    "name.asc": (ssh_keys.c.name.asc(), ssh_keys.c.id.asc()),
    "name.desc": (ssh_keys.c.name.desc(), ssh_keys.c.id.desc()),
}


async def get_by_name(conn: Conn, project_id: int, name: str) -> Any:
    return (await conn.execute(sa.select(ssh_keys).where(ssh_keys.c.project_id == project_id,
                                                         ssh_keys.c.name == name))).first()


async def get(conn: Conn, project_id: int, key_id: str) -> Any:
    return (await conn.execute(sa.select(ssh_keys).where(ssh_keys.c.project_id == project_id,
                                                         ssh_keys.c.id == key_id))).first()


async def insert(conn: Conn, values: dict[str, Any]) -> bool:
    """Write the key; False when the project already has a key of that name (even one written concurrently)."""
    return await insert_ignore(conn, ssh_keys, values)


async def list_rows(conn: Conn, project_id: int, *, name: str | None, order_by: str, limit: int,
                    offset: int) -> tuple[list[Any], int]:
    where: list[Any] = [ssh_keys.c.project_id == project_id]
    if name:
        where.append(ssh_keys.c.name.ilike(f"%{like_escape(name)}%", escape="\\"))
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(ssh_keys).where(*where)) or 0)
    rows = (await conn.execute(sa.select(ssh_keys).where(*where).order_by(*ORDERINGS[order_by])
                               .limit(limit).offset(offset))).all()
    return list(rows), total


async def delete(conn: Conn, project_id: int, key_id: str) -> bool:
    result = await conn.execute(ssh_keys.delete().where(ssh_keys.c.project_id == project_id, ssh_keys.c.id == key_id))
    return result.rowcount == 1  # type: ignore[no-any-return]

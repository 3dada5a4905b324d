"""SQL for API keys and injected faults (admin-only tables; unscoped by design)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.auth import hash_token
from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.models import api_keys, faults


async def get_key_by_token(conn: Conn, token: str) -> Any:
    return (await conn.execute(sa.select(api_keys).where(api_keys.c.token_hash == hash_token(token)))).first()


async def insert_key(conn: Conn, *, name: str, role: str, token: str, client_id: int | None = None,
                     reseller_id: int | None = None) -> Any:
    return (
        await conn.execute(
            api_keys.insert()
            .values(name=name, role=role, token_hash=hash_token(token), token_hint=token[-4:],
                    client_id=client_id, reseller_id=reseller_id, created_at=utcnow())
            .returning(api_keys)
        )
    ).one()


async def insert_fault(conn: Conn, *, operation: str, mode: str, remaining: int | None, message: str | None) -> Any:
    return (
        await conn.execute(
            faults.insert()
            .values(operation=operation, mode=mode, remaining=remaining, message=message, created_at=utcnow())
            .returning(faults)
        )
    ).one()


async def list_faults(conn: Conn) -> list[Any]:
    return list((await conn.execute(sa.select(faults).order_by(faults.c.id))).all())


async def delete_faults(conn: Conn, fault_id: int | None = None) -> int:
    stmt = faults.delete()
    if fault_id is not None:
        stmt = stmt.where(faults.c.id == fault_id)
    return (await conn.execute(stmt)).rowcount  # type: ignore[no-any-return]

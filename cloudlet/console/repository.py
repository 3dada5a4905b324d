"""SQL for consoles: the API key a console token was issued to, and which tokens were already used."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from cloudlet.core.auth import Principal
from cloudlet.core.db import Conn
from cloudlet.core.sql import insert_ignore
from cloudlet.models import api_keys, console_tokens


async def principal_of_key(conn: Conn, key_id: int) -> Principal | None:
    row = (await conn.execute(sa.select(api_keys.c.id, api_keys.c.role, api_keys.c.client_id, api_keys.c.reseller_id)
                              .where(api_keys.c.id == key_id))).first()
    if row is None:
        return None
    return Principal(key_id=row.id, role=row.role, client_id=row.client_id, reseller_id=row.reseller_id)


async def use_once(conn: Conn, nonce: str, *, expires_at: dt.datetime, now: dt.datetime) -> bool:
    """Record that ``nonce`` was used; False if it already was (by any process). Forgets expired ones."""
    await conn.execute(sa.delete(console_tokens).where(console_tokens.c.expires_at < now))
    return await insert_ignore(conn, console_tokens, {"nonce": nonce, "expires_at": expires_at})

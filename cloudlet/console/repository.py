"""SQL for consoles: the API key a console token was issued to."""

from __future__ import annotations

import sqlalchemy as sa

from cloudlet.core.auth import Principal
from cloudlet.core.db import Conn
from cloudlet.models import api_keys


async def principal_of_key(conn: Conn, key_id: int) -> Principal | None:
    row = (await conn.execute(sa.select(api_keys.c.id, api_keys.c.role, api_keys.c.client_id, api_keys.c.reseller_id)
                              .where(api_keys.c.id == key_id))).first()
    if row is None:
        return None
    return Principal(key_id=row.id, role=row.role, client_id=row.client_id, reseller_id=row.reseller_id)

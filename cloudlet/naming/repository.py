"""SQL for reseller naming restrictions. Reads that serve a client go through the client's reseller."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.core.direct import prepared
from cloudlet.models import clients, reseller_name_templates, resellers

_t = reseller_name_templates
_ROW = sa.select(_t, resellers.c.name.label("reseller_name")).select_from(
    _t.join(resellers, resellers.c.id == _t.c.reseller_id))


async def get(conn: Conn, reseller_id: int, region_id: int) -> Any:
    return (await conn.execute(_ROW.where(_t.c.reseller_id == reseller_id, _t.c.region_id == region_id))).first()


async def list_rows(conn: Conn, *, reseller_id: int | None) -> list[Any]:
    """Every configuration, or those of one reseller."""
    stmt = _ROW.order_by(_t.c.reseller_id, _t.c.region_id)
    if reseller_id is not None:
        stmt = stmt.where(_t.c.reseller_id == reseller_id)
    return list((await conn.execute(stmt)).all())


async def upsert(conn: Conn, *, reseller_id: int, region_id: int, values: dict[str, Any]) -> None:
    values = {**values, "updated_at": utcnow()}
    updated = await conn.execute(_t.update().where(_t.c.reseller_id == reseller_id, _t.c.region_id == region_id)
                                 .values(**values))
    if updated.rowcount == 0:
        await conn.execute(_t.insert().values(reseller_id=reseller_id, region_id=region_id, **values))


async def delete(conn: Conn, reseller_id: int, region_id: int) -> int:
    result = await conn.execute(_t.delete().where(_t.c.reseller_id == reseller_id, _t.c.region_id == region_id))
    return result.rowcount  # type: ignore[no-any-return]


async def for_client(conn: Conn, client_id: int, region_id: int) -> Any:
    """The configuration that governs a client in a region: its reseller's, or None."""
    return (await conn.execute(_FOR_CLIENT, {"client_id": client_id, "region_id": region_id})).first()


# built once (see core/sql.py on hot-path statements)
_FOR_CLIENT = prepared(sa.select(_t).select_from(_t.join(clients, clients.c.reseller_id == _t.c.reseller_id))
                      .where(clients.c.id == sa.bindparam("client_id"), _t.c.region_id == sa.bindparam("region_id")))


async def reseller_exists(conn: Conn, reseller_id: int) -> bool:
    return bool(await conn.scalar(sa.select(sa.literal(1)).where(resellers.c.id == reseller_id)))

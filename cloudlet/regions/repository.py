"""SQL for regions (a catalog every principal may read)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.models import networks, regions

ORDERINGS = {
    "created_at.asc": (regions.c.created_at.asc(), regions.c.id.asc()),
    "created_at.desc": (regions.c.created_at.desc(), regions.c.id.desc()),
    "display_name.asc": (regions.c.display_name.asc(), regions.c.id.asc()),
    "display_name.desc": (regions.c.display_name.desc(), regions.c.id.desc()),
}

_EXTERNAL_NETWORK = (
    sa.select(networks.c.id)
    .where(networks.c.region_id == regions.c.id, networks.c.external.is_(True))
    .order_by(networks.c.created_at, networks.c.id).limit(1)
    .correlate(regions).scalar_subquery()
)

_ROW = sa.select(regions, _EXTERNAL_NETWORK.label("external_network_id"))


async def get(conn: Conn, region_id: int) -> Any:
    return (await conn.execute(_ROW.where(regions.c.id == region_id))).first()


async def list_rows(conn: Conn, *, display_name: str | None, order_by: str, limit: int,
                    offset: int) -> tuple[list[Any], int]:
    where: list[Any] = []
    if display_name is not None:
        where.append(sa.func.lower(regions.c.display_name) == display_name.lower())
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(regions).where(*where)) or 0)
    rows = (await conn.execute(_ROW.where(*where).order_by(*ORDERINGS[order_by]).limit(limit).offset(offset))).all()
    return list(rows), total

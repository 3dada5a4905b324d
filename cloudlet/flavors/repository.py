"""SQL for the flavor catalog."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.core.direct import prepared
from cloudlet.models import flavors


async def get(conn: Conn, region_id: int, flavor_id: str) -> Any:
    return (await conn.execute(_BY_ID, {"region_id": region_id, "flavor_id": flavor_id})).first()


# built once (see core/sql.py on hot-path statements)
_BY_ID = prepared(sa.select(flavors).where(flavors.c.region_id == sa.bindparam("region_id"),
                                           flavors.c.id == sa.bindparam("flavor_id")))


async def list_rows(conn: Conn, region_id: int, *, include_disabled: bool, exclude_os_types: list[str],
                    limit: int, offset: int) -> tuple[list[Any], int]:
    where: list[Any] = [flavors.c.region_id == region_id]
    if not include_disabled:
        where.append(flavors.c.disabled.is_(False))
    if exclude_os_types:
        where.append(flavors.c.os_type.not_in(exclude_os_types))
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(flavors).where(*where)) or 0)
    rows = (await conn.execute(sa.select(flavors).where(*where).order_by(flavors.c.vcpus, flavors.c.ram, flavors.c.id)
                               .limit(limit).offset(offset))).all()
    return list(rows), total


async def list_region_catalog(conn: Conn, region_id: int) -> list[Any]:
    """Every flavor of the region, disabled ones included, smallest first (instances' resize/create checks)."""
    rows = await conn.execute(sa.select(flavors).where(flavors.c.region_id == region_id)
                              .order_by(flavors.c.vcpus, flavors.c.ram, flavors.c.id))
    return list(rows)

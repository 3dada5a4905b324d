"""SQL for the flavor catalog."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.models import flavors


async def get(conn: Conn, region_id: int, flavor_id: str) -> Any:
    return (await conn.execute(sa.select(flavors).where(flavors.c.region_id == region_id,
                                                        flavors.c.id == flavor_id))).first()

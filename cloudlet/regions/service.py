"""Region reads."""

from __future__ import annotations

from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError
from cloudlet.regions import repository


async def list_region_rows(conn: Conn, *, product: str | None, display_name: str | None, order_by: str,
                           limit: int, offset: int) -> tuple[list[Any], int]:
    if product is not None:
        # No cloudlet region offers Gcore's container or inference products.
        return [], 0
    return await repository.list_rows(conn, display_name=display_name, order_by=order_by, limit=limit,
                                      offset=offset)


async def get_region_row(conn: Conn, region_id: int) -> Any:
    row = await repository.get(conn, region_id)
    if row is None:
        raise NotFoundError(f"Region {region_id} could not be found")
    return row

"""Regions API routes."""

from __future__ import annotations

from typing import Literal

from litestar import get

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.pagination import page_bounds
from cloudlet.regions import service
from cloudlet.regions.schemas import Region, RegionList, region_out
from cloudlet.runtime import RuntimeDep

TAGS = ["regions"]
OrderBy = Literal["created_at.asc", "created_at.desc", "display_name.asc", "display_name.desc"]


@get("/v1/regions", tags=TAGS, summary="List regions")
async def list_regions(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    product: Literal["containers", "inference"] | None = None,
    show_volume_types: bool = False,
    display_name: str | None = None,
    order_by: OrderBy = "created_at.desc",
) -> RegionList:
    """Every region. ``display_name`` is a case-insensitive exact match; ``product`` keeps only regions
    that offer Gcore's container or inference products, which no cloudlet region does."""
    limit, offset = page_bounds(limit, offset, default=100)
    async with runtime.db.read() as conn:
        rows, total = await service.list_region_rows(conn, product=product, display_name=display_name,
                                                     order_by=order_by, limit=limit, offset=offset)
    return RegionList(count=total, results=[region_out(r, show_volume_types=show_volume_types) for r in rows])


@get("/v1/regions/{region_id:int}", tags=TAGS, summary="Get a region")
async def get_region(region_id: int, principal: PrincipalDep, runtime: RuntimeDep,
                     show_volume_types: bool = False) -> Region:
    async with runtime.db.read() as conn:
        row = await service.get_region_row(conn, region_id)
    return region_out(row, show_volume_types=show_volume_types)


routes = [list_regions, get_region]

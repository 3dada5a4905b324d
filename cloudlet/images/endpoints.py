"""Images API routes (read-only: cloudlet serves its catalog and the project's own images)."""

from __future__ import annotations

from typing import Literal

from litestar import get

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import resolve_scope
from cloudlet.images import service
from cloudlet.images.repository import ImageFilters
from cloudlet.images.schemas import Image, ImageList
from cloudlet.runtime import RuntimeDep

TAGS = ["images"]
BASE = "/v1/images/{project_id:int}/{region_id:int}"


@get(BASE, tags=TAGS, summary="List images")
async def list_images(
    project_id: int,
    region_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    include_prices: bool = False,
    private: str | None = None,
    visibility: Literal["private", "public", "shared"] | None = None,
    architecture: Literal["aarch64", "x86_64"] | None = None,
    name: str | None = None,
    os_distro: str | None = None,
    os_version: str | None = None,
    tag_key: list[str] | None = None,
    tag_key_value: str | None = None,
    metadata_k: str | None = None,
    metadata_kv: str | None = None,
) -> ImageList:
    """Public images and the project's own. Private images are listed only when ``private`` has any
    value or ``visibility=private``; ``name`` is a case-insensitive substring, ``os_distro`` and
    ``os_version`` case-insensitive exact matches."""
    limit, offset = page_bounds(limit, offset)
    keys, pairs = service.tag_filters(tag_key, tag_key_value, metadata_k, metadata_kv)
    filters = ImageFilters(include_private=private is not None, visibility=visibility, architecture=architecture,
                           name=name, os_distro=os_distro, os_version=os_version, tag_keys=keys,
                           tag_key_values=pairs)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        results, total = await service.list_images(conn, scope, filters, include_prices=include_prices,
                                                   limit=limit, offset=offset)
    return ImageList(count=total, results=results)


@get(BASE + "/{image_id:str}", tags=TAGS, summary="Get an image")
async def get_image(project_id: int, region_id: int, image_id: str, principal: PrincipalDep, runtime: RuntimeDep,
                    include_prices: bool = False) -> Image:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        return await service.get_image(conn, scope, image_id, include_prices=include_prices)


routes = [list_images, get_image]

"""Instance metadata routes: v1 ``metadata`` (key in the path) and v2 ``metadata_item`` (key in the query)."""

from __future__ import annotations

from typing import Any

from litestar import delete, get, post, put
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.errors import ValidationError
from cloudlet.core.scope import resolve_scope
from cloudlet.instances import metadata_service as service
from cloudlet.instances.metadata_schemas import MetadataItem, MetadataList
from cloudlet.runtime import RuntimeDep

TAGS = ["instances"]
V1 = "/v1/instances/{project_id:int}/{region_id:int}/{instance_id:str}/metadata"
V2 = "/v2/instances/{project_id:int}/{region_id:int}/{instance_id:str}/metadata_item"


def _item(row: Any) -> MetadataItem:
    return MetadataItem(key=row.key, value=row.value, read_only=row.read_only)


def _required_key(key: str | None) -> str:
    if not key:
        raise ValidationError.for_field("key", "The query parameter 'key' is required")
    return key


@post(V1, status_code=204, tags=TAGS, deprecated=True, summary="Create or update metadata items",
      description="A flat JSON object of string keys to string values; other keys are kept.")
async def upsert_metadata(project_id: int, region_id: int, instance_id: str, data: JSONBody[dict[str, Any]],
                          principal: PrincipalDep, runtime: RuntimeDep) -> None:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.upsert_items(conn, scope, instance_id, data)


@put(V1, status_code=204, tags=TAGS, deprecated=True, summary="Replace all metadata items",
     description="Every user item is removed and replaced by the request's; read-only items stay.")
async def replace_metadata(project_id: int, region_id: int, instance_id: str, data: JSONBody[dict[str, Any]],
                           principal: PrincipalDep, runtime: RuntimeDep) -> None:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.replace_items(conn, scope, instance_id, data)


@get(V1, tags=TAGS, deprecated=True, summary="List metadata items")
async def list_metadata(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                        runtime: RuntimeDep) -> MetadataList:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows = await service.list_items(conn, scope, instance_id)
    return MetadataList(count=len(rows), results=[_item(r) for r in rows])


@get(V1 + "/{key:str}", tags=TAGS, deprecated=True, summary="Get a metadata item (key in the path)")
async def get_metadata_item(project_id: int, region_id: int, instance_id: str, key: str, principal: PrincipalDep,
                            runtime: RuntimeDep) -> MetadataItem:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        return _item(await service.get_item(conn, scope, instance_id, key))


@delete(V1 + "/{key:str}", status_code=204, tags=TAGS, deprecated=True,
        summary="Delete a metadata item (key in the path)")
async def delete_metadata_item(project_id: int, region_id: int, instance_id: str, key: str, principal: PrincipalDep,
                               runtime: RuntimeDep) -> None:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.delete_item(conn, scope, instance_id, key)


@get(V2, tags=TAGS, deprecated=True, summary="Get a metadata item (key in the query: any characters)")
async def get_metadata_item_v2(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                               runtime: RuntimeDep, key: str | None = None) -> MetadataItem:
    key = _required_key(key)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        return _item(await service.get_item(conn, scope, instance_id, key))


@delete(V2, status_code=204, tags=TAGS, deprecated=True,
        summary="Delete a metadata item (key in the query: any characters)")
async def delete_metadata_item_v2(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                                  runtime: RuntimeDep, key: str | None = None) -> None:
    key = _required_key(key)
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.delete_item(conn, scope, instance_id, key)


routes = [upsert_metadata, replace_metadata, list_metadata, get_metadata_item, delete_metadata_item,
          get_metadata_item_v2, delete_metadata_item_v2]

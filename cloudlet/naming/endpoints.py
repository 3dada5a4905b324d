"""Reseller name templates routes (endpoints.md section 7) and the deprecated instances available_names (2.27)."""

from __future__ import annotations

import msgspec
from litestar import delete, get, put
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.scope import resolve_scope
from cloudlet.naming import service
from cloudlet.naming.schemas import (
    AvailableNames,
    InstanceAvailableNames,
    NameTemplatesUpdate,
    ResellerNameTemplates,
    ResellerNameTemplatesList,
    config_out,
)
from cloudlet.runtime import RuntimeDep

TAGS = ["reseller name templates"]


@put("/v1/reseller_name_templates", tags=TAGS, summary="Create or replace a reseller's naming rules in a region",
     description="Admin keys for any reseller, reseller keys for their own. Fields left out take their defaults "
                 "(no custom names, empty template lists).")
async def put_reseller_name_templates(data: JSONBody[NameTemplatesUpdate], principal: PrincipalDep,
                                      runtime: RuntimeDep) -> ResellerNameTemplates:
    async with runtime.db.transaction() as conn:
        return config_out(await service.put_config(conn, principal, data))


@get("/v1/reseller_name_templates", tags=TAGS, summary="List naming rules (a reseller sees its own)")
async def list_reseller_name_templates(principal: PrincipalDep, runtime: RuntimeDep) -> ResellerNameTemplatesList:
    async with runtime.db.read() as conn:
        rows = await service.list_configs(conn, principal)
    return ResellerNameTemplatesList(count=len(rows), results=[config_out(r) for r in rows])


@delete("/v1/reseller_name_templates/{reseller_id:int}/{region_id:int}", tags=TAGS,
        summary="Drop a reseller's naming rules in a region")
async def delete_reseller_name_templates(reseller_id: int, region_id: int, principal: PrincipalDep,
                                         runtime: RuntimeDep) -> None:
    async with runtime.db.transaction() as conn:
        await service.delete_config(conn, principal, reseller_id, region_id)


async def _available_names(project_id: int, region_id: int, principal: PrincipalDep,
                           runtime: RuntimeDep) -> AvailableNames:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        return await service.available_names(conn, scope)


@get("/v1/reseller_name_templates/{project_id:int}/{region_id:int}/available_names", tags=TAGS,
     summary="The naming rules for instances of a project in a region")
async def get_available_names(project_id: int, region_id: int, principal: PrincipalDep,
                              runtime: RuntimeDep) -> AvailableNames:
    return await _available_names(project_id, region_id, principal, runtime)


@get("/v1/instances/{project_id:int}/{region_id:int}/available_names", tags=["instances"], deprecated=True,
     summary="The naming rules for instances (deprecated: use /v1/reseller_name_templates/.../available_names)")
async def get_instance_available_names(project_id: int, region_id: int, principal: PrincipalDep,
                                       runtime: RuntimeDep) -> InstanceAvailableNames:
    names = await _available_names(project_id, region_id, principal, runtime)
    return InstanceAvailableNames(**msgspec.structs.asdict(names))


routes = [put_reseller_name_templates, list_reseller_name_templates, delete_reseller_name_templates,
          get_available_names, get_instance_available_names]

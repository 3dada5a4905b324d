"""App template routes: the marketplace catalog (read-only)."""

from __future__ import annotations

from litestar import get

from cloudlet.apptemplates import service
from cloudlet.apptemplates.schemas import AppTemplate, AppTemplateList
from cloudlet.core.auth import PrincipalDep
from cloudlet.core.scope import resolve_scope
from cloudlet.runtime import RuntimeDep

TAGS = ["apptemplates"]
BASE = "/v1/apptemplates/{project_id:int}/{region_id:int}"


@get(BASE, tags=TAGS, summary="List app templates",
     description="The marketplace applications a volume with source 'apptemplate' can be built from.")
async def list_apptemplates(project_id: int, region_id: int, principal: PrincipalDep,
                            runtime: RuntimeDep) -> AppTemplateList:
    async with runtime.db.read() as conn:
        await resolve_scope(conn, principal, project_id, region_id)
    results = [service.to_wire(t, region_id) for t in service.list_templates()]
    return AppTemplateList(count=len(results), results=results)


@get(BASE + "/{apptemplate_id:str}", tags=TAGS, summary="Get an app template")
async def get_apptemplate(project_id: int, region_id: int, apptemplate_id: str, principal: PrincipalDep,
                          runtime: RuntimeDep) -> AppTemplate:
    async with runtime.db.read() as conn:
        await resolve_scope(conn, principal, project_id, region_id)
    return service.to_wire(service.get_template(apptemplate_id), region_id)


routes = [list_apptemplates, get_apptemplate]

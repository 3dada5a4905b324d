"""Placement (server) groups API routes (supporting.md section 8)."""

from __future__ import annotations

from litestar import delete, get, post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.http import request_id_var
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import resolve_scope
from cloudlet.networks.schemas import TaskIdList
from cloudlet.runtime import RuntimeDep
from cloudlet.servergroups import service
from cloudlet.servergroups import steps as _steps  # noqa: F401  (registers the task handler)
from cloudlet.servergroups.schemas import (
    CreateServerGroupRequest,
    ServerGroup,
    ServerGroupList,
)

TAGS = ["placement groups"]
BASE = "/v1/servergroups/{project_id:int}/{region_id:int}"


@post(BASE, status_code=200, tags=TAGS, summary="Create a placement group (at once)")
async def create_servergroup(project_id: int, region_id: int, data: JSONBody[CreateServerGroupRequest],
                             principal: PrincipalDep, runtime: RuntimeDep) -> ServerGroup:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        group_id = await service.create_group(conn, scope, data)
        return (await service.render(conn, scope, [await service.get_group_row(conn, scope, group_id)]))[0]


@get(BASE, tags=TAGS, summary="List placement groups")
async def list_servergroups(project_id: int, region_id: int, principal: PrincipalDep, runtime: RuntimeDep,
                            limit: int | None = None, offset: int | None = None) -> ServerGroupList:
    limit, offset = page_bounds(limit, offset)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows = await service.list_group_rows(conn, scope)
        return ServerGroupList(count=len(rows), results=await service.render(conn, scope, rows[offset:offset + limit]))


@get(BASE + "/{group_id:str}", tags=TAGS, summary="Get a placement group with its instances")
async def get_servergroup(project_id: int, region_id: int, group_id: str, principal: PrincipalDep,
                          runtime: RuntimeDep) -> ServerGroup:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        return (await service.render(conn, scope, [await service.get_group_row(conn, scope, group_id)]))[0]


@delete(BASE + "/{group_id:str}", status_code=200, tags=TAGS, summary="Delete a placement group (task)")
async def delete_servergroup(project_id: int, region_id: int, group_id: str, principal: PrincipalDep,
                             runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.delete_group(conn, scope, group_id, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


routes = [create_servergroup, list_servergroups, get_servergroup, delete_servergroup]

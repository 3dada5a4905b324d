"""Networks API routes (supporting.md section 5)."""

from __future__ import annotations

from typing import Literal

from litestar import delete, get, patch, post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.http import request_id_var
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import resolve_scope
from cloudlet.networks import service, views
from cloudlet.networks import steps as _steps  # noqa: F401  (registers the task handlers)
from cloudlet.networks.schemas import (
    CreateNetworkRequest,
    Network,
    NetworkList,
    TaskIdList,
    UpdateNetworkRequest,
)
from cloudlet.networks.tags import TagFilter
from cloudlet.runtime import RuntimeDep

TAGS = ["networks"]
BASE = "/v1/networks/{project_id:int}/{region_id:int}"
OrderBy = Literal["created_at.asc", "created_at.desc", "name.asc", "name.desc", "priority.desc"]


@post(BASE, status_code=200, tags=TAGS, summary="Create a network (task create_network)")
async def create_network(project_id: int, region_id: int, data: JSONBody[CreateNetworkRequest],
                         principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.create_network(conn, scope, data, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@get(BASE, tags=TAGS, summary="List networks")
async def list_networks(
    project_id: int,
    region_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    order_by: OrderBy = "created_at.desc",
    external: bool | None = None,
    name: str | None = None,
    network_type: Literal["vlan", "vxlan"] | None = None,
    owned_by: Literal["any", "project"] = "project",
    tag_key: list[str] | None = None,
    tag_key_value: str | None = None,
    metadata_k: list[str] | None = None,
    metadata_kv: str | None = None,
) -> NetworkList:
    limit, offset = page_bounds(limit, offset)
    tag_filter = TagFilter([*(tag_key or []), *(metadata_k or [])], tag_key_value or metadata_kv)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows = await service.list_network_rows(conn, scope, owned_by=owned_by, external=external, name=name,
                                               network_type=network_type, tag_filter=tag_filter, order_by=order_by)
        return NetworkList(count=len(rows), results=await views.render(conn, scope, rows[offset:offset + limit]))


@get(BASE + "/{network_id:str}", tags=TAGS, summary="Get a network")
async def get_network(project_id: int, region_id: int, network_id: str, principal: PrincipalDep,
                      runtime: RuntimeDep) -> Network:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        row = await service.get_network_row(conn, scope, network_id)
        return (await views.render(conn, scope, [row]))[0]


@patch(BASE + "/{network_id:str}", tags=TAGS, summary="Rename a network or merge-patch its tags (at once)")
async def update_network(project_id: int, region_id: int, network_id: str, data: JSONBody[UpdateNetworkRequest],
                         principal: PrincipalDep, runtime: RuntimeDep) -> Network:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.update_network_now(conn, scope, network_id, data)
        row = await service.get_network_row(conn, scope, network_id)
        return (await views.render(conn, scope, [row]))[0]


@patch("/v2/networks/{project_id:int}/{region_id:int}/{network_id:str}", tags=TAGS,
       summary="Rename a network or merge-patch its tags (task update_network; no task when nothing changes)")
async def update_network_v2(project_id: int, region_id: int, network_id: str, data: JSONBody[UpdateNetworkRequest],
                            principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_ids = await service.update_network_task(conn, scope, network_id, data, request_id=request_id_var.get())
    await runtime.after_commit(task_ids)
    return TaskIdList(tasks=task_ids)


@delete(BASE + "/{network_id:str}", status_code=200, tags=TAGS, summary="Delete a network (task delete_network)")
async def delete_network(project_id: int, region_id: int, network_id: str, principal: PrincipalDep,
                         runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.delete_network(conn, scope, network_id, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


routes = [create_network, list_networks, get_network, update_network, update_network_v2, delete_network]

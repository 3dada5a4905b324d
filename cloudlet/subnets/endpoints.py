"""Subnets API routes (supporting.md section 6)."""

from __future__ import annotations

from typing import Literal

from litestar import delete, get, patch, post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.http import request_id_var
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import resolve_scope
from cloudlet.networks.schemas import TaskIdList
from cloudlet.networks.tags import TagFilter
from cloudlet.runtime import RuntimeDep
from cloudlet.subnets import service, views
from cloudlet.subnets import steps as _steps  # noqa: F401  (registers the task handlers)
from cloudlet.subnets.schemas import (
    CreateSubnetRequest,
    Subnet,
    SubnetList,
    UpdateSubnetRequest,
)

TAGS = ["subnets"]
BASE = "/v1/subnets/{project_id:int}/{region_id:int}"
OrderBy = Literal[
    "available_ips.asc", "available_ips.desc", "cidr.asc", "cidr.desc", "created_at.asc", "created_at.desc",
    "name.asc", "name.desc", "total_ips.asc", "total_ips.desc", "updated_at.asc", "updated_at.desc",
]


@post(BASE, status_code=200, tags=TAGS, summary="Create a subnet (task create_subnet)")
async def create_subnet(project_id: int, region_id: int, data: JSONBody[CreateSubnetRequest],
                        principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.create_subnet(conn, scope, data, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@get(BASE, tags=TAGS, summary="List subnets")
async def list_subnets(
    project_id: int,
    region_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    network_id: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
    order_by: list[OrderBy] | None = None,
    owned_by: Literal["any", "project"] = "project",
    tag_key: list[str] | None = None,
    tag_key_value: str | None = None,
    metadata_k: list[str] | None = None,
    metadata_kv: str | None = None,
) -> SubnetList:
    limit, offset = page_bounds(limit, offset)
    tag_filter = TagFilter([*(tag_key or []), *(metadata_k or [])], tag_key_value or metadata_kv)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows = await service.list_subnet_rows(conn, scope, owned_by=owned_by, network_id=network_id,
                                              tag_filter=tag_filter)
        items = await views.render(conn, scope, rows)
    items = service.order(items, (order_by or ["created_at.desc"])[0])
    return SubnetList(count=len(items), results=items[offset:offset + limit])


@get(BASE + "/{subnet_id:str}", tags=TAGS, summary="Get a subnet")
async def get_subnet(project_id: int, region_id: int, subnet_id: str, principal: PrincipalDep,
                     runtime: RuntimeDep) -> Subnet:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        row = await service.get_subnet_row(conn, scope, subnet_id)
        return (await views.render(conn, scope, [row]))[0]


@patch(BASE + "/{subnet_id:str}", tags=TAGS, summary="Change a subnet (at once)")
async def update_subnet(project_id: int, region_id: int, subnet_id: str, data: JSONBody[UpdateSubnetRequest],
                        principal: PrincipalDep, runtime: RuntimeDep) -> Subnet:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.update_subnet(conn, scope, subnet_id, data)
        row = await service.get_subnet_row(conn, scope, subnet_id)
        return (await views.render(conn, scope, [row]))[0]


@delete(BASE + "/{subnet_id:str}", status_code=200, tags=TAGS, summary="Delete a subnet (task delete_subnet)")
async def delete_subnet(project_id: int, region_id: int, subnet_id: str, principal: PrincipalDep,
                        runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.delete_subnet(conn, scope, subnet_id, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


routes = [create_subnet, list_subnets, get_subnet, update_subnet, delete_subnet]

"""Floating IPs API routes (supporting.md section 11)."""

from __future__ import annotations

from typing import Literal

from litestar import delete, get, post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.http import request_id_var
from cloudlet.core.pagination import page_bounds, split_multi
from cloudlet.core.scope import resolve_scope
from cloudlet.floating_ips import service, views
from cloudlet.floating_ips import steps as _steps  # noqa: F401  (registers the task handlers)
from cloudlet.floating_ips.schemas import (
    AssignFloatingIpRequest,
    CreateFloatingIpRequest,
    FloatingIp,
    FloatingIpDetailed,
    FloatingIpList,
)
from cloudlet.networks.schemas import TaskIdList
from cloudlet.networks.tags import TagFilter
from cloudlet.runtime import RuntimeDep

TAGS = ["floating IPs"]
BASE = "/v1/floatingips/{project_id:int}/{region_id:int}"


@post(BASE, status_code=200, tags=TAGS, summary="Create a floating IP, optionally NAT-ing a port (task create_fip)")
async def create_floating_ip(project_id: int, region_id: int, data: JSONBody[CreateFloatingIpRequest],
                             principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.create_task(conn, scope, data, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@get(BASE, tags=TAGS, summary="List floating IPs with the instances they NAT")
async def list_floating_ips(
    project_id: int,
    region_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    port_ids: list[str] | None = None,
    status: Literal["ACTIVE", "DOWN", "ERROR"] | None = None,
    tag_key: list[str] | None = None,
    tag_key_value: str | None = None,
    metadata_k: list[str] | None = None,
    metadata_kv: str | None = None,
) -> FloatingIpList:
    limit, offset = page_bounds(limit, offset)
    tag_filter = TagFilter([*(tag_key or []), *(metadata_k or [])], tag_key_value or metadata_kv)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows = await service.list_rows(conn, scope, port_ids=split_multi(port_ids), status=status,
                                       tag_filter=tag_filter)
        return FloatingIpList(count=len(rows),
                              results=await views.render_detailed(conn, scope, rows[offset:offset + limit]))


@get(BASE + "/{floating_ip_id:str}", tags=TAGS, summary="Get a floating IP")
async def get_floating_ip(project_id: int, region_id: int, floating_ip_id: str, principal: PrincipalDep,
                          runtime: RuntimeDep) -> FloatingIpDetailed:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        row = await service.get_row(conn, scope, floating_ip_id)
        return (await views.render_detailed(conn, scope, [row]))[0]


@delete(BASE + "/{floating_ip_id:str}", status_code=200, tags=TAGS, summary="Delete a floating IP (task delete_fip)")
async def delete_floating_ip(project_id: int, region_id: int, floating_ip_id: str, principal: PrincipalDep,
                             runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.delete_task(conn, scope, floating_ip_id, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@post(BASE + "/{floating_ip_id:str}/assign", status_code=200, tags=TAGS,
      summary="NAT a port's fixed address (deprecated, at once)")
async def assign_floating_ip(project_id: int, region_id: int, floating_ip_id: str,
                             data: JSONBody[AssignFloatingIpRequest], principal: PrincipalDep,
                             runtime: RuntimeDep) -> FloatingIp:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.assign_now(conn, scope, floating_ip_id, data)
        return views.fip_out(await service.get_row(conn, scope, floating_ip_id), scope)


@post(BASE + "/{floating_ip_id:str}/unassign", status_code=200, tags=TAGS,
      summary="Stop NAT-ing (deprecated, at once)")
async def unassign_floating_ip(project_id: int, region_id: int, floating_ip_id: str, principal: PrincipalDep,
                               runtime: RuntimeDep) -> FloatingIp:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.unassign_now(conn, scope, floating_ip_id)
        return views.fip_out(await service.get_row(conn, scope, floating_ip_id), scope)


routes = [create_floating_ip, list_floating_ips, get_floating_ip, delete_floating_ip, assign_floating_ip,
          unassign_floating_ip]

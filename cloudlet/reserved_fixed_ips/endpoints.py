"""Reserved fixed IPs API routes (supporting.md section 12). The id of a reserved fixed IP is its port id."""

from __future__ import annotations

from typing import Literal

from litestar import delete, get, post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.http import request_id_var
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import resolve_scope
from cloudlet.networks import repository as network_repository
from cloudlet.networks.schemas import TaskIdList
from cloudlet.reserved_fixed_ips import service, views
from cloudlet.reserved_fixed_ips import steps as _steps  # noqa: F401  (registers the task handlers)
from cloudlet.reserved_fixed_ips.schemas import (
    CreateReservedFixedIpRequest,
    ReservedFixedIp,
    ReservedFixedIpList,
)
from cloudlet.runtime import RuntimeDep

TAGS = ["reserved fixed IPs"]
BASE = "/v1/reserved_fixed_ips/{project_id:int}/{region_id:int}"
OrderBy = Literal[
    "created_at.asc", "created_at.desc", "fixed_ip_address.asc", "fixed_ip_address.desc", "name.asc", "name.desc",
    "status.asc", "status.desc", "updated_at.asc", "updated_at.desc",
]


@post(BASE, status_code=200, tags=TAGS, summary="Reserve a fixed IP (task create_reserved_fixed_ip)")
async def create_reserved_fixed_ip(project_id: int, region_id: int, data: JSONBody[CreateReservedFixedIpRequest],
                                   principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.create_task(conn, scope, data, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@get(BASE, tags=TAGS, summary="List reserved fixed IPs")
async def list_reserved_fixed_ips(
    project_id: int,
    region_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    available_only: bool = False,
    device_id: str | None = None,
    external_only: bool = False,
    internal_only: bool = False,
    ip_address: str | None = None,
    vip_only: bool = False,
    order_by: OrderBy = "created_at.desc",
) -> ReservedFixedIpList:
    limit, offset = page_bounds(limit, offset)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        items = await views.render(conn, scope, await network_repository.list_reserved_ports(conn, scope))
    items = service.select(items, available_only=available_only, device_id=device_id, external_only=external_only,
                           internal_only=internal_only, ip_address=ip_address, vip_only=vip_only, order_by=order_by)
    return ReservedFixedIpList(count=len(items), results=items[offset:offset + limit])


@get(BASE + "/{port_id:str}", tags=TAGS, summary="Get a reserved fixed IP")
async def get_reserved_fixed_ip(project_id: int, region_id: int, port_id: str, principal: PrincipalDep,
                                runtime: RuntimeDep) -> ReservedFixedIp:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        return (await views.render(conn, scope, [await service.get_row(conn, scope, port_id)]))[0]


@delete(BASE + "/{port_id:str}", status_code=200, tags=TAGS,
        summary="Release a reserved fixed IP (task delete_reserved_fixed_ip)")
async def delete_reserved_fixed_ip(project_id: int, region_id: int, port_id: str, principal: PrincipalDep,
                                   runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.delete_task(conn, scope, port_id, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


routes = [create_reserved_fixed_ip, list_reserved_fixed_ips, get_reserved_fixed_ip, delete_reserved_fixed_ip]

"""Instance network routes: interfaces, ports, security groups, attach/detach, placement groups."""

from __future__ import annotations

from litestar import get, post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.http import request_id_var
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import resolve_scope
from cloudlet.instances import interface_steps as _steps  # noqa: F401  (registers the task handlers)
from cloudlet.instances import interfaces as service
from cloudlet.instances.interface_schemas import (
    AttachInterfaceRequest,
    DetachInterfaceRequest,
    IdNameList,
    InterfaceList,
    PortSecurityGroupsList,
    PutIntoServerGroupRequest,
    SecurityGroupsChange,
)
from cloudlet.instances.schemas import TaskIdList
from cloudlet.runtime import RuntimeDep

TAGS = ["instances"]
ONE = "/v1/instances/{project_id:int}/{region_id:int}/{instance_id:str}"


@get(ONE + "/interfaces", tags=TAGS, summary="List an instance's network interfaces")
async def list_interfaces(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                          runtime: RuntimeDep, limit: int | None = None, offset: int | None = None) -> InterfaceList:
    limit, offset = page_bounds(limit, offset)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        items = await service.list_interfaces(conn, scope, instance_id)
    return InterfaceList(count=len(items), results=items[offset:offset + limit])


@get(ONE + "/ports", tags=TAGS, summary="List an instance's ports with their security groups")
async def list_ports(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                     runtime: RuntimeDep) -> PortSecurityGroupsList:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        items = await service.list_ports(conn, scope, instance_id)
    return PortSecurityGroupsList(count=len(items), results=items)


@get(ONE + "/securitygroups", tags=TAGS, summary="List the security groups on an instance's ports")
async def list_security_groups(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                               runtime: RuntimeDep) -> IdNameList:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        items = await service.list_security_groups(conn, scope, instance_id)
    return IdNameList(count=len(items), results=items)


@post(ONE + "/addsecuritygroup", status_code=204, tags=TAGS, summary="Add security groups by name (at once)")
async def add_security_group(project_id: int, region_id: int, instance_id: str, data: JSONBody[SecurityGroupsChange],
                             principal: PrincipalDep, runtime: RuntimeDep) -> None:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.change_security_groups(conn, scope, instance_id, data, add=True)


@post(ONE + "/delsecuritygroup", status_code=204, tags=TAGS, summary="Remove security groups by name (at once)")
async def del_security_group(project_id: int, region_id: int, instance_id: str, data: JSONBody[SecurityGroupsChange],
                             principal: PrincipalDep, runtime: RuntimeDep) -> None:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.change_security_groups(conn, scope, instance_id, data, add=False)


@post(ONE + "/attach_interface", status_code=200, tags=TAGS, summary="Attach an interface (task attach_vm_interface)")
async def attach_interface(project_id: int, region_id: int, instance_id: str,
                           data: JSONBody[AttachInterfaceRequest], principal: PrincipalDep,
                           runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.attach_interface(conn, scope, instance_id, data, request_id=request_id_var.get(),
                                            driver=runtime.driver.info())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@post(ONE + "/detach_interface", status_code=200, tags=TAGS, summary="Detach an interface (task detach_vm_interface)")
async def detach_interface(project_id: int, region_id: int, instance_id: str,
                           data: JSONBody[DetachInterfaceRequest], principal: PrincipalDep,
                           runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.detach_interface(conn, scope, instance_id, data, request_id=request_id_var.get(),
                                            driver=runtime.driver.info())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@post(ONE + "/put_into_servergroup", status_code=200, tags=TAGS,
      summary="Put an instance into a placement group (task put_into_server_group)")
async def put_into_servergroup(project_id: int, region_id: int, instance_id: str,
                               data: JSONBody[PutIntoServerGroupRequest], principal: PrincipalDep,
                               runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.put_into_servergroup(conn, scope, instance_id, data, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@post(ONE + "/remove_from_servergroup", status_code=200, tags=TAGS,
      summary="Take an instance out of its placement group (task remove_from_server_group)")
async def remove_from_servergroup(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                                  runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.remove_from_servergroup(conn, scope, instance_id, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


routes = [list_interfaces, list_ports, list_security_groups, add_security_group, del_security_group,
          attach_interface, detach_interface, put_into_servergroup, remove_from_servergroup]

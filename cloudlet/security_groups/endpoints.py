"""Security groups API routes (supporting.md section 7): Python's v2 create and rule tasks, Go's v1
synchronous forms, and the shared v1 list/get/delete."""

from __future__ import annotations

from litestar import delete, get, post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.http import request_id_var
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import resolve_scope
from cloudlet.networks.schemas import TaskIdList
from cloudlet.networks.tags import TagFilter
from cloudlet.runtime import RuntimeDep
from cloudlet.security_groups import service, views
from cloudlet.security_groups import steps as _steps  # noqa: F401  (registers the task handlers)
from cloudlet.security_groups.schemas import (
    CreateSecurityGroupRequest,
    CreateSecurityGroupV1Request,
    RuleRequest,
    SecurityGroup,
    SecurityGroupList,
    SecurityGroupRule,
)

TAGS = ["security groups"]
V1 = "/v1/securitygroups/{project_id:int}/{region_id:int}"
V2 = "/v2/security_groups/{project_id:int}/{region_id:int}"


@post(V2, status_code=200, tags=TAGS, summary="Create a security group (task create_security_group)")
async def create_security_group(project_id: int, region_id: int, data: JSONBody[CreateSecurityGroupRequest],
                                principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.create_group_task(conn, scope, data, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@post(V1, status_code=200, tags=TAGS, summary="Create a security group at once (deprecated v1)")
async def create_security_group_v1(project_id: int, region_id: int, data: JSONBody[CreateSecurityGroupV1Request],
                                   principal: PrincipalDep, runtime: RuntimeDep) -> SecurityGroup:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        group_id = await service.create_group_now(conn, scope, data)
        return (await views.render(conn, scope, [await service.get_group_row(conn, scope, group_id)]))[0]


@get(V1, tags=TAGS, summary="List security groups")
async def list_security_groups(
    project_id: int,
    region_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    name: str | None = None,
    tag_key: list[str] | None = None,
    tag_key_value: str | None = None,
    metadata_k: list[str] | None = None,
    metadata_kv: str | None = None,
) -> SecurityGroupList:
    limit, offset = page_bounds(limit, offset)
    tag_filter = TagFilter([*(tag_key or []), *(metadata_k or [])], tag_key_value or metadata_kv)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows = await service.list_group_rows(conn, scope, name=name, tag_filter=tag_filter)
        return SecurityGroupList(count=len(rows),
                                 results=await views.render(conn, scope, rows[offset:offset + limit]))


@get(V1 + "/{group_id:str}", tags=TAGS, summary="Get a security group with its rules")
async def get_security_group(project_id: int, region_id: int, group_id: str, principal: PrincipalDep,
                             runtime: RuntimeDep) -> SecurityGroup:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        return (await views.render(conn, scope, [await service.get_group_row(conn, scope, group_id)]))[0]


@delete(V1 + "/{group_id:str}", status_code=204, tags=TAGS, summary="Delete a security group (at once)")
async def delete_security_group(project_id: int, region_id: int, group_id: str, principal: PrincipalDep,
                                runtime: RuntimeDep) -> None:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.delete_group(conn, scope, group_id)


@post(V1 + "/{group_id:str}/rules", status_code=200, tags=TAGS, summary="Add a rule at once (deprecated v1)")
async def create_rule_v1(project_id: int, region_id: int, group_id: str, data: JSONBody[RuleRequest],
                         principal: PrincipalDep, runtime: RuntimeDep) -> SecurityGroupRule:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rule_id = await service.add_rule(conn, scope, group_id, data)
        return views.rule_out(await service.get_rule_row(conn, scope, rule_id))


@delete("/v1/securitygrouprules/{project_id:int}/{region_id:int}/{rule_id:str}", status_code=204, tags=TAGS,
        summary="Delete a rule at once (deprecated v1)")
async def delete_rule_v1(project_id: int, region_id: int, rule_id: str, principal: PrincipalDep,
                         runtime: RuntimeDep) -> None:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.delete_rule(conn, scope, rule_id)


@post(V2 + "/{group_id:str}/rules", status_code=200, tags=TAGS,
      summary="Add a rule (task create_security_group_rule)")
async def create_rule(project_id: int, region_id: int, group_id: str, data: JSONBody[RuleRequest],
                      principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.add_rule_task(conn, scope, group_id, data, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@delete(V2 + "/{group_id:str}/rules/{rule_id:str}", status_code=200, tags=TAGS,
        summary="Delete a rule (task delete_security_group_rule)")
async def delete_rule(project_id: int, region_id: int, group_id: str, rule_id: str, principal: PrincipalDep,
                      runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.delete_rule_task(conn, scope, group_id, rule_id, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


routes = [create_security_group, create_security_group_v1, list_security_groups, get_security_group,
          delete_security_group, create_rule_v1, delete_rule_v1, create_rule, delete_rule]

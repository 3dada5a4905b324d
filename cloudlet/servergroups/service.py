"""Server (placement) group decisions. Membership changes are instance tasks (see
cloudlet.instances.interfaces); groups themselves are made at once and deleted by a task."""

from __future__ import annotations

from typing import Any

from cloudlet.core.clock import new_id
from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.quotas import service as quota_service
from cloudlet.servergroups import repository
from cloudlet.servergroups.schemas import CreateServerGroupRequest, Member, ServerGroup
from cloudlet.tasks.engine import insert_task
from cloudlet.tasks.types import TaskType


async def get_group_row(conn: Conn, scope: Scope, group_id: str) -> Any:
    row = await repository.get(conn, scope, group_id)
    if row is None:
        raise NotFoundError(f"Server group {group_id} could not be found")
    return row


async def list_group_rows(conn: Conn, scope: Scope) -> list[Any]:
    return await repository.list_groups(conn, scope)


async def render(conn: Conn, scope: Scope, rows: list[Any]) -> list[ServerGroup]:
    members = await repository.members(conn, [r.id for r in rows])
    return [ServerGroup(servergroup_id=r.id, name=r.name, policy=r.policy,
                        instances=[Member(instance_id=m.id, instance_name=m.name) for m in members[r.id]],
                        project_id=r.project_id, region=scope.region_name, region_id=r.region_id) for r in rows]


async def create_group(conn: Conn, scope: Scope, body: CreateServerGroupRequest) -> str:
    await quota_service.enforce(conn, scope.client_id, scope.region_id, {"servergroup_count": 1})
    group_id = new_id()
    await repository.insert(conn, scope, group_id=group_id, name=body.name, policy=body.policy)
    return group_id


async def delete_group(conn: Conn, scope: Scope, group_id: str, *, request_id: str) -> str:
    await get_group_row(conn, scope, group_id)
    members = (await repository.members(conn, [group_id]))[group_id]
    if members:
        raise ValidationError(f"Server group {group_id} still has {len(members)} instance(s); remove them from "
                              f"the group or delete them first")
    return await insert_task(
        conn, task_type=TaskType.DELETE_SERVERGROUP, user_id=scope.principal.user_id, client_id=scope.client_id,
        project_id=scope.project_id, region_id=scope.region_id, resource_id=group_id, request_id=request_id,
        data={"servergroup_id": group_id},
    )

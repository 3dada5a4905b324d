"""Project decisions: a new project gets its default security group in every region; a project is
deleted by a ``delete_project`` task once nothing billable is left in it."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from cloudlet.core.auth import Principal
from cloudlet.core.db import Conn
from cloudlet.core.errors import ConflictError, NotFoundError, ResourceLockedError, ValidationError
from cloudlet.projects import repository
from cloudlet.projects.schemas import CreateProjectRequest, UpdateProjectRequest
from cloudlet.security_groups.service import ensure_default_group
from cloudlet.tasks.engine import insert_task
from cloudlet.tasks.types import TaskType

DEFAULT_CLIENT_ID = 1


async def create_project(conn: Conn, *, client_id: int, name: str, description: str | None = None) -> Any:
    if await repository.name_taken(conn, client_id, name):
        raise ConflictError(f"Project with name {name!r} already exists")
    project = await repository.insert(conn, client_id=client_id, name=name, description=description)
    for region_id in await repository.region_ids(conn):
        await ensure_default_group(conn, project_id=project.id, region_id=region_id)
    return project


# --- API -----------------------------------------------------------------------------------


async def _client_for_new_project(conn: Conn, principal: Principal, requested: int | None) -> int:
    """Admins create for any client (default: the first one), resellers for one of their clients,
    clients only for themselves. Another tenant's client reads as missing."""
    if principal.role == "client":
        assert principal.client_id is not None
        if requested is not None and requested != principal.client_id:
            raise NotFoundError(f"Client {requested} could not be found")
        return principal.client_id
    if principal.role == "reseller":
        if requested is None:
            raise ValidationError.for_field("client_id", "client_id is required for a reseller's API key")
        if await repository.reseller_of(conn, requested) != principal.reseller_id:
            raise NotFoundError(f"Client {requested} could not be found")
        return requested
    client_id = DEFAULT_CLIENT_ID if requested is None else requested
    if not await repository.client_exists(conn, client_id):
        raise NotFoundError(f"Client {client_id} could not be found")
    return client_id


async def create_project_for(conn: Conn, principal: Principal, body: CreateProjectRequest) -> Any:
    client_id = await _client_for_new_project(conn, principal, body.client_id)
    project = await create_project(conn, client_id=client_id, name=body.name, description=body.description)
    return await get_project_row(conn, principal, project.id)


async def get_project_row(conn: Conn, principal: Principal, project_id: int) -> Any:
    row = await repository.get_row(conn, principal, project_id)
    if row is None:
        raise NotFoundError(f"Project {project_id} could not be found")
    return row


async def list_project_rows(conn: Conn, principal: Principal, *, name: str | None, include_deleted: bool,
                            client_id: int | None, order_by: str, limit: int,
                            offset: int) -> tuple[list[Any], int]:
    return await repository.list_rows(conn, principal, name=name, include_deleted=include_deleted,
                                      client_id=client_id, order_by=order_by, limit=limit, offset=offset)


def _being_deleted(row: Any) -> ResourceLockedError:
    by = f" by task {row.task_id}" if row.task_id else ""
    return ResourceLockedError(f"Project {row.id} is being deleted{by}")


async def update_project(conn: Conn, principal: Principal, project_id: int, body: UpdateProjectRequest) -> Any:
    conn.database.tenancy_cache.clear()  # cached keys and scopes must not outlive this
    row = await get_project_row(conn, principal, project_id)
    if row.task_id is not None or row.state != "ACTIVE":
        raise _being_deleted(row)
    values: dict[str, Any] = {}
    if isinstance(body.name, str) and body.name != row.name:
        if await repository.name_taken(conn, row.client_id, body.name):
            raise ConflictError(f"Project with name {body.name!r} already exists")
        values["name"] = body.name
    if body.description is not UNSET:
        values["description"] = body.description
    await repository.update(conn, project_id, **values)
    return await get_project_row(conn, principal, project_id)


def describe_resources(found: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in found.items())


async def delete_project(conn: Conn, principal: Principal, project_id: int, *, request_id: str) -> str:
    """Mark the project DELETING and write its ``delete_project`` task; returns the task id."""
    conn.database.tenancy_cache.clear()  # cached keys and scopes must not outlive this
    row = await get_project_row(conn, principal, project_id)
    if row.is_default:
        raise ValidationError(f"Project {project_id} is the client's default project and cannot be deleted")
    if row.task_id is not None or row.state != "ACTIVE":
        raise _being_deleted(row)
    if await repository.has_active_tasks(conn, project_id):
        raise ResourceLockedError(f"Project {project_id} has tasks in progress; wait until they finish")
    found = await repository.blocking_resources(conn, project_id)
    if found:
        raise ValidationError(f"Project {project_id} still has {describe_resources(found)}; delete them first")
    if not await repository.take_for_deletion(conn, project_id):
        raise ResourceLockedError(f"Project {project_id} is already being deleted")
    return await insert_task(
        conn, task_type=TaskType.DELETE_PROJECT, user_id=principal.user_id, client_id=row.client_id,
        project_id=project_id, region_id=None, resource_id=str(project_id), request_id=request_id,
        data={"project_id": project_id},
    )

"""Projects API routes."""

from __future__ import annotations

from typing import Literal

from litestar import delete, get, patch, post, put
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.http import request_id_var
from cloudlet.core.pagination import page_bounds
from cloudlet.projects import service
from cloudlet.projects import steps as _steps  # noqa: F401  (registers the task handler)
from cloudlet.projects.schemas import (
    CreateProjectRequest,
    Project,
    ProjectList,
    TaskIdList,
    UpdateProjectRequest,
    project_out,
)
from cloudlet.runtime import RuntimeDep

TAGS = ["projects"]
OrderBy = Literal["created_at.asc", "created_at.desc", "name.asc", "name.desc"]


@get("/v1/projects", tags=TAGS, summary="List projects")
async def list_projects(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    name: str | None = None,
    include_deleted: bool = False,
    client_id: int | None = None,
    order_by: OrderBy = "created_at.desc",
) -> ProjectList:
    """The projects the API key may see; ``name`` is a case-insensitive substring, ``client_id``
    narrows an admin's or reseller's view to one client."""
    limit, offset = page_bounds(limit, offset, default=100)
    async with runtime.db.read() as conn:
        rows, total = await service.list_project_rows(conn, principal, name=name, include_deleted=include_deleted,
                                                      client_id=client_id, order_by=order_by, limit=limit,
                                                      offset=offset)
    return ProjectList(count=total, results=[project_out(r) for r in rows])


@post("/v1/projects", status_code=200, tags=TAGS, summary="Create a project (synchronous)")
async def create_project(data: JSONBody[CreateProjectRequest], principal: PrincipalDep,
                         runtime: RuntimeDep) -> Project:
    """A client key creates in its own client; an admin key in ``client_id`` (default 1); a reseller
    key in one of its clients (``client_id`` required)."""
    async with runtime.db.transaction() as conn:
        row = await service.create_project_for(conn, principal, data)
    return project_out(row)


@get("/v1/projects/{project_id:int}", tags=TAGS, summary="Get a project")
async def get_project(project_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> Project:
    async with runtime.db.read() as conn:
        return project_out(await service.get_project_row(conn, principal, project_id))


@patch("/v1/projects/{project_id:int}", tags=TAGS, summary="Rename a project or change its description")
async def update_project(project_id: int, data: JSONBody[UpdateProjectRequest], principal: PrincipalDep,
                         runtime: RuntimeDep) -> Project:
    async with runtime.db.transaction() as conn:
        return project_out(await service.update_project(conn, principal, project_id, data))


@put("/v1/projects/{project_id:int}", tags=TAGS, summary="Update a project (deprecated: use PATCH)",
     deprecated=True)
async def replace_project(project_id: int, data: JSONBody[UpdateProjectRequest], principal: PrincipalDep,
                          runtime: RuntimeDep) -> Project:
    async with runtime.db.transaction() as conn:
        return project_out(await service.update_project(conn, principal, project_id, data))


@delete("/v1/projects/{project_id:int}", status_code=200, tags=TAGS, summary="Delete a project (task delete_project)")
async def delete_project(project_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    """Refused (400) for the default project and for a project that still has instances, volumes,
    networks, floating IPs or reserved fixed IPs; its security groups, placement groups and SSH keys
    go with it."""
    async with runtime.db.transaction() as conn:
        task_id = await service.delete_project(conn, principal, project_id, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


routes = [list_projects, create_project, get_project, update_project, replace_project, delete_project]

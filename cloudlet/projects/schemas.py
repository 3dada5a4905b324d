"""Wire models of the Projects API (supporting.md section 3; Python ``gcore.types.cloud.Project``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType
from cloudlet.core.schemas import TaskIdList

NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z 0-9._\-]{1,61}[a-zA-Z0-9._]$"

ProjectName = Annotated[str, Meta(pattern=NAME_PATTERN, description="3-63 characters, unique for the client")]
Description = Annotated[str, Meta(max_length=255)]


class CreateProjectRequest(Struct):
    name: ProjectName
    description: Description | None = None
    client_id: int | None = None
    state: str | None = None  # Go SDK only; a new project is always ACTIVE


class UpdateProjectRequest(Struct):
    name: ProjectName | UnsetType = UNSET
    description: Description | None | UnsetType = UNSET


class Project(Struct):
    id: int
    client_id: int
    name: str
    description: str | None
    state: str
    is_default: bool
    created_at: dt.datetime
    deleted_at: dt.datetime | None
    task_id: str | None


class ProjectList(Struct):
    count: int
    results: list[Project]


def project_out(row: Any) -> Project:
    return Project(
        id=row.id, client_id=row.client_id, name=row.name, description=row.description, state=row.state,
        is_default=row.is_default, created_at=row.created_at, deleted_at=row.deleted_at,
        task_id=getattr(row, "task_id", None),
    )

"""Project decisions: a new project gets its default security group in every region."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.core.errors import ConflictError
from cloudlet.models import regions
from cloudlet.projects import repository
from cloudlet.security_groups.service import ensure_default_group


async def create_project(conn: Conn, *, client_id: int, name: str, description: str | None = None) -> Any:
    if await repository.name_taken(conn, client_id, name):
        raise ConflictError(f"Project with name {name!r} already exists")
    project = await repository.insert(conn, client_id=client_id, name=name, description=description)
    for region_id in (await conn.execute(sa.select(regions.c.id))).scalars():
        await ensure_default_group(conn, project_id=project.id, region_id=region_id)
    return project

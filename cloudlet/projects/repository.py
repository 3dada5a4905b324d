"""SQL for projects."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.auth import Principal
from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.core.scope import visible_projects
from cloudlet.models import projects


async def insert(conn: Conn, *, client_id: int, name: str, description: str | None, is_default: bool = False) -> Any:
    return (
        await conn.execute(
            projects.insert()
            .values(client_id=client_id, name=name, description=description, is_default=is_default, state="ACTIVE",
                    created_at=utcnow())
            .returning(projects)
        )
    ).one()


async def get(conn: Conn, principal: Principal, project_id: int) -> Any:
    return (await conn.execute(sa.select(projects).where(projects.c.id == project_id,
                                                         visible_projects(principal)))).first()


async def name_taken(conn: Conn, client_id: int, name: str) -> bool:
    return bool(await conn.scalar(sa.select(sa.literal(1)).where(
        projects.c.client_id == client_id, projects.c.name == name, projects.c.deleted_at.is_(None)).limit(1)))

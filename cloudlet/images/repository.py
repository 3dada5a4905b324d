"""SQL for images: public ones and the project's own."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.models import images


def visible(scope: Scope) -> sa.ColumnElement[bool]:
    return sa.and_(images.c.region_id == scope.region_id,
                   sa.or_(images.c.project_id.is_(None), images.c.project_id == scope.project_id))


async def get(conn: Conn, scope: Scope, image_id: str) -> Any:
    return (await conn.execute(sa.select(images).where(images.c.id == image_id, visible(scope)))).first()

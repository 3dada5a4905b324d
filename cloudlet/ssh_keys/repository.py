"""SQL for SSH keys (project-wide, no region)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.models import ssh_keys


async def get_by_name(conn: Conn, project_id: int, name: str) -> Any:
    return (await conn.execute(sa.select(ssh_keys).where(ssh_keys.c.project_id == project_id,
                                                         ssh_keys.c.name == name))).first()

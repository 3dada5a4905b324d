"""SQL for reserved fixed IPs beyond the port functions of cloudlet.networks.repository."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.models import ports


async def get(conn: Conn, scope: Scope, port_id: str) -> Any:
    return (await conn.execute(sa.select(ports).where(
        ports.c.id == port_id, ports.c.project_id == scope.project_id, ports.c.region_id == scope.region_id,
        ports.c.reserved.is_(True)))).first()

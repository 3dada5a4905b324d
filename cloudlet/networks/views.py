"""Build the wire ``Network`` from rows."""

from __future__ import annotations

from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.networks import repository
from cloudlet.networks.schemas import Network, tags_out


def network_out(row: Any, subnet_ids: list[str], region_name: str) -> Network:
    tags = tags_out(row.tags)
    return Network(
        id=row.id, name=row.name, created_at=row.created_at, updated_at=row.updated_at,
        creator_task_id=row.creator_task_id, task_id=row.task_id, default=row.is_default, external=row.external,
        shared=row.shared, mtu=row.mtu, port_security_enabled=True, segmentation_id=row.segmentation_id,
        type=row.type, subnets=subnet_ids, tags=tags, project_id=row.project_id, region=region_name,
        region_id=row.region_id, metadata=tags,
    )


async def render(conn: Conn, scope: Scope, rows: list[Any]) -> list[Network]:
    subnet_ids = await repository.subnet_ids_of(conn, [r.id for r in rows])
    return [network_out(r, subnet_ids[r.id], scope.region_name) for r in rows]

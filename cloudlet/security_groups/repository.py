"""SQL for security groups, their rules, and which ports they apply to."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.clock import new_id, utcnow
from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.models import port_security_groups, ports, security_group_rules, security_groups


async def get_default(conn: Conn, project_id: int, region_id: int) -> Any:
    return (
        await conn.execute(
            sa.select(security_groups).where(
                security_groups.c.project_id == project_id, security_groups.c.region_id == region_id,
                security_groups.c.is_default.is_(True),
            )
        )
    ).first()


async def insert_group(conn: Conn, *, project_id: int, region_id: int, name: str, description: str | None,
                       is_default: bool, rules: list[dict[str, Any]]) -> str:
    now = utcnow()
    group_id = new_id()
    await conn.execute(
        security_groups.insert().values(
            id=group_id, project_id=project_id, region_id=region_id, name=name, description=description,
            is_default=is_default, revision_number=0, tags=[], created_at=now, updated_at=now,
        )
    )
    if rules:
        await conn.execute(
            security_group_rules.insert(),
            [
                {"id": new_id(), "security_group_id": group_id, "direction": r["direction"],
                 "ethertype": r.get("ethertype"), "protocol": r.get("protocol"),
                 "port_range_min": r.get("port_range_min"), "port_range_max": r.get("port_range_max"),
                 "remote_ip_prefix": r.get("remote_ip_prefix"), "remote_group_id": None,
                 "description": r.get("description"), "created_at": now, "updated_at": now}
                for r in rules
            ],
        )
    return group_id


async def get_many(conn: Conn, scope: Scope, group_ids: list[str]) -> list[Any]:
    return list(
        (
            await conn.execute(
                sa.select(security_groups.c.id, security_groups.c.name).where(
                    security_groups.c.id.in_(group_ids), security_groups.c.project_id == scope.project_id,
                    security_groups.c.region_id == scope.region_id,
                )
            )
        ).all()
    )


async def attach_to_port(conn: Conn, port_id: str, group_ids: list[str]) -> None:
    if group_ids:
        await conn.execute(
            port_security_groups.insert(), [{"port_id": port_id, "security_group_id": g} for g in group_ids]
        )


async def names_for_instances(conn: Conn, instance_ids: list[str]) -> dict[str, list[str]]:
    """Security group names per instance (the union over its ports), in name order."""
    rows = await conn.execute(
        sa.select(ports.c.instance_id, security_groups.c.name)
        .select_from(
            ports.join(port_security_groups, port_security_groups.c.port_id == ports.c.id).join(
                security_groups, security_groups.c.id == port_security_groups.c.security_group_id
            )
        )
        .where(ports.c.instance_id.in_(instance_ids))
        .distinct()
        .order_by(security_groups.c.name)
    )
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row.instance_id, []).append(row.name)
    return out

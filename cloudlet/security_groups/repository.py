"""SQL for security groups, their rules, and which ports they apply to."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.clock import new_id, utcnow
from cloudlet.core.db import Conn
from cloudlet.core.direct import prepared
from cloudlet.core.scope import Scope
from cloudlet.models import (
    port_security_groups,
    ports,
    security_group_rules,
    security_groups,
)


async def get_default(conn: Conn, project_id: int, region_id: int) -> Any:
    return (await conn.execute(_DEFAULT, {"project_id": project_id, "region_id": region_id})).first()


# built once (see core/sql.py on hot-path statements)
_ATTACH_TO_PORT = prepared(port_security_groups.insert())
_DEFAULT = prepared(sa.select(security_groups).where(
    security_groups.c.project_id == sa.bindparam("project_id"),
    security_groups.c.region_id == sa.bindparam("region_id"),
    security_groups.c.is_default.is_(True),
))


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
        await conn.execute(_ATTACH_TO_PORT, [{"port_id": port_id, "security_group_id": g} for g in group_ids])


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


# --- the Security groups API ---------------------------------------------------------------


def _group_in_scope(scope: Scope) -> sa.ColumnElement[bool]:
    return sa.and_(security_groups.c.project_id == scope.project_id, security_groups.c.region_id == scope.region_id)


async def list_groups(conn: Conn, scope: Scope, *, name: str | None = None) -> list[Any]:
    stmt = sa.select(security_groups).where(_group_in_scope(scope))
    if name is not None:
        stmt = stmt.where(security_groups.c.name == name)
    return list((await conn.execute(stmt.order_by(security_groups.c.created_at, security_groups.c.id))).all())


async def get_group(conn: Conn, scope: Scope, group_id: str) -> Any:
    return (await conn.execute(sa.select(security_groups).where(security_groups.c.id == group_id,
                                                                _group_in_scope(scope)))).first()


async def get_group_plain(conn: Conn, group_id: str) -> Any:
    return (await conn.execute(sa.select(security_groups).where(security_groups.c.id == group_id))).first()


async def groups_by_names(conn: Conn, scope: Scope, names: list[str]) -> list[Any]:
    if not names:
        return []
    return list((await conn.execute(sa.select(security_groups.c.id, security_groups.c.name)
                                    .where(_group_in_scope(scope), security_groups.c.name.in_(names))
                                    .order_by(security_groups.c.created_at))).all())


async def rules_of(conn: Conn, group_ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {g: [] for g in group_ids}
    if group_ids:
        rows = await conn.execute(sa.select(security_group_rules)
                                  .where(security_group_rules.c.security_group_id.in_(group_ids))
                                  .order_by(security_group_rules.c.created_at, security_group_rules.c.id))
        for r in rows:
            out[r.security_group_id].append(r)
    return out


async def insert_rules(conn: Conn, group_id: str, rules: list[dict[str, Any]]) -> list[str]:
    now = utcnow()
    ids = [new_id() for _ in rules]
    if rules:
        await conn.execute(security_group_rules.insert(), [
            {"id": rule_id, "security_group_id": group_id, "created_at": now, "updated_at": now, **r}
            for rule_id, r in zip(ids, rules, strict=True)
        ])
    return ids


async def get_rule(conn: Conn, scope: Scope, rule_id: str) -> Any:
    return (await conn.execute(
        sa.select(security_group_rules).select_from(security_group_rules.join(
            security_groups, security_groups.c.id == security_group_rules.c.security_group_id))
        .where(security_group_rules.c.id == rule_id, _group_in_scope(scope))
    )).first()


async def delete_rule(conn: Conn, rule_id: str) -> None:
    await conn.execute(security_group_rules.delete().where(security_group_rules.c.id == rule_id))


async def update_group(conn: Conn, group_id: str, *, bump: bool = False, **values: Any) -> None:
    if bump:
        values["revision_number"] = security_groups.c.revision_number + 1
    await conn.execute(security_groups.update().where(security_groups.c.id == group_id)
                       .values(updated_at=utcnow(), **values))


async def ports_using(conn: Conn, group_id: str) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(port_security_groups)
                                 .where(port_security_groups.c.security_group_id == group_id)) or 0)


async def delete_group(conn: Conn, group_id: str) -> None:
    """Delete a group, its rules, and the rules of other groups that name it as their remote group."""
    await conn.execute(security_group_rules.delete().where(sa.or_(
        security_group_rules.c.security_group_id == group_id, security_group_rules.c.remote_group_id == group_id)))
    await conn.execute(port_security_groups.delete().where(port_security_groups.c.security_group_id == group_id))
    await conn.execute(security_groups.delete().where(security_groups.c.id == group_id))


async def groups_of_ports(conn: Conn, port_ids: list[str]) -> dict[str, list[Any]]:
    """Per port: its groups (id, name), in name order."""
    out: dict[str, list[Any]] = {p: [] for p in port_ids}
    if port_ids:
        rows = await conn.execute(
            sa.select(port_security_groups.c.port_id, security_groups.c.id, security_groups.c.name)
            .select_from(port_security_groups.join(
                security_groups, security_groups.c.id == port_security_groups.c.security_group_id))
            .where(port_security_groups.c.port_id.in_(port_ids))
            .order_by(security_groups.c.name, security_groups.c.id)
        )
        for r in rows:
            out[r.port_id].append(r)
    return out


async def detach_from_port(conn: Conn, port_id: str, group_ids: list[str]) -> None:
    if group_ids:
        await conn.execute(port_security_groups.delete().where(port_security_groups.c.port_id == port_id,
                                                               port_security_groups.c.security_group_id.in_(group_ids)))


async def port_ids_of_instances(conn: Conn, scope: Scope, instance_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {i: [] for i in instance_ids}
    if instance_ids:
        rows = await conn.execute(sa.select(ports.c.id, ports.c.instance_id).where(
            ports.c.instance_id.in_(instance_ids), ports.c.project_id == scope.project_id,
            ports.c.region_id == scope.region_id).order_by(ports.c.position))
        for r in rows:
            out[r.instance_id].append(r.id)
    return out


async def existing_instances(conn: Conn, scope: Scope, instance_ids: list[str]) -> set[str]:
    from cloudlet.models import instances

    if not instance_ids:
        return set()
    rows = await conn.execute(sa.select(instances.c.id).where(
        instances.c.id.in_(instance_ids), instances.c.project_id == scope.project_id,
        instances.c.region_id == scope.region_id))
    return {r.id for r in rows}

"""SQL for projects."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.auth import Principal
from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.core.scope import visible_projects
from cloudlet.core.sql import like_escape
from cloudlet.models import (
    clients,
    floating_ips,
    instances,
    networks,
    ports,
    projects,
    regions,
    security_groups,
    servergroups,
    ssh_keys,
    tasks,
    volumes,
)
from cloudlet.tasks.types import ACTIVE_STATES, TaskType

ORDERINGS = {
    "created_at.asc": (projects.c.created_at.asc(), projects.c.id.asc()),
    "created_at.desc": (projects.c.created_at.desc(), projects.c.id.desc()),
    "name.asc": (projects.c.name.asc(), projects.c.id.asc()),
    "name.desc": (projects.c.name.desc(), projects.c.id.desc()),
}

# A project's lock is its running delete_project task (the table has no task_id column).
_DELETE_TASK = (
    sa.select(tasks.c.id)
    .where(tasks.c.task_type == TaskType.DELETE_PROJECT, tasks.c.state.in_(list(ACTIVE_STATES)),
           tasks.c.resource_id == sa.cast(projects.c.id, sa.String))
    .order_by(tasks.c.created_on.desc()).limit(1)
    .correlate(projects).scalar_subquery()
)

_ROW = sa.select(projects, _DELETE_TASK.label("task_id"))


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


async def region_ids(conn: Conn) -> list[int]:
    return list((await conn.execute(sa.select(regions.c.id).order_by(regions.c.id))).scalars())


def _owned_by(principal: Principal) -> sa.ColumnElement[bool]:
    """Like ``visible_projects`` but deleted projects included (``include_deleted=true``)."""
    if principal.role == "admin":
        return sa.true()
    if principal.role == "reseller":
        owned = sa.select(clients.c.id).where(clients.c.reseller_id == principal.reseller_id)
        return projects.c.client_id.in_(owned.scalar_subquery())
    return projects.c.client_id == principal.client_id


async def get_row(conn: Conn, principal: Principal, project_id: int) -> Any:
    """The wire row (with ``task_id``) of a project the principal may see, or None."""
    return (await conn.execute(_ROW.where(projects.c.id == project_id, visible_projects(principal)))).first()


async def list_rows(conn: Conn, principal: Principal, *, name: str | None, include_deleted: bool,
                    client_id: int | None, order_by: str, limit: int, offset: int) -> tuple[list[Any], int]:
    where: list[Any] = [_owned_by(principal) if include_deleted else visible_projects(principal)]
    if name:
        where.append(projects.c.name.ilike(f"%{like_escape(name)}%", escape="\\"))
    if client_id is not None:
        where.append(projects.c.client_id == client_id)
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(projects).where(*where)) or 0)
    rows = (await conn.execute(_ROW.where(*where).order_by(*ORDERINGS[order_by]).limit(limit).offset(offset))).all()
    return list(rows), total


async def update(conn: Conn, project_id: int, **values: Any) -> None:
    if values:
        await conn.execute(projects.update().where(projects.c.id == project_id).values(**values))


async def client_exists(conn: Conn, client_id: int) -> bool:
    return bool(await conn.scalar(sa.select(sa.literal(1)).where(clients.c.id == client_id)))


async def reseller_of(conn: Conn, client_id: int) -> int | None:
    reseller_id = await conn.scalar(sa.select(clients.c.reseller_id).where(clients.c.id == client_id))
    return None if reseller_id is None else int(reseller_id)


# --- deletion ------------------------------------------------------------------------------


async def has_active_tasks(conn: Conn, project_id: int) -> bool:
    return bool(await conn.scalar(sa.select(sa.literal(1)).where(
        tasks.c.project_id == project_id, tasks.c.state.in_(list(ACTIVE_STATES))).limit(1)))


async def blocking_resources(conn: Conn, project_id: int) -> dict[str, int]:
    """How many resources that must be deleted by their own API the project still has, by kind."""

    async def count(table: sa.Table, *where: Any) -> int:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)

    found = {
        "instance": await count(instances, instances.c.project_id == project_id),
        "volume": await count(volumes, volumes.c.project_id == project_id),
        "network": await count(networks, networks.c.project_id == project_id, networks.c.external.is_(False)),
        "floating IP": await count(floating_ips, floating_ips.c.project_id == project_id),
        "reserved fixed IP": await count(ports, ports.c.project_id == project_id, ports.c.reserved.is_(True)),
    }
    return {kind: n for kind, n in found.items() if n}


async def take_for_deletion(conn: Conn, project_id: int) -> bool:
    """ACTIVE -> DELETING, only if no other request got there first."""
    result = await conn.execute(projects.update()
                                .where(projects.c.id == project_id, projects.c.state == "ACTIVE",
                                       projects.c.deleted_at.is_(None))
                                .values(state="DELETING"))
    return result.rowcount == 1  # type: ignore[no-any-return]


async def get_plain(conn: Conn, project_id: int) -> Any:
    """Unscoped read by id: for task steps, which act on behalf of a task already authorised."""
    return (await conn.execute(sa.select(projects).where(projects.c.id == project_id))).first()


async def purge_leftovers(conn: Conn, project_id: int) -> None:
    """Delete what a project keeps without a delete task of its own: security groups (their rules and
    port links cascade), placement groups and SSH keys."""
    await conn.execute(security_groups.delete().where(security_groups.c.project_id == project_id))
    await conn.execute(servergroups.delete().where(servergroups.c.project_id == project_id))
    await conn.execute(ssh_keys.delete().where(ssh_keys.c.project_id == project_id))


async def set_state(conn: Conn, project_id: int, state: str, *, deleted: bool = False) -> None:
    await conn.execute(projects.update().where(projects.c.id == project_id)
                       .values(state=state, deleted_at=utcnow() if deleted else None))

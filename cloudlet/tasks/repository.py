"""SQL for reading and acknowledging tasks. Reads are scoped to what the principal may see."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa

from cloudlet.core.auth import ROLES, Principal
from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.core.direct import prepared
from cloudlet.models import clients, tasks


def visible(principal: Principal) -> sa.ColumnElement[bool]:
    return _visible_to(principal.role, principal.client_id, principal.reseller_id)


def _visible_to(role: str, client_id: Any, reseller_id: Any) -> sa.ColumnElement[bool]:
    if role == "admin":
        return sa.true()
    if role == "reseller":
        owned = sa.select(clients.c.id).where(clients.c.reseller_id == reseller_id)
        return tasks.c.client_id.in_(owned.scalar_subquery())
    return tasks.c.client_id == client_id


@dataclasses.dataclass(slots=True)
class TaskFilters:
    project_ids: list[int] = dataclasses.field(default_factory=list)
    region_ids: list[int] = dataclasses.field(default_factory=list)
    states: list[str] = dataclasses.field(default_factory=list)
    task_types: list[str] = dataclasses.field(default_factory=list)
    is_acknowledged: bool | None = None
    from_timestamp: dt.datetime | None = None
    to_timestamp: dt.datetime | None = None

    def conditions(self) -> list[Any]:
        c = tasks.c
        out: list[Any] = []
        if self.project_ids:
            out.append(c.project_id.in_(self.project_ids))
        if self.region_ids:
            out.append(c.region_id.in_(self.region_ids))
        if self.states:
            out.append(c.state.in_(self.states))
        if self.task_types:
            out.append(c.task_type.in_(self.task_types))
        if self.is_acknowledged is not None:
            out.append(c.acknowledged_at.is_not(None) if self.is_acknowledged else c.acknowledged_at.is_(None))
        if self.from_timestamp:
            out.append(c.created_on >= self.from_timestamp)
        if self.to_timestamp:
            out.append(c.created_on <= self.to_timestamp)
        return out


async def get(conn: Conn, principal: Principal, task_id: str) -> Any:
    params = {"task_id": task_id, "client_id": principal.client_id, "reseller_id": principal.reseller_id}
    return (await conn.execute(_BY_ID[principal.role], params)).first()


async def list_rows(conn: Conn, principal: Principal, filters: TaskFilters, *, descending: bool, limit: int,
                    offset: int) -> tuple[list[Any], int]:
    where = [visible(principal), *filters.conditions()]
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(tasks).where(*where)) or 0)
    order = (tasks.c.created_on.desc(), tasks.c.id.desc()) if descending else (tasks.c.created_on.asc(), tasks.c.id)
    rows = (await conn.execute(sa.select(tasks).where(*where).order_by(*order).limit(limit).offset(offset))).all()
    return list(rows), total


async def acknowledge(conn: Conn, principal: Principal, *, task_ids: list[str] | None = None,
                      project_id: int | None = None, region_id: int | None = None) -> int:
    where = [visible(principal), tasks.c.acknowledged_at.is_(None)]
    if task_ids is not None:
        where.append(tasks.c.id.in_(task_ids))
    if project_id is not None:
        where.append(tasks.c.project_id == project_id)
    if region_id is not None:
        where.append(tasks.c.region_id == region_id)
    result = await conn.execute(tasks.update().where(*where)
                                .values(acknowledged_at=utcnow(), acknowledged_by=principal.user_id))
    return result.rowcount  # type: ignore[no-any-return]


# built once per role (see core/sql.py on hot-path statements): every client polls its tasks
_BY_ID = {role: prepared(sa.select(tasks).where(
    tasks.c.id == sa.bindparam("task_id"), _visible_to(role, sa.bindparam("client_id"), sa.bindparam("reseller_id"))))
          for role in ROLES}

"""SQL for volumes."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.core.direct import prepared
from cloudlet.core.scope import Scope
from cloudlet.core.sql import like_escape
from cloudlet.models import instances, volumes


def _in_scope(scope: Scope) -> sa.ColumnElement[bool]:
    return sa.and_(volumes.c.project_id == scope.project_id, volumes.c.region_id == scope.region_id)


_ROW = sa.select(volumes, instances.c.name.label("instance_name"), instances.c.flavor_id.label("instance_flavor_id")
                 ).select_from(volumes.outerjoin(instances, instances.c.id == volumes.c.instance_id))


@dataclasses.dataclass(slots=True)
class VolumeFilters:
    bootable: bool | None = None
    has_attachments: bool | None = None
    id_part: str | None = None
    name_part: str | None = None
    instance_id: str | None = None
    tag_keys: list[str] = dataclasses.field(default_factory=list)
    tag_key_values: dict[str, str] = dataclasses.field(default_factory=dict)
    cluster_id: str | None = None

    def conditions(self) -> list[Any]:
        """The column filters; tag filters depend on the dialect and are added by ``list_rows``."""
        c = volumes.c
        out: list[Any] = []
        if self.cluster_id:
            out.append(sa.false())  # cloudlet has no Kubernetes clusters, so no volume belongs to one
        if self.bootable is not None:
            out.append(c.bootable.is_(self.bootable))
        if self.has_attachments is not None:
            out.append(c.instance_id.is_not(None) if self.has_attachments else c.instance_id.is_(None))
        if self.id_part:
            out.append(c.id.ilike(f"%{like_escape(self.id_part)}%", escape="\\"))
        if self.name_part:
            out.append(c.name.ilike(f"%{like_escape(self.name_part)}%", escape="\\"))
        if self.instance_id:
            out.append(c.instance_id == self.instance_id)
        return out


async def insert(conn: Conn, scope: Scope, **values: Any) -> None:
    now = utcnow()
    await conn.execute(_INSERT, dict(project_id=scope.project_id, region_id=scope.region_id, created_at=now,
                                     updated_at=now, **values))


async def get(conn: Conn, scope: Scope, volume_id: str) -> Any:
    return (await conn.execute(_ROW.where(volumes.c.id == volume_id, _in_scope(scope)))).first()


def _has_tag(dialect: str, key: str, value: str | None) -> sa.ColumnElement[bool]:
    """``volumes.tags`` (a JSON list of ``{key, value, read_only}``) holds the key, with ``value`` if given."""
    wanted: dict[str, str] = {"key": key} if value is None else {"key": key, "value": value}
    if dialect == "postgresql":
        return sa.cast(volumes.c.tags, JSONB).contains([wanted])
    item = sa.func.json_each(volumes.c.tags).table_valued("value").alias("tag_item")
    conditions = [sa.func.json_extract(item.c.value, "$.key") == key]
    if value is not None:
        conditions.append(sa.func.json_extract(item.c.value, "$.value") == value)
    return sa.exists(sa.select(sa.literal(1)).select_from(item).where(*conditions))


def _tag_conditions(dialect: str, filters: VolumeFilters) -> list[Any]:
    return [*(_has_tag(dialect, k, None) for k in filters.tag_keys),
            *(_has_tag(dialect, k, v) for k, v in filters.tag_key_values.items())]


async def list_rows(conn: Conn, scope: Scope, filters: VolumeFilters, *, limit: int, offset: int) -> tuple[list[Any], int]:
    where = [_in_scope(scope), *filters.conditions(), *_tag_conditions(conn.dialect_name, filters)]
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(volumes).where(*where)) or 0)
    rows = (await conn.execute(_ROW.where(*where).order_by(volumes.c.created_at.desc(), volumes.c.id)
                               .limit(limit).offset(offset))).all()
    return list(rows), total


async def attached_to(conn: Conn, instance_ids: list[str]) -> list[Any]:
    return list((await conn.execute(_ATTACHED_TO, {"instance_ids": instance_ids})).all())


async def set_status(conn: Conn, volume_ids: list[str], status: str, **values: Any) -> None:
    if volume_ids:
        await conn.execute(_SET_STATUS, {"b_volume_ids": volume_ids, "status": status, "updated_at": utcnow(),
                                         **values})


async def attach(conn: Conn, volume_id: str, *, instance_id: str, device: str, boot_index: int | None,
                 delete_on_termination: bool, attachment_tag: str | None, status: str) -> None:
    await conn.execute(
        volumes.update().where(volumes.c.id == volume_id)
        .values(instance_id=instance_id, device=device, boot_index=boot_index, status=status,
                delete_on_termination=delete_on_termination, attachment_tag=attachment_tag, updated_at=utcnow())
    )


async def detach(conn: Conn, volume_ids: list[str]) -> None:
    if volume_ids:
        await conn.execute(
            volumes.update().where(volumes.c.id.in_(volume_ids))
            .values(instance_id=None, device=None, attached_at=None, boot_index=None, attachment_tag=None,
                    delete_on_termination=False, status="available", updated_at=utcnow())
        )


async def take_lock(conn: Conn, scope: Scope, volume_id: str, task_id: str, status: str) -> bool:
    result = await conn.execute(
        volumes.update()
        .where(volumes.c.id == volume_id, _in_scope(scope), volumes.c.task_id.is_(None),
               volumes.c.instance_id.is_(None))
        .values(task_id=task_id, status=status, updated_at=utcnow())
    )
    return result.rowcount == 1  # type: ignore[no-any-return]


async def release_lock(conn: Conn, volume_id: str, status: str) -> None:
    await conn.execute(volumes.update().where(volumes.c.id == volume_id)
                       .values(task_id=None, status=status, updated_at=utcnow()))


async def delete(conn: Conn, volume_ids: list[str]) -> None:
    if volume_ids:
        await conn.execute(volumes.delete().where(volumes.c.id.in_(volume_ids)))


async def get_plain(conn: Conn, volume_id: str) -> Any:
    """Unscoped read by id: for task steps, which act on behalf of a task already authorised."""
    return (await conn.execute(sa.select(volumes).where(volumes.c.id == volume_id))).first()


async def finish_task(conn: Conn, volume_id: str, task_id: str, status: str) -> bool:
    """Set the status and release the lock, if ``task_id`` still holds it; returns whether it did."""
    result = await conn.execute(volumes.update().where(volumes.c.id == volume_id, volumes.c.task_id == task_id)
                                .values(task_id=None, status=status, updated_at=utcnow()))
    return result.rowcount == 1  # type: ignore[no-any-return]


async def delete_locked_by(conn: Conn, volume_id: str, task_id: str) -> None:
    """Delete the volume if ``task_id`` holds its lock (a re-run after the row went is a no-op)."""
    await conn.execute(volumes.delete().where(volumes.c.id == volume_id, volumes.c.task_id == task_id))


# --- statements built once (see core/sql.py on hot-path statements) ----------------------------

_ATTACHED_TO = prepared(sa.select(volumes)
                       .where(volumes.c.instance_id.in_(sa.bindparam("instance_ids", expanding=True)))
                       .order_by(volumes.c.instance_id, volumes.c.device, volumes.c.id))
_INSERT = prepared(volumes.insert())
# the SET columns are the parameters' keys; the "b_" name keeps the WHERE's parameter apart from them
_SET_STATUS = prepared(volumes.update().where(volumes.c.id.in_(sa.bindparam("b_volume_ids", expanding=True))))

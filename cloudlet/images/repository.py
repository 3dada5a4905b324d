"""SQL for images: public ones and the project's own."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from cloudlet.core.db import Conn
from cloudlet.core.direct import prepared
from cloudlet.core.scope import Scope
from cloudlet.core.sql import like_escape
from cloudlet.models import images


def visible(scope: Scope) -> sa.ColumnElement[bool]:
    return _visible_in(scope.region_id, scope.project_id)


def _visible_in(region_id: Any, project_id: Any) -> sa.ColumnElement[bool]:
    """Public images of the region and the project's own."""
    return sa.and_(images.c.region_id == region_id,
                   sa.or_(images.c.project_id.is_(None), images.c.project_id == project_id))


async def get(conn: Conn, scope: Scope, image_id: str) -> Any:
    params = {"image_id": image_id, "region_id": scope.region_id, "project_id": scope.project_id}
    return (await conn.execute(_BY_ID, params)).first()


# built once (see core/sql.py on hot-path statements)
_BY_ID = prepared(sa.select(images).where(images.c.id == sa.bindparam("image_id"),
                                          _visible_in(sa.bindparam("region_id"), sa.bindparam("project_id"))))


@dataclasses.dataclass(slots=True)
class ImageFilters:
    include_private: bool = False
    visibility: str | None = None
    architecture: str | None = None
    name: str | None = None
    os_distro: str | None = None
    os_version: str | None = None
    tag_keys: list[str] = dataclasses.field(default_factory=list)
    tag_key_values: dict[str, str] = dataclasses.field(default_factory=dict)

    def conditions(self) -> list[Any]:
        """The column filters; tag filters depend on the dialect and are added by ``list_rows``."""
        c = images.c
        out: list[Any] = []
        if self.visibility is not None:
            out.append(c.visibility == self.visibility)
        elif not self.include_private:
            out.append(c.visibility != "private")
        if self.architecture is not None:
            out.append(c.architecture == self.architecture)
        if self.name:
            out.append(c.name.ilike(f"%{like_escape(self.name)}%", escape="\\"))
        if self.os_distro is not None:
            out.append(sa.func.lower(c.os_distro) == self.os_distro.lower())
        if self.os_version is not None:
            out.append(sa.func.lower(c.os_version) == self.os_version.lower())
        return out


def _has_tag(dialect: str, key: str, value: str | None) -> sa.ColumnElement[bool]:
    """``images.tags`` (a JSON list of ``{key, value, read_only}``) holds the key, with ``value`` if given."""
    wanted: dict[str, str] = {"key": key} if value is None else {"key": key, "value": value}
    if dialect == "postgresql":
        return sa.cast(images.c.tags, JSONB).contains([wanted])
    item = sa.func.json_each(images.c.tags).table_valued("value").alias("tag_item")
    conditions = [sa.func.json_extract(item.c.value, "$.key") == key]
    if value is not None:
        conditions.append(sa.func.json_extract(item.c.value, "$.value") == value)
    return sa.exists(sa.select(sa.literal(1)).select_from(item).where(*conditions))


# Gcore lists images in their catalog order; images without one come last, by name.
_ORDER = (sa.case((images.c.display_order.is_(None), 1), else_=0), images.c.display_order, images.c.name, images.c.id)


async def list_rows(conn: Conn, scope: Scope, filters: ImageFilters, *, limit: int,
                    offset: int) -> tuple[list[Any], int]:
    where = [visible(scope), *filters.conditions(),
             *(_has_tag(conn.dialect_name, k, None) for k in filters.tag_keys),
             *(_has_tag(conn.dialect_name, k, v) for k, v in filters.tag_key_values.items())]
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(images).where(*where)) or 0)
    rows = (await conn.execute(sa.select(images).where(*where).order_by(*_ORDER).limit(limit).offset(offset))).all()
    return list(rows), total


# --- registration (``cloudlet images register``): public images whose files cloudlet's image store holds ---


async def default_region_id(conn: Conn) -> int | None:
    from cloudlet.models import regions

    return await conn.scalar(sa.select(regions.c.id).order_by(regions.c.id).limit(1))  # type: ignore[no-any-return]


async def get_public_by_name(conn: Conn, region_id: int, name: str) -> Any:
    return (await conn.execute(sa.select(images).where(images.c.region_id == region_id, images.c.project_id.is_(None),
                                                       images.c.name == name))).first()


async def insert_image(conn: Conn, values: dict[str, Any]) -> None:
    await conn.execute(images.insert().values(**values))


async def update_image(conn: Conn, image_id: str, values: dict[str, Any]) -> None:
    await conn.execute(images.update().where(images.c.id == image_id).values(**values))

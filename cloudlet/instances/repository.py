"""SQL for instances and their tags. Every statement is scoped to one project and region."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn, Database
from cloudlet.core.direct import prepared
from cloudlet.core.scope import Scope
from cloudlet.core.sql import like_escape
from cloudlet.instances import name_counts
from cloudlet.instances.states import status_for
from cloudlet.models import (
    flavors,
    host_allocations,
    instance_name_versions,
    instance_status_counts,
    instance_tags,
    instances,
    ip_allocations,
    networks,
    port_security_groups,
    ports,
    security_groups,
)

_REGEX_CHARS = re.compile(r"[\^$*+?\[\](){}|\\]")

ORDERINGS = {
    "created.asc": (instances.c.created_at.asc(), instances.c.id.asc()),
    "created.desc": (instances.c.created_at.desc(), instances.c.id.desc()),
    "name.asc": (instances.c.name.asc(), instances.c.id.asc()),
    "name.desc": (instances.c.name.desc(), instances.c.id.desc()),
    "status.asc": (instances.c.status.asc(), instances.c.created_at.desc(), instances.c.id.desc()),
    "status.desc": (instances.c.status.desc(), instances.c.created_at.desc(), instances.c.id.desc()),
}

# What GET and list return: the instance row plus its flavor's catalog fields.
_ROW = sa.select(
    instances,
    flavors.c.architecture.label("flavor_architecture"),
    flavors.c.hardware_description.label("flavor_hardware_description"),
).select_from(
    instances.outerjoin(flavors, sa.and_(flavors.c.id == instances.c.flavor_id,
                                         flavors.c.region_id == instances.c.region_id))
)


def _in_scope(scope: Scope, *, indexed: bool = True) -> sa.ColumnElement[bool]:
    """With ``indexed=False`` the terms read ``+column``, for which SQLite uses no index: so that another
    condition (the name's trigram index) drives the query."""
    project_id, region_id = instances.c.project_id, instances.c.region_id
    if not indexed:
        project_id, region_id = _unindexed(project_id), _unindexed(region_id)
    return sa.and_(project_id == scope.project_id, region_id == scope.region_id)


def _unindexed(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def _is_regex(pattern: str) -> bool:
    if not _REGEX_CHARS.search(pattern):
        return False
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def text_match(column: Any, pattern: str) -> sa.ColumnElement[bool]:
    """A pattern with regex characters is matched as a regex (Gcore: "MySQL regex"), anything else
    as a case-insensitive substring."""
    if _is_regex(pattern):
        return column.regexp_match(pattern)
    return column.ilike(f"%{like_escape(pattern)}%", escape="\\")


def name_match(dialect: str, pattern: str) -> sa.ColumnElement[bool]:
    """``text_match`` of the instance name."""
    if _is_regex(pattern):
        return instances.c.name.regexp_match(pattern)
    return name_contains(dialect, pattern)


# A needle without 3 letters or digits in a row may give pg_trgm no trigram to look up its index by
_PG_TRIGRAM = re.compile(r"[^\W_]{3}")


def name_contains(dialect: str, needle: str) -> sa.ColumnElement[bool]:
    """The name holds ``needle`` case-insensitively, as the backend's ILIKE decides: on PostgreSQL with
    any letters, on SQLite with ASCII letters only."""
    pattern = f"%{like_escape(needle)}%"
    if dialect == "sqlite":
        # what ilike() renders there, lower(name) LIKE lower(pattern), without two lower() calls a row:
        # SQLite's LIKE ignores the case of ASCII letters, the only ones its lower() changes
        return instances.c.name.like(pattern, escape="\\")
    if _PG_TRIGRAM.search(needle):
        # PostgreSQL uses the trigram index (0007) where it pays. The pattern is sent as a literal: as a
        # parameter of a prepared statement, its plan turns generic after five runs and reads every match
        # through the index for a page of 100 (measured at 10,000 instances: 2-3 ms, against 0.75 ms)
        # (a NUL, which no PostgreSQL text can hold, stays a parameter: the driver refuses it with a 400)
        value = pattern if "\0" in needle else sa.literal(pattern, sa.String, literal_execute=True)
        return instances.c.name.ilike(value, escape="\\")
    # Without a trigram the index would return every row to check, slower than a scan; a plan cached for
    # other needles could still choose it, so the column is wrapped, which the index does not match.
    return (instances.c.name + "").ilike(pattern, escape="\\")


# SQLite's trigram index of instances.name (migration 0007)
_name_trgm = sa.table("instances_name_trgm", sa.column("rowid"), sa.column("name"))

# Reading a match through the index costs a lookup of its row (and, for a page, a sort): ~2 us on SQLite.
# A needle in more names than this (of every project) is common enough to scan the scope for instead.
_FEW_NAMES = 1_000


async def name_index(conn: Conn, needle: str) -> sa.ColumnElement[bool] | None:
    """On SQLite, for a needle in few names: the instances whose name the trigram index finds it in, a
    condition to let the index drive the query. They include all that ``name_contains`` accepts, and may
    include more (FTS5 also folds the case of non-ASCII letters: 'É' finds 'é'), so a query needs both.

    None for a common needle, or one the index cannot look up: shorter than a trigram, or with a NUL
    (an FTS5 query cannot hold one); and on PostgreSQL, whose ILIKE uses its index by itself."""
    if conn.dialect_name != "sqlite" or len(needle) < 3 or "\0" in needle:
        return None
    found = _trigram_matches(needle)
    count = await conn.scalar(sa.select(sa.func.count()).select_from(found.limit(_FEW_NAMES + 1).subquery()))
    return _rowid_in(found) if count <= _FEW_NAMES else None


def _trigram_matches(needle: str) -> sa.Select[Any]:
    phrase = '"' + needle.replace('"', '""') + '"'  # one FTS5 string: every character in it is literal
    return sa.select(_name_trgm.c.rowid).where(_name_trgm.c.name.op("MATCH")(phrase))


def _rowid_in(found: sa.Select[Any]) -> sa.ColumnElement[bool]:
    return sa.literal_column("instances.rowid").in_(found)


@dataclasses.dataclass(slots=True)
class InstanceFilters:
    name: str | None = None
    status: str | None = None
    flavor_id: str | None = None
    flavor_prefix: str | None = None
    exclude_flavor_prefix: str | None = None
    uuid: str | None = None
    ip: str | None = None
    exclude_secgroup: str | None = None
    changes_since: dt.datetime | None = None
    changes_before: dt.datetime | None = None
    tag_key_values: dict[str, str] = dataclasses.field(default_factory=dict)
    tag_values: list[str] = dataclasses.field(default_factory=list)
    only_isolated: bool = False
    available_floating: bool = False
    only_with_fixed_external_ip: bool = False
    no_match: bool = False  # a filter that no instance can satisfy (e.g. DDoS filters without profiles)

    def conditions(self, dialect: str) -> list[sa.ColumnElement[bool]]:
        c = instances.c
        out: list[sa.ColumnElement[bool]] = []
        if self.no_match:
            out.append(sa.false())
        if self.name:
            out.append(name_match(dialect, self.name))
        if self.status:
            out.append(c.status == self.status)
        if self.flavor_id:
            out.append(c.flavor_id == self.flavor_id)
        if self.flavor_prefix:
            out.append(c.flavor_id.startswith(self.flavor_prefix, autoescape=True))
        if self.exclude_flavor_prefix:
            out.append(sa.not_(c.flavor_id.startswith(self.exclude_flavor_prefix, autoescape=True)))
        if self.uuid:
            out.append(c.id.ilike(f"%{like_escape(self.uuid)}%", escape="\\"))
        if self.changes_since:
            out.append(c.updated_at >= self.changes_since)
        if self.changes_before:
            out.append(c.updated_at <= self.changes_before)
        if self.only_isolated:
            out.append(c.isolation_reason.is_not(None))
        if self.ip:
            out.append(
                sa.exists().where(ports.c.instance_id == c.id, ip_allocations.c.port_id == ports.c.id,
                                  text_match(ip_allocations.c.ip_address, self.ip))
            )
        if self.exclude_secgroup:
            out.append(
                ~sa.exists().where(
                    ports.c.instance_id == c.id,
                    port_security_groups.c.port_id == ports.c.id,
                    security_groups.c.id == port_security_groups.c.security_group_id,
                    security_groups.c.name == self.exclude_secgroup,
                )
            )
        for key, value in self.tag_key_values.items():
            out.append(sa.exists().where(instance_tags.c.instance_id == c.id, instance_tags.c.key == key,
                                         instance_tags.c.value == value))
        if self.tag_values:
            out.append(sa.exists().where(instance_tags.c.instance_id == c.id,
                                         instance_tags.c.value.in_(self.tag_values)))
        if self.available_floating:
            from cloudlet.models import floating_ips

            out.append(
                sa.exists().where(
                    ports.c.instance_id == c.id, networks.c.id == ports.c.network_id,
                    networks.c.external.is_(False),
                    ~sa.exists().where(floating_ips.c.port_id == ports.c.id),
                )
            )
        if self.only_with_fixed_external_ip:
            out.append(sa.exists().where(ports.c.instance_id == c.id, networks.c.id == ports.c.network_id,
                                         networks.c.external.is_(True)))
        return out

    def name_substring(self) -> str | None:
        """The name filter, when it is a substring rather than a regex."""
        return self.name if self.name and not _is_regex(self.name) else None


async def list_rows(conn: Conn, scope: Scope, filters: InstanceFilters, *, order_by: str, limit: int,
                    offset: int) -> tuple[list[Any], int]:
    where = [_in_scope(scope), *filters.conditions(conn.dialect_name)]
    if dataclasses.replace(filters, status=None) == InstanceFilters():
        # no filter but the status: the count the database keeps (migration 0006), whatever the number of rows
        total = await conn.scalar(_COUNT_BY_STATUS if filters.status else _COUNT_ALL,
                                  {"project_id": scope.project_id, "region_id": scope.region_id,
                                   "status": filters.status})
    else:
        total, where = await _count_filtered(conn, scope, filters, where)
    if limit == 0 or not total or offset >= total:
        return [], int(total or 0)
    # the page as (id, revision): most of its renderings are cached (instances/views.py), and the full rows
    # (thirty columns, JSON and dates to parse) are read only for those that are not, with rows_by_id
    page = sa.select(instances.c.id, instances.c.revision).where(*where)
    rows = (await conn.execute(page.order_by(*ORDERINGS[order_by]).limit(limit).offset(offset))).all()
    return list(rows), int(total)


async def _count_filtered(conn: Conn, scope: Scope, filters: InstanceFilters,
                          where: list[sa.ColumnElement[bool]]) -> tuple[int, list[sa.ColumnElement[bool]]]:
    """The count of the matches, and the conditions to read a page by (the trigram index may drive them).

    Filtered by name alone, a count made while the scope had the same names is reused
    (instances/name_counts.py); the version is read before counting, so a count is never older than it."""
    name_alone = filters.name if dataclasses.replace(filters, name=None) == InstanceFilters() else None
    version = known = None
    if name_alone:
        version = int(await conn.scalar(_NAME_VERSION, {"project_id": scope.project_id,
                                                        "region_id": scope.region_id}) or 0)
        known = name_counts.known(conn.database, scope, name_alone, version)
    needle = filters.name_substring()
    if known is not None:
        by_name = _rowid_in(_trigram_matches(needle)) if known.indexed and needle else None
    else:
        by_name = await name_index(conn, needle) if needle else None
    if by_name is not None:  # the trigram index drives, not the scope's indexes
        where = [_in_scope(scope, indexed=False), by_name, *where[1:]]
    if known is not None:
        return known.total, where
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(instances).where(*where)) or 0)
    if name_alone and version is not None:
        name_counts.remember(conn.database, scope, name_alone, name_counts.NameCount(version, total, by_name is not None))
    return total, where


async def rows_by_id(conn: Conn, scope: Scope, instance_ids: list[str]) -> list[Any]:
    """Full rows (as ``get_row``) of the given instances of the scope, in no particular order."""
    return list((await conn.execute(_ROW.where(instances.c.id.in_(instance_ids), _in_scope(scope)))).all())


async def get_row(conn: Conn, scope: Scope, instance_id: str) -> Any:
    return (await conn.execute(_ROW.where(instances.c.id == instance_id, _in_scope(scope)))).first()


async def get_plain(conn: Conn, instance_id: str) -> Any:
    """Unscoped read by id: for task steps, which act on behalf of a task already authorised."""
    return (await conn.execute(_BY_ID, {"instance_id": instance_id})).first()


async def name_exists(conn: Conn, scope: Scope, name: str) -> bool:
    return bool(await conn.scalar(sa.select(sa.literal(1)).where(_in_scope(scope), instances.c.name == name).limit(1)))


async def insert(conn: Conn, values: dict[str, Any]) -> None:
    values = {**values, "status": status_for(values["vm_state"], values.get("task_state"))}
    await conn.execute(_INSERT, values)


async def take_lock(conn: Conn, scope: Scope, instance_id: str, *, task_id: str, task_state: str | None,
                    vm_state: str) -> bool:
    """Take the instance's lock for ``task_id`` if it is free and the vm_state is still the one checked."""
    result = await conn.execute(
        instances.update()
        .where(instances.c.id == instance_id, _in_scope(scope), instances.c.task_id.is_(None),
               instances.c.vm_state == vm_state)
        .values(task_id=task_id, task_state=task_state, status=status_for(vm_state, task_state),
                updated_at=utcnow())
    )
    return result.rowcount == 1  # type: ignore[no-any-return]


async def set_state(conn: Conn, instance_id: str, *, vm_state: str, task_state: str | None,
                    release_lock_of: str | None = None, **values: Any) -> None:
    """Record a state change; with ``release_lock_of`` also free the lock that task holds."""
    params = {"b_instance_id": instance_id, "vm_state": vm_state, "task_state": task_state,
              "status": status_for(vm_state, task_state), "updated_at": utcnow(), **values}
    if release_lock_of is None:
        await conn.execute(_SET_STATE, params)
    else:
        await conn.execute(_SET_STATE_RELEASING, {**params, "b_release_lock_of": release_lock_of})


async def set_task_state(conn: Conn, instance_id: str, task_id: str, task_state: str | None) -> None:
    """Show progress of the task holding the lock (a no-op if it no longer holds it)."""
    row = (await conn.execute(sa.select(instances.c.vm_state).where(instances.c.id == instance_id,
                                                                     instances.c.task_id == task_id))).first()
    if row is not None:
        await conn.execute(
            instances.update().where(instances.c.id == instance_id, instances.c.task_id == task_id)
            .values(task_state=task_state, status=status_for(row.vm_state, task_state), updated_at=utcnow())
        )


async def rename(conn: Conn, instance_id: str, name: str) -> None:
    await conn.execute(instances.update().where(instances.c.id == instance_id).values(name=name, updated_at=utcnow()))


async def touch(conn: Conn, instance_id: str) -> None:
    await conn.execute(instances.update().where(instances.c.id == instance_id).values(updated_at=utcnow()))


async def delete(conn: Conn, instance_id: str) -> None:
    await conn.execute(instance_tags.delete().where(instance_tags.c.instance_id == instance_id))
    await conn.execute(instances.delete().where(instances.c.id == instance_id))


async def host_usage(conn: Conn) -> dict[str, tuple[int, int]]:
    """(vcpus, ram) placed on each host (kept by triggers, migration 0006)."""
    rows = await conn.execute(_HOST_USAGE)
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


# --- tags (the one store behind ``tags`` and the v1 metadata endpoints) -------------------


async def tags_of(conn: Conn, instance_ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for row in await conn.execute(_TAGS_OF, {"instance_ids": instance_ids}):
        out.setdefault(row.instance_id, []).append(row)
    return out


async def insert_new_tags(conn: Conn, instance_id: str, tags: dict[str, str]) -> None:
    """The first tags of an instance just written (nothing to merge with: one statement)."""
    if tags:
        await conn.execute(_INSERT_TAGS, [{"instance_id": instance_id, "key": k, "value": v, "read_only": False}
                                          for k, v in tags.items()])


async def put_tags(conn: Conn, instance_id: str, tags: dict[str, str], *, read_only: bool = False) -> None:
    """Set the given keys (insert or overwrite); read-only keys are never overwritten by a user write."""
    if not tags:
        return
    existing = {r.key: r for r in (await tags_of(conn, [instance_id])).get(instance_id, [])}
    for key, value in tags.items():
        if key in existing:
            if existing[key].read_only and not read_only:
                continue
            await conn.execute(instance_tags.update()
                               .where(instance_tags.c.instance_id == instance_id, instance_tags.c.key == key)
                               .values(value=value, read_only=read_only))
        else:
            await conn.execute(instance_tags.insert(), dict(instance_id=instance_id, key=key, value=value,
                                                            read_only=read_only))


async def delete_tags(conn: Conn, instance_id: str, keys: list[str] | None = None) -> None:
    """Delete user (not read-only) tags: the given keys, or all of them."""
    stmt = instance_tags.delete().where(instance_tags.c.instance_id == instance_id,
                                        instance_tags.c.read_only.is_(False))
    if keys is not None:
        stmt = stmt.where(instance_tags.c.key.in_(keys))
    await conn.execute(stmt)


# --- search across a reseller's clients (GET /v1/instances/search) ------------------------


@dataclasses.dataclass(slots=True)
class SearchFilters:
    """Each given filter is a case-insensitive substring: of the id, the name, or a fixed IP."""

    id: str | None = None
    name: str | None = None
    instance_ip: str | None = None

    def conditions(self, dialect: str) -> list[sa.ColumnElement[bool]]:
        c = instances.c
        out: list[sa.ColumnElement[bool]] = []
        if self.id:
            out.append(c.id.ilike(f"%{like_escape(self.id)}%", escape="\\"))
        if self.name:
            out.append(name_contains(dialect, self.name))
        if self.instance_ip:
            out.append(sa.exists().where(
                ports.c.instance_id == c.id, ip_allocations.c.port_id == ports.c.id,
                ip_allocations.c.ip_address.ilike(f"%{like_escape(self.instance_ip)}%", escape="\\"),
            ))
        return out


async def search_rows(conn: Conn, principal: Any, filters: SearchFilters, *, limit: int,
                      offset: int) -> tuple[list[Any], int]:
    """Instances in every project ``principal`` may see (all of a reseller's clients), with where they live.

    Unlike the other reads here, search is scoped by the principal rather than one project and region."""
    from cloudlet.core.scope import visible_projects
    from cloudlet.models import projects, regions

    where = [visible_projects(principal), *filters.conditions(conn.dialect_name)]
    by_name = await name_index(conn, filters.name) if filters.name else None
    if by_name is not None:
        where.append(by_name)
    joined = instances.join(projects, projects.c.id == instances.c.project_id).join(
        regions, regions.c.id == instances.c.region_id)
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(joined).where(*where)) or 0)
    if limit == 0 or offset >= total:
        return [], total
    rows = await conn.execute(
        sa.select(instances.c.id, instances.c.name, instances.c.project_id, instances.c.region_id,
                  projects.c.client_id, projects.c.name.label("project_name"),
                  regions.c.display_name.label("region_name"))
        .select_from(joined).where(*where)
        .order_by(instances.c.created_at.desc(), instances.c.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), total


async def sync_power_state(conn: Conn, instance_id: str, *, before: str, after: str) -> bool:
    """Record a power change the guest made itself, only if no task holds the instance and it is still
    in ``before`` (a conditional UPDATE: no read-then-write race with a task taking the lock)."""
    result = await conn.execute(
        instances.update()
        .where(instances.c.id == instance_id, instances.c.task_id.is_(None), instances.c.vm_state == before)
        .values(vm_state=after, task_state=None, status=status_for(after, None), updated_at=utcnow())
    )
    return result.rowcount == 1  # type: ignore[no-any-return]


async def get_revision(conn: Conn, scope: Scope, instance_id: str) -> int | None:
    """The instance's revision (see migration 0005), or None if it is not in the scope."""
    return await conn.first_value(_REVISION_SQL, (instance_id, scope.project_id, scope.region_id))


async def current_revision(db: Database, project_id: int, region_id: int, instance_id: str) -> int | None:
    """``get_revision`` outside any connection block: for the cached GET (instances/cached_get.py)."""
    rows = await db.read_rows(_REVISION_SQL, (instance_id, project_id, region_id))
    return rows[0][0] if rows else None


async def current_revisions(db: Database, instance_ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """(project_id, region_id, revision) of each of the instances that exist, by id, in one query: the
    cached GET's lookups batched (core/batching.py). PostgreSQL's SQL (``= ANY``)."""
    return {row[0]: row[1:] for row in await db.read_rows(_REVISIONS_SQL, (instance_ids,))}


# the hottest lookup (every GET), kept as plain SQL: see Conn.first_value
_REVISION_SQL = "SELECT revision FROM instances WHERE id = ? AND project_id = ? AND region_id = ?"
_REVISIONS_SQL = "SELECT id, project_id, region_id, revision FROM instances WHERE id = ANY(?)"


# --- statements built once (see core/sql.py on hot-path statements) ----------------------------

_BY_ID = prepared(sa.select(instances).where(instances.c.id == sa.bindparam("instance_id")))
_INSERT = prepared(instances.insert())
_INSERT_TAGS = prepared(instance_tags.insert())
# the SET columns are the parameters' keys; "b_" names keep the WHERE's parameters apart from them
_SET_STATE = prepared(instances.update().where(instances.c.id == sa.bindparam("b_instance_id")))
_SET_STATE_RELEASING = prepared(_SET_STATE.values(
    task_id=sa.case((instances.c.task_id == sa.bindparam("b_release_lock_of"), None), else_=instances.c.task_id)))
_TAGS_OF = prepared(sa.select(instance_tags)
                   .where(instance_tags.c.instance_id.in_(sa.bindparam("instance_ids", expanding=True)))
                   .order_by(instance_tags.c.instance_id, instance_tags.c.key))
_HOST_USAGE = prepared(sa.select(host_allocations.c.host, host_allocations.c.vcpus, host_allocations.c.ram))
_COUNT_ALL = prepared(sa.select(sa.func.coalesce(sa.func.sum(instance_status_counts.c.instances), 0)).where(
    instance_status_counts.c.project_id == sa.bindparam("project_id"),
    instance_status_counts.c.region_id == sa.bindparam("region_id")))
_COUNT_BY_STATUS = prepared(_COUNT_ALL.where(instance_status_counts.c.status == sa.bindparam("status")))
_NAME_VERSION = prepared(sa.select(instance_name_versions.c.version).where(
    instance_name_versions.c.project_id == sa.bindparam("project_id"),
    instance_name_versions.c.region_id == sa.bindparam("region_id")))

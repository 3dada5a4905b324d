"""Tenant scope: which project and region a request acts in, checked against the principal.

Every tenant-owned query starts from a ``Scope``; a project the principal may not see answers
404, exactly like one that does not exist.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from cloudlet.core.auth import Principal
from cloudlet.core.db import Conn, Database
from cloudlet.core.errors import ForbiddenError, NotFoundError
from cloudlet.models import clients, projects, regions


@dataclasses.dataclass(frozen=True, slots=True)
class Scope:
    principal: Principal
    project_id: int
    region_id: int
    client_id: int
    region_name: str


def visible_projects(principal: Principal) -> sa.ColumnElement[bool]:
    """The condition on ``projects`` that keeps only what ``principal`` may see."""
    not_deleted = projects.c.deleted_at.is_(None)
    if principal.role == "admin":
        return not_deleted
    if principal.role == "reseller":
        owned = sa.select(clients.c.id).where(clients.c.reseller_id == principal.reseller_id)
        return sa.and_(not_deleted, projects.c.client_id.in_(owned.scalar_subquery()))
    return sa.and_(not_deleted, projects.c.client_id == principal.client_id)


def visible_clients(principal: Principal) -> sa.ColumnElement[bool]:
    """The condition on ``clients`` that keeps only what ``principal`` may see."""
    if principal.role == "admin":
        return sa.true()
    if principal.role == "reseller":
        return clients.c.reseller_id == principal.reseller_id
    return clients.c.id == principal.client_id


async def may_see_client(conn: Conn, principal: Principal, client_id: int) -> bool:
    """Whether the client exists and ``principal`` may act on it (its own, or one of its reseller's)."""
    found = await conn.scalar(sa.select(clients.c.id).where(clients.c.id == client_id, visible_clients(principal)))
    return found is not None


def require_role(principal: Principal, *roles: str) -> None:
    """403 for a principal whose role may not call the endpoint at all (no tenant detail is revealed)."""
    if principal.role not in roles:
        raise ForbiddenError("This operation is not available to this API key's role")


async def get_region(conn: Conn, region_id: int) -> sa.Row | None:
    return (await conn.execute(sa.select(regions).where(regions.c.id == region_id))).first()


def cached_scope(db: Database, principal: Principal, project_id: int, region_id: int) -> Scope | None:
    """The scope if this process resolved it less than the cache's ttl ago."""
    return db.tenancy_cache.get(("scope", principal, project_id, region_id))  # type: ignore[no-any-return]


async def resolve_scope(conn: Conn, principal: Principal, project_id: int, region_id: int) -> Scope:
    cached = cached_scope(conn.database, principal, project_id, region_id)
    if cached is not None:
        return cached
    scope = await _load_scope(conn, principal, project_id, region_id)
    conn.database.tenancy_cache.put(("scope", principal, project_id, region_id), scope)
    return scope


async def scope_of(db: Database, principal: Principal, project_id: int, region_id: int) -> Scope:
    """``resolve_scope`` outside any connection block (the cached GET, instances/cached_get.py): a scope
    that expired under load is looked up once, for every request that wants it then."""
    async def load() -> Scope:
        async with db.read() as conn:
            return await _load_scope(conn, principal, project_id, region_id)

    return await db.tenancy_cache.get_or_load(("scope", principal, project_id, region_id), load)  # type: ignore[no-any-return]


async def _load_scope(conn: Conn, principal: Principal, project_id: int, region_id: int) -> Scope:
    row = (
        await conn.execute(
            sa.select(projects.c.client_id, regions.c.display_name)
            .select_from(projects.join(regions, regions.c.id == region_id))
            .where(projects.c.id == project_id, visible_projects(principal))
        )
    ).first()
    if row is None:
        if await get_region(conn, region_id) is None:
            raise NotFoundError(f"Region {region_id} could not be found")
        raise NotFoundError(f"Project {project_id} could not be found")
    return Scope(principal=principal, project_id=project_id, region_id=region_id, client_id=row.client_id,
                 region_name=row.display_name)


async def reseller_owns_client(conn: Conn, principal: Principal, client_id: int) -> bool:
    reseller = await conn.scalar(sa.select(clients.c.reseller_id).where(clients.c.id == client_id))
    return reseller is not None and reseller == principal.reseller_id

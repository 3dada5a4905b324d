"""Security group decisions shared by projects and instances."""

from __future__ import annotations

from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError
from cloudlet.core.scope import Scope
from cloudlet.security_groups import repository

DEFAULT_GROUP_NAME = "default"


async def ensure_default_group(conn: Conn, *, project_id: int, region_id: int,
                               rules: list[dict[str, Any]] | None = None) -> str:
    """The id of the project's default group in the region, creating it (with Gcore's rules) if needed."""
    existing = await repository.get_default(conn, project_id, region_id)
    if existing is not None:
        return existing.id  # type: ignore[no-any-return]
    if rules is None:
        from cloudlet.seed import load_catalog

        rules = load_catalog()["default_security_group_rules"]
    return await repository.insert_group(
        conn, project_id=project_id, region_id=region_id, name=DEFAULT_GROUP_NAME,
        description="Default security group", is_default=True, rules=rules,
    )


async def resolve_ids(conn: Conn, scope: Scope, group_ids: list[str]) -> list[str]:
    """Check that every id is a group of the scope's project; keep the caller's order, drop repeats."""
    wanted = list(dict.fromkeys(group_ids))
    found = {row.id for row in await repository.get_many(conn, scope, wanted)}
    missing = [g for g in wanted if g not in found]
    if missing:
        raise NotFoundError(f"Security group {missing[0]} could not be found")
    return wanted

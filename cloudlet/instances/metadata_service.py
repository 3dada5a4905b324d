"""Instance metadata: the same key/value store as the instance's ``tags``, seen through Gcore's
v1 ``metadata`` and v2 ``metadata_item`` endpoints. Never commits.

Read-only items belong to the platform: a request that would change or delete one is refused
with 400 (a 409 would make the SDK retry). Writes honour the instance lock like every other update.
"""

from __future__ import annotations

from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ResourceLockedError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.instances import repository, service
from cloudlet.instances.tag_rules import check_count, check_items


async def _unlocked(conn: Conn, scope: Scope, instance_id: str) -> Any:
    row = await service.get_instance_row(conn, scope, instance_id)
    if row.task_id is not None:
        raise ResourceLockedError(f"Instance {instance_id} is locked by task {row.task_id}")
    return row


async def _items(conn: Conn, instance_id: str) -> dict[str, Any]:
    return {t.key: t for t in (await repository.tags_of(conn, [instance_id])).get(instance_id, [])}


def _refuse_read_only_changes(existing: dict[str, Any], items: dict[str, str]) -> None:
    for key, value in items.items():
        if key in existing and existing[key].read_only and existing[key].value != value:
            raise ValidationError.for_field(key, f"Metadata item {key!r} is read-only")


async def list_items(conn: Conn, scope: Scope, instance_id: str) -> list[Any]:
    await service.get_instance_row(conn, scope, instance_id)
    return list((await _items(conn, instance_id)).values())


async def get_item(conn: Conn, scope: Scope, instance_id: str, key: str) -> Any:
    await service.get_instance_row(conn, scope, instance_id)
    item = (await _items(conn, instance_id)).get(key)
    if item is None:
        raise NotFoundError(f"Instance {instance_id} has no metadata item {key!r}")
    return item


async def upsert_items(conn: Conn, scope: Scope, instance_id: str, items: dict[str, Any]) -> None:
    """Add the missing keys and overwrite the present ones; other keys stay."""
    items = check_items(items)
    await _unlocked(conn, scope, instance_id)
    existing = await _items(conn, instance_id)
    _refuse_read_only_changes(existing, items)
    check_count(set(existing) | set(items))
    await repository.put_tags(conn, instance_id, items)
    await repository.touch(conn, instance_id)


async def replace_items(conn: Conn, scope: Scope, instance_id: str, items: dict[str, Any]) -> None:
    """Remove every user item and set the given ones; read-only items stay as they are."""
    items = check_items(items)
    await _unlocked(conn, scope, instance_id)
    existing = await _items(conn, instance_id)
    _refuse_read_only_changes(existing, items)
    read_only = {k for k, t in existing.items() if t.read_only}
    check_count(read_only | set(items))
    await repository.delete_tags(conn, instance_id)
    await repository.put_tags(conn, instance_id, {k: v for k, v in items.items() if k not in read_only})
    await repository.touch(conn, instance_id)


async def delete_item(conn: Conn, scope: Scope, instance_id: str, key: str) -> None:
    await _unlocked(conn, scope, instance_id)
    item = (await _items(conn, instance_id)).get(key)
    if item is None:
        raise NotFoundError(f"Instance {instance_id} has no metadata item {key!r}")
    if item.read_only:
        raise ValidationError.for_field(key, f"Metadata item {key!r} is read-only and cannot be deleted")
    await repository.delete_tags(conn, instance_id, [key])
    await repository.touch(conn, instance_id)

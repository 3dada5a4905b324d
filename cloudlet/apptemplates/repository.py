"""SQL that app templates need: the image a template names, and the secrets handed to the guest at boot."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.images.repository import visible as image_visible
from cloudlet.models import images, instances


async def image_by_name(conn: Conn, scope: Scope, name: str) -> Any:
    """The image of that name the scope can use: the public one (the catalog's), else the project's newest."""
    return (
        await conn.execute(
            sa.select(images).where(images.c.name == name, image_visible(scope))
            .order_by(images.c.project_id.is_not(None), images.c.created_at.desc()).limit(1)
        )
    ).first()


async def add_boot_secrets(conn: Conn, instance_id: str, values: dict[str, Any]) -> None:
    """Merge into what the guest receives at spawn (wiped once the instance is ACTIVE)."""
    current = await conn.scalar(sa.select(instances.c.boot_secrets).where(instances.c.id == instance_id))
    await conn.execute(instances.update().where(instances.c.id == instance_id)
                       .values(boot_secrets={**(current or {}), **values}))

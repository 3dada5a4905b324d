"""Task handler for ``delete_project``: no driver work, only the final bookkeeping.

The request already refused a project with instances, volumes or network resources; the handler
checks again (one could have been created since) before it removes the project's security groups,
placement groups and SSH keys and marks it DELETED, all in one transaction.
"""

from __future__ import annotations

from cloudlet.compute.base import DriverError
from cloudlet.core.db import Conn
from cloudlet.projects import repository
from cloudlet.projects.service import describe_resources
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType


def _project_id(ctx: TaskContext) -> int:
    return int(ctx.data.get("project_id") or ctx.resource_id or 0)


async def _undo_delete(ctx: TaskContext, conn: Conn, error: str) -> None:
    row = await repository.get_plain(conn, _project_id(ctx))
    if row is not None and row.state == "DELETING":
        await repository.set_state(conn, row.id, "ACTIVE")


@register(TaskType.DELETE_PROJECT, on_error=_undo_delete)
async def delete_project(ctx: TaskContext) -> None:
    ctx.db.tenancy_cache.clear()  # the project leaves every cached scope at once
    async with ctx.db.transaction() as conn:
        row = await repository.get_plain(conn, _project_id(ctx))
        if row is not None and row.deleted_at is None:
            found = await repository.blocking_resources(conn, row.id)
            if found:
                raise DriverError(f"Project {row.id} still has {describe_resources(found)}; delete them first")
            await repository.purge_leftovers(conn, row.id)
            await repository.set_state(conn, row.id, "DELETED", deleted=True)
        await ctx.finish(conn, resources=created_resources())

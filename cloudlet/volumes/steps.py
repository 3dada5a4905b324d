"""Task handlers for volumes. The compute driver has no storage verbs, so a volume task is only its
final bookkeeping: state, lock and task end commit together."""

from __future__ import annotations

from cloudlet.compute.base import DriverError
from cloudlet.core.db import Conn
from cloudlet.tasks.engine import TaskContext, created_resources, register
from cloudlet.tasks.types import TaskType
from cloudlet.volumes import repository


def _volume_id(ctx: TaskContext) -> str:
    return str(ctx.data.get("volume_id") or ctx.resource_id or "")


# --- create_volume -------------------------------------------------------------------------


async def _undo_create(ctx: TaskContext, conn: Conn, error: str) -> None:
    """A failed create leaves nothing behind."""
    await repository.delete_locked_by(conn, _volume_id(ctx), ctx.task_id)


@register(TaskType.CREATE_VOLUME, on_error=_undo_create)
async def create_volume(ctx: TaskContext) -> None:
    volume_id = _volume_id(ctx)
    async with ctx.db.transaction() as conn:
        if not await repository.finish_task(conn, volume_id, ctx.task_id, "available"):
            raise DriverError(f"Volume {volume_id} is no longer waiting for this task")
        await ctx.finish(conn, resources=created_resources(volumes=[volume_id]))


# --- delete_volume -------------------------------------------------------------------------


async def _undo_delete(ctx: TaskContext, conn: Conn, error: str) -> None:
    """The volume stays, as it was before the request."""
    await repository.finish_task(conn, _volume_id(ctx), ctx.task_id, str(ctx.data.get("previous_status")
                                                                         or "available"))


@register(TaskType.DELETE_VOLUME, on_error=_undo_delete)
async def delete_volume(ctx: TaskContext) -> None:
    async with ctx.db.transaction() as conn:
        await repository.delete_locked_by(conn, _volume_id(ctx), ctx.task_id)
        await ctx.finish(conn, resources=created_resources())

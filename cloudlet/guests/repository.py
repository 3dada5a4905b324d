"""SQL for guest views: an instance's power history, from its finished tasks."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.models import tasks
from cloudlet.tasks.types import TaskState


async def power_events(conn: Conn, scope: Scope, instance_id: str, task_types: list[str]) -> list[tuple[dt.datetime, str]]:
    """(when it finished, task type) of the instance's finished tasks of those types, oldest first.

    Finished tasks are kept ``finished_task_retention_days``; older history is inferred by the caller.
    """
    finished = sa.func.coalesce(tasks.c.finished_on, tasks.c.updated_on, tasks.c.created_on)
    rows = await conn.execute(
        sa.select(finished.label("at"), tasks.c.task_type)
        .where(tasks.c.project_id == scope.project_id, tasks.c.region_id == scope.region_id,
               tasks.c.state == TaskState.FINISHED, tasks.c.resource_id == instance_id,
               tasks.c.task_type.in_(task_types))
        .order_by(finished, tasks.c.id)
    )
    return [(r.at, r.task_type) for r in rows]

"""Wire models of the Tasks API (endpoints.md S9, S10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from msgspec import Struct


class Task(Struct):
    id: str
    task_type: str
    state: str
    user_id: int
    created_on: dt.datetime
    updated_on: dt.datetime | None
    finished_on: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: int | None
    client_id: int | None
    user_client_id: int | None
    project_id: int | None
    region_id: int | None
    created_resources: dict[str, list[Any]] | None
    data: dict[str, Any] | None
    error: str | None
    request_id: str | None
    detailed_state: str | None = None
    job_id: str | None = None
    lifecycle_policy_id: int | None = None
    schedule_id: str | None = None


class TaskList(Struct):
    count: int
    results: list[Task]


class AcknowledgeRequest(Struct):
    task_ids: list[str] | None = None


def task_out(row: Any) -> Task:
    return Task(
        id=row.id, task_type=row.task_type, state=row.state, user_id=row.user_id, created_on=row.created_on,
        updated_on=row.updated_on, finished_on=row.finished_on, acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by, client_id=row.client_id, user_client_id=row.client_id,
        project_id=row.project_id, region_id=row.region_id, created_resources=row.created_resources,
        data=row.data, error=row.error, request_id=row.request_id,
        detailed_state=row.state if row.state in ("FINISHED", "ERROR") else None,
    )

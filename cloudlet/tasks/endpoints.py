"""Tasks API: get, list, acknowledge (one, all, deprecated list), active."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar.params import JSONBody
from litestar import get, post
from litestar.params import QueryParameter

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.clock import parse_timestamp
from cloudlet.core.errors import NotFoundError, ValidationError
from cloudlet.core.pagination import page_bounds, split_multi
from cloudlet.core.scope import resolve_scope
from cloudlet.runtime import RuntimeDep
from cloudlet.tasks import repository
from cloudlet.tasks.repository import TaskFilters
from cloudlet.tasks.schemas import AcknowledgeRequest, Task, TaskList, task_out
from cloudlet.tasks.types import ACTIVE_STATES, TaskState

TAGS = ["tasks"]


def _ints(values: list[str] | None, name: str) -> list[int]:
    try:
        return [int(v) for v in split_multi(values)]
    except ValueError:
        raise ValidationError.for_field(name, "must be integers") from None


def _time(value: str | None, name: str):  # type: ignore[no-untyped-def]
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise ValidationError.for_field(name, f"{value!r} is not an ISO 8601 date-time") from None


@get("/v1/tasks/{task_id:str}", tags=TAGS, summary="Get a task")
async def get_task(task_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Task:
    async with runtime.db.read() as conn:
        row = await repository.get(conn, principal, task_id)
    if row is None:
        raise NotFoundError(f"Task {task_id} could not be found")
    return task_out(row)


@get("/v1/tasks", tags=TAGS, summary="List tasks")
async def list_tasks(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    project_id: list[str] | None = None,
    region_id: list[str] | None = None,
    states: Annotated[list[str] | None, QueryParameter(name="state")] = None,
    task_type: str | None = None,
    is_acknowledged: bool | None = None,
    from_timestamp: str | None = None,
    to_timestamp: str | None = None,
    order_by: Literal["asc", "desc"] | None = None,
    sorting: Literal["asc", "desc"] | None = None,
) -> TaskList:
    limit, offset = page_bounds(limit, offset, default=10)
    state_list = split_multi(states)
    unknown = [s for s in state_list if s not in TaskState.__members__]
    if unknown:
        raise ValidationError.for_field("state", f"Unknown task state {unknown[0]!r}")
    filters = TaskFilters(
        project_ids=_ints(project_id, "project_id"), region_ids=_ints(region_id, "region_id"), states=state_list,
        task_types=split_multi([task_type] if task_type else None), is_acknowledged=is_acknowledged,
        from_timestamp=_time(from_timestamp, "from_timestamp"), to_timestamp=_time(to_timestamp, "to_timestamp"),
    )
    descending = (order_by or sorting or "asc") == "desc"
    async with runtime.db.read() as conn:
        rows, total = await repository.list_rows(conn, principal, filters, descending=descending, limit=limit,
                                                 offset=offset)
    return TaskList(count=total, results=[task_out(r) for r in rows])


@get("/v1/tasks/{project_id:int}/{region_id:int}/active", tags=TAGS, summary="List NEW and RUNNING tasks")
async def list_active_tasks(
    project_id: int,
    region_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    task_type: list[str] | None = None,
) -> TaskList:
    limit, offset = page_bounds(limit, offset, default=10)
    async with runtime.db.read() as conn:
        await resolve_scope(conn, principal, project_id, region_id)
        filters = TaskFilters(project_ids=[project_id], region_ids=[region_id], states=list(ACTIVE_STATES),
                              task_types=split_multi(task_type))
        rows, total = await repository.list_rows(conn, principal, filters, descending=False, limit=limit,
                                                 offset=offset)
    return TaskList(count=total, results=[task_out(r) for r in rows])


@post("/v1/tasks/{task_id:str}/acknowledge", status_code=200, tags=TAGS, summary="Acknowledge one task")
async def acknowledge_task(task_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Task:
    async with runtime.db.transaction() as conn:
        if await repository.get(conn, principal, task_id) is None:
            raise NotFoundError(f"Task {task_id} could not be found")
        await repository.acknowledge(conn, principal, task_ids=[task_id])
        return task_out(await repository.get(conn, principal, task_id))


@post("/v1/tasks/acknowledge_all", status_code=204, tags=TAGS, summary="Acknowledge every task")
async def acknowledge_all_tasks(principal: PrincipalDep, runtime: RuntimeDep, project_id: int | None = None,
                                region_id: int | None = None) -> None:
    async with runtime.db.transaction() as conn:
        await repository.acknowledge(conn, principal, project_id=project_id, region_id=region_id)


@post("/v1/tasks/acknowledge", status_code=204, tags=TAGS, summary="Acknowledge listed tasks (deprecated)",
      deprecated=True)
async def acknowledge_tasks(principal: PrincipalDep, runtime: RuntimeDep, data: JSONBody[AcknowledgeRequest | None] = None,
                            project_id: int | None = None, region_id: int | None = None) -> None:
    async with runtime.db.transaction() as conn:
        await repository.acknowledge(conn, principal, task_ids=data.task_ids if data and data.task_ids is not None
                                     else None, project_id=project_id, region_id=region_id)


routes = [get_task, list_tasks, list_active_tasks, acknowledge_task, acknowledge_all_tasks, acknowledge_tasks]

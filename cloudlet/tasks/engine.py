"""The durable task engine: claim, lease, run, finish, recover.

A task is a row in ``tasks``, written by the API in the same transaction as the resource change
and its lock (``<resource>.task_id``). Workers claim NEW rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite has one writer), hold a lease renewed by a heartbeat, and run the handler
registered for the task type. No transaction is open while a handler waits on the driver.

A handler finishes the task itself, in its last transaction, with ``ctx.finish(conn, ...)``, so
the resource's final state, the released lock and the FINISHED state commit together. When a
handler raises, the engine runs its ``on_error`` compensation and marks the task ERROR in one
transaction. Both check the lease: a worker that lost its lease commits nothing.

A lease that expires (its worker died) is taken over by another worker, which runs the handler
again from the start; handlers are written to be re-run safely. After ``MAX_ATTEMPTS`` the task
is failed instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
import structlog

from cloudlet.compute.base import ComputeDriver, DriverError
from cloudlet.compute.faulty import FaultyDriver
from cloudlet.core.clock import new_id, utcnow
from cloudlet.core.db import Conn, Database
from cloudlet.core.direct import prepared
from cloudlet.models import faults, tasks
from cloudlet.tasks.types import TaskState

log = structlog.get_logger()

MAX_ATTEMPTS = 3
NOTIFY_CHANNEL = "cloudlet_tasks"

# Every key of Gcore's CreatedResources; a finished task lists them all, empty where nothing was made.
CREATED_RESOURCE_KINDS = (
    "ai_clusters", "api_keys", "caas_containers", "clusters", "ddos_profiles", "faas_functions",
    "faas_namespaces", "file_shares", "floatingips", "healthmonitors", "images", "inference_instances",
    "instances", "k8s_clusters", "k8s_pools", "l7polices", "l7rules", "laas_topic", "listeners",
    "loadbalancers", "members", "networks", "pools", "ports", "postgresql_clusters", "projects",
    "registry_registries", "registry_users", "routers", "secrets", "security_group_rules",
    "security_groups", "servergroups", "snapshots", "subnets", "volumes",
)


class LeaseLost(Exception):
    """This worker no longer owns the task; its work must not be committed."""


def created_resources(**kinds: list[Any]) -> dict[str, list[Any]]:
    unknown = set(kinds) - set(CREATED_RESOURCE_KINDS)
    if unknown:
        raise ValueError(f"unknown created_resources kinds: {sorted(unknown)}")
    return {kind: list(kinds.get(kind, ())) for kind in CREATED_RESOURCE_KINDS}


@dataclasses.dataclass(slots=True)
class TaskContext:
    """What a handler gets: its task, the database, the driver, and how to finish."""

    task_id: str
    task_type: str
    data: dict[str, Any]
    resource_id: str | None
    project_id: int | None
    region_id: int | None
    attempt: int
    db: Database
    driver: ComputeDriver
    worker_id: str
    finished: bool = False

    async def finish(self, conn: Conn, *, resources: dict[str, list[Any]] | None = None) -> None:
        """Mark the task FINISHED inside the caller's transaction (which must also release the lock)."""
        now = utcnow()
        result = await conn.execute(_FINISH, {
            "b_task_id": self.task_id, "b_worker_id": self.worker_id, "state": TaskState.FINISHED,
            "finished_on": now, "updated_on": now, "created_resources": resources or created_resources(),
            "lease_owner": None, "lease_expires_at": None,
        })
        if result.rowcount != 1:
            raise LeaseLost(self.task_id)
        self.finished = True


Run = Callable[[TaskContext], Awaitable[None]]
Compensate = Callable[[TaskContext, Conn, str], Awaitable[None]]


@dataclasses.dataclass(frozen=True, slots=True)
class TaskHandler:
    run: Run
    on_error: Compensate


_HANDLERS: dict[str, TaskHandler] = {}


def register(task_type: str, *, on_error: Compensate) -> Callable[[Run], Run]:
    """Register the function below as the handler of ``task_type``."""

    def decorate(run: Run) -> Run:
        _HANDLERS[task_type] = TaskHandler(run=run, on_error=on_error)
        return run

    return decorate


def handler_for(task_type: str) -> TaskHandler | None:
    return _HANDLERS.get(task_type)


async def insert_task(
    conn: Conn,
    *,
    task_type: str,
    user_id: int,
    client_id: int | None,
    project_id: int | None,
    region_id: int | None,
    resource_id: str | None,
    data: dict[str, Any],
    request_id: str | None,
    task_id: str | None = None,
    host: str | None = None,
) -> str:
    """Write a NEW task row; the caller's transaction decides whether it ever exists.

    ``host`` routes the task to workers serving that hypervisor. On PostgreSQL the workers are
    notified at commit (NOTIFY is transactional), so an uncommitted task never wakes anyone.
    """
    task_id = task_id or new_id()
    await conn.execute(_INSERT, dict(
        id=task_id, task_type=task_type, state=TaskState.NEW, user_id=user_id, client_id=client_id,
        project_id=project_id, region_id=region_id, resource_id=resource_id, data=data,
        request_id=request_id or None, created_on=utcnow(), attempts=0, host=host,
    ))
    if conn.dialect_name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, task_id)))
    return task_id


class TaskEngine:
    """Runs tasks in this process with up to ``concurrency`` at a time."""

    def __init__(
        self,
        db: Database,
        driver: ComputeDriver,
        *,
        concurrency: int = 8,
        lease_seconds: float = 30.0,
        poll_seconds: float = 0.5,
        retention_days: int = 7,
        hosts: frozenset[str] | None = None,
    ) -> None:
        self.db = db
        self.hosts = hosts
        self.driver = driver
        self.concurrency = concurrency
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.retention = dt.timedelta(days=retention_days)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{new_id()[:8]}"
        self._wake = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._listener: Any = None
        self._stopping = False
        self._maybe_more = False  # the last claim filled every free slot: NEW tasks may be left over
        self._claim_new = prepared(self._claim_statement(tasks.c.state == TaskState.NEW))
        self._claim_lapsed = prepared(self._claim_statement(
            sa.and_(tasks.c.state == TaskState.RUNNING, tasks.c.lease_expires_at < sa.bindparam("now"))))

    # --- API side -------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def wait_for(self, task_ids: list[str], timeout: float) -> None:
        """Wait until this process has run the given tasks to an end, or ``timeout`` passes."""
        loop = asyncio.get_running_loop()
        futures = []
        for task_id in task_ids:
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(task_id, []).append(fut)
            futures.append(fut)
        self.wake()
        try:
            await asyncio.wait(futures, timeout=timeout)
        finally:
            for task_id, fut in zip(task_ids, futures, strict=True):
                waiters = self._waiters.get(task_id)
                if waiters and fut in waiters:
                    waiters.remove(fut)
                    if not waiters:
                        del self._waiters[task_id]

    # --- worker side ----------------------------------------------------------------------

    async def start(self, *, recover_all: bool = False) -> None:
        """Start claiming. ``recover_all``: this is the only worker, so every RUNNING task is orphaned."""
        if recover_all:
            async with self.db.transaction() as conn:
                await conn.execute(
                    tasks.update().where(tasks.c.state == TaskState.RUNNING).values(lease_expires_at=utcnow())
                )
        self._stopping = False
        if self.db.dialect == "postgresql":
            await self._listen()
        self._loop_task = asyncio.create_task(self._loop(), name="cloudlet-task-engine")

    async def _listen(self) -> None:
        """LISTEN for new tasks; without it (or if it drops) the poll interval still finds them."""
        import asyncpg

        url = self.db.url.replace("postgresql+asyncpg://", "postgresql://", 1)
        try:
            self._listener = await asyncpg.connect(url)
            await self._listener.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("task.engine.listen_failed", error=str(exc))
            self._listener = None

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; wait for running tasks, then release the leases of any still running."""
        self._stopping = True
        self._wake.set()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        running = list(self._running.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=timeout)
            for t in pending:
                t.cancel()
            if pending:
                async with self.db.transaction() as conn:
                    await conn.execute(
                        tasks.update()
                        .where(tasks.c.lease_owner == self.worker_id, tasks.c.state == TaskState.RUNNING)
                        .values(lease_expires_at=utcnow())
                    )

    async def run_until_idle(self, timeout: float = 30.0) -> None:
        """Claim and run tasks until none is left (tests and one-shot tools)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            claimed = await self._claim(self.concurrency)
            for row in claimed:
                self._spawn(row)
            if self._running:
                await asyncio.wait(list(self._running.values()), return_when=asyncio.FIRST_COMPLETED)
            elif not claimed:
                return

    async def _loop(self) -> None:
        next_maintenance = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            try:
                if loop.time() >= next_maintenance:
                    if self.db.dialect == "postgresql" and (self._listener is None or self._listener.is_closed()):
                        await self._listen()
                    await self._claim_expired()
                    await self._purge_old()
                    next_maintenance = loop.time() + max(1.0, self.lease.total_seconds() / 3)
                free = self.concurrency - len(self._running)
                if free > 0:
                    claimed = await self._claim(free)
                    for row in claimed:
                        self._spawn(row)
                    self._maybe_more = len(claimed) == free
                else:
                    self._maybe_more = True
            except Exception:
                log.exception("task.engine.loop_error")
                await asyncio.sleep(self.poll_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    def _claim_statement(self, where: Any) -> Any:
        """Take up to ``:limit`` tasks matching ``where`` (and this worker's hosts); built once per engine."""
        if self.hosts is not None:
            where = sa.and_(where, sa.or_(tasks.c.host.is_(None), tasks.c.host.in_(sorted(self.hosts))))
        candidates = (
            sa.select(tasks.c.id).where(where).order_by(tasks.c.created_on).limit(sa.bindparam("limit"))
            .with_for_update(skip_locked=True)
        )
        return (
            tasks.update()
            .where(tasks.c.id.in_(candidates.scalar_subquery()))
            .values(state=TaskState.RUNNING, lease_owner=self.worker_id, lease_expires_at=sa.bindparam("expires"),
                    attempts=tasks.c.attempts + 1, updated_on=sa.bindparam("now"))
            .returning(tasks)
        )

    def _claim_params(self, limit: int) -> dict[str, Any]:
        now = utcnow()
        return {"limit": limit, "now": now, "expires": now + self.lease}

    async def _claim(self, limit: int) -> list[Any]:
        async with self.db.transaction() as conn:
            rows = (await conn.execute(self._claim_new, self._claim_params(limit))).all()
            return [await self._with_fault(conn, row) for row in rows]

    async def _claim_expired(self) -> None:
        async with self.db.transaction() as conn:
            rows = (await conn.execute(self._claim_lapsed, self._claim_params(self.concurrency))).all()
            claimed = [await self._with_fault(conn, row) for row in rows]
        for row in claimed:
            log.warning("task.lease_expired.resumed", task_id=row[0].id, task_type=row[0].task_type,
                        attempt=row[0].attempts)
            self._spawn(row)

    async def _with_fault(self, conn: Conn, row: Any) -> tuple[Any, str | None]:
        """Consume an injected fault for this task type, if one is armed."""
        fault = (await conn.execute(_NEXT_FAULT, {"operation": row.task_type})).first()
        if fault is None:
            return row, None
        if fault.remaining is not None:
            if fault.remaining <= 1:
                await conn.execute(faults.delete().where(faults.c.id == fault.id))
            else:
                await conn.execute(faults.update().where(faults.c.id == fault.id)
                                   .values(remaining=fault.remaining - 1))
        return row, fault.message or f"Injected fault: {row.task_type} failed on the hypervisor"

    async def _purge_old(self) -> None:
        cutoff = utcnow() - self.retention
        async with self.db.transaction() as conn:
            await conn.execute(
                tasks.delete().where(tasks.c.state.in_([TaskState.FINISHED, TaskState.ERROR]),
                                     tasks.c.finished_on < cutoff)
            )

    def _spawn(self, claimed: tuple[Any, str | None]) -> None:
        row, fault = claimed
        task = asyncio.create_task(self._run(row, fault), name=f"task-{row.id}")
        self._running[row.id] = task

    async def _heartbeat(self, task_id: str) -> None:
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            async with self.db.transaction() as conn:
                await conn.execute(
                    tasks.update()
                    .where(tasks.c.id == task_id, tasks.c.lease_owner == self.worker_id)
                    .values(lease_expires_at=utcnow() + self.lease)
                )

    async def _run(self, row: Any, fault: str | None) -> None:
        bound = log.bind(task_id=row.id, task_type=row.task_type, attempt=row.attempts)
        handler = handler_for(row.task_type)
        driver: ComputeDriver = FaultyDriver(self.driver, fault) if fault else self.driver  # type: ignore[assignment]
        ctx = TaskContext(
            task_id=row.id, task_type=row.task_type, data=dict(row.data or {}), resource_id=row.resource_id,
            project_id=row.project_id, region_id=row.region_id, attempt=row.attempts, db=self.db,
            driver=driver, worker_id=self.worker_id,
        )
        heartbeat = asyncio.create_task(self._heartbeat(row.id))
        try:
            if handler is None:
                raise DriverError(f"No handler for task type {row.task_type}")
            if row.attempts > MAX_ATTEMPTS:
                raise DriverError(f"Task abandoned after {MAX_ATTEMPTS} attempts: its workers stopped responding")
            bound.info("task.started")
            await handler.run(ctx)
            if not ctx.finished:
                raise RuntimeError("handler returned without finishing its task")
            bound.info("task.finished")
        except LeaseLost:
            bound.warning("task.lease_lost")
        except asyncio.CancelledError:
            bound.warning("task.cancelled")
            raise
        except Exception as exc:
            if isinstance(exc, DriverError):
                message = str(exc) or type(exc).__name__
                bound.info("task.failed", error=message)
            else:
                message = f"Internal error while running {row.task_type}; see the service log for task {row.id}"
                bound.error("task.crashed", exc_info=exc)
            await self._fail(ctx, handler, message)
        finally:
            heartbeat.cancel()
            self._running.pop(row.id, None)
            for fut in self._waiters.pop(row.id, []):
                if not fut.done():
                    fut.set_result(None)
            if self._maybe_more:  # tasks may wait for the slot this one frees (new ones wake the loop themselves)
                self._wake.set()

    async def _fail(self, ctx: TaskContext, handler: TaskHandler | None, message: str) -> None:
        try:
            async with self.db.transaction() as conn:
                now = utcnow()
                result = await conn.execute(
                    tasks.update()
                    .where(tasks.c.id == ctx.task_id, tasks.c.lease_owner == self.worker_id,
                           tasks.c.state == TaskState.RUNNING)
                    .values(state=TaskState.ERROR, error=message, finished_on=now, updated_on=now,
                            lease_owner=None, lease_expires_at=None)
                )
                if result.rowcount != 1:
                    raise LeaseLost(ctx.task_id)
                if handler is not None:
                    await handler.on_error(ctx, conn, message)
        except LeaseLost:
            log.warning("task.lease_lost", task_id=ctx.task_id)
        except Exception:
            log.exception("task.compensation_failed", task_id=ctx.task_id)


# --- statements built once (see core/sql.py on hot-path statements) ----------------------------

_FINISH = prepared(tasks.update().where(tasks.c.id == sa.bindparam("b_task_id"),
                                        tasks.c.lease_owner == sa.bindparam("b_worker_id"),
                                        tasks.c.state == TaskState.RUNNING))
_NEXT_FAULT = prepared(sa.select(faults).where(faults.c.operation == sa.bindparam("operation"))
                       .order_by(faults.c.id).limit(1))
_INSERT = prepared(tasks.insert())

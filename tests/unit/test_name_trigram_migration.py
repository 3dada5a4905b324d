"""Migration 0007, the trigram index of instance names: backfilled, kept in sync, removed by the downgrade;
on PostgreSQL without the right to create pg_trgm, left out (the name filter then scans, as before)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from cloudlet.core.clock import utcnow
from cloudlet.core.db import Database
from cloudlet.core.migrate import _alembic_config, upgrade
from cloudlet.instances import repository
from cloudlet.models import instances
from tests.conftest import PG_URL, database_url

SCOPE = SimpleNamespace(project_id=1, region_id=1)


@pytest.fixture
def fresh_url(backend: str) -> Iterator[str]:
    with database_url(backend) as url:
        yield url


@pytest.fixture
def unprivileged_pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, as a role that may create tables in it but not extensions (a trusted
    extension such as pg_trgm needs CREATE on the database)."""
    with database_url("postgres") as url:
        role = f"cloudlet_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin_in(url, f'CREATE ROLE "{role}" LOGIN', f'GRANT USAGE, CREATE ON SCHEMA public TO "{role}"'))
        try:
            yield sa.make_url(url).set(username=role, password=None).render_as_string(hide_password=False)
        finally:
            asyncio.run(_admin_in(url, f'DROP OWNED BY "{role}"', f'DROP ROLE "{role}"'))


async def _admin_in(url: str, *statements: str) -> None:
    """``statements`` as the administrator, in the database at ``url``."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1])
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def migrate(url: str, action: str, revision: str) -> None:
    """``alembic upgrade|downgrade revision`` on the database at ``url``."""
    def run(connection: sa.Connection) -> None:
        getattr(command, action)(_alembic_config(connection), revision)
        connection.commit()

    if url.startswith("sqlite"):
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            run(connection)
        engine.dispose()
        return
    aengine = create_async_engine(url)
    async with aengine.connect() as aconnection:
        await aconnection.run_sync(run)
    await aengine.dispose()


def row(name: str) -> dict[str, Any]:
    now = utcnow()
    return {"id": str(uuid.uuid4()), "project_id": 1, "region_id": 1, "name": name, "flavor_id": "g1-standard-1-2",
            "vcpus": 1, "ram": 2048, "os_type": "linux", "status": "ACTIVE", "vm_state": "active",
            "created_at": now, "updated_at": now}


async def names_holding(db: Database, needle: str) -> list[str]:
    async with db.read() as conn:
        page, total = await repository.list_rows(conn, SCOPE, repository.InstanceFilters(name=needle),
                                                 order_by="name.asc", limit=100, offset=0)
        names = {r.id: r.name for r in await repository.rows_by_id(conn, SCOPE, [r.id for r in page])}
    assert total == len(page)
    return [names[r.id] for r in page]


async def index_objects(db: Database) -> set[str]:
    """The name index's tables, triggers and indexes that exist."""
    async with db.read() as conn:
        if conn.dialect_name == "sqlite":
            found = await conn.execute(sa.text("SELECT name FROM sqlite_master WHERE name LIKE '%name_trgm%'"))
        else:
            found = await conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%name_trgm%'"))
        return {name for (name,) in found}


async def check_index_agrees(db: Database) -> None:
    if db.is_sqlite:  # 'database disk image is malformed' unless the index matches the table
        async with db.transaction() as conn:
            await conn.execute(sa.text(
                "INSERT INTO instances_name_trgm(instances_name_trgm, rank) VALUES ('integrity-check', 1)"))


async def test_up_and_down(backend: str, fresh_url: str) -> None:
    url = fresh_url
    await migrate(url, "upgrade", "0006")
    db = Database(url)
    try:
        async with db.transaction() as conn:
            await conn.execute(instances.insert(), [row("web-before"), row("db-before")])
        await migrate(url, "upgrade", "head")  # 0007, and the later ones the list needs
        expected = ({"instances_name_trgm", "trg_instances_name_trgm_insert", "trg_instances_name_trgm_delete",
                     "trg_instances_name_trgm_update"} if backend == "sqlite" else {"ix_instances_name_trgm"})
        assert expected <= await index_objects(db)
        assert await names_holding(db, "WEB-BEF") == ["web-before"]  # backfilled

        async with db.transaction() as conn:
            await conn.execute(instances.insert(), row("web-after"))
            await conn.execute(instances.update().where(instances.c.name == "db-before").values(name="cache-1"))
            await conn.execute(instances.delete().where(instances.c.name == "web-before"))
            await conn.execute(instances.update().values(status="SHUTOFF"))  # not the name: no reindexing
        assert await names_holding(db, "web-") == ["web-after"]
        assert await names_holding(db, "cache") == ["cache-1"] and await names_holding(db, "db-b") == []
        await check_index_agrees(db)

        await migrate(url, "downgrade", "0006")
        assert await index_objects(db) == set()
        async with db.transaction() as conn:  # no trigger left behind
            await conn.execute(instances.update().where(instances.c.name == "cache-1").values(name="cache-2"))
        await migrate(url, "upgrade", "head")
        assert await names_holding(db, "CACHE-") == ["cache-2"]
        await check_index_agrees(db)
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_without_the_right_to_create_pg_trgm(unprivileged_pg_url: str) -> None:
    await upgrade(unprivileged_pg_url)
    db = Database(unprivileged_pg_url)
    try:
        assert await index_objects(db) == set()
        async with db.transaction() as conn:
            await conn.execute(instances.insert(), [row("web-1"), row("db-1")])
        assert await names_holding(db, "WEB") == ["web-1"]
    finally:
        await db.dispose()

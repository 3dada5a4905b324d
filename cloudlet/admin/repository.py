"""SQL for the admin API: resellers, clients, API keys and injected faults (unscoped by design: only
admin-only code calls it)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.auth import hash_token
from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.models import (
    api_keys,
    clients,
    faults,
    projects,
    regional_quotas,
    reseller_name_templates,
    resellers,
    tasks,
)


async def get_key_by_token(conn: Conn, token: str) -> Any:
    return (await conn.execute(sa.select(api_keys).where(api_keys.c.token_hash == hash_token(token)))).first()


async def insert_key(conn: Conn, *, name: str, role: str, token: str, client_id: int | None = None,
                     reseller_id: int | None = None) -> Any:
    return (
        await conn.execute(
            api_keys.insert()
            .values(name=name, role=role, token_hash=hash_token(token), token_hint=token[-4:],
                    client_id=client_id, reseller_id=reseller_id, created_at=utcnow())
            .returning(api_keys)
        )
    ).one()


async def insert_fault(conn: Conn, *, operation: str, mode: str, remaining: int | None, message: str | None) -> Any:
    return (
        await conn.execute(
            faults.insert()
            .values(operation=operation, mode=mode, remaining=remaining, message=message, created_at=utcnow())
            .returning(faults)
        )
    ).one()


async def list_faults(conn: Conn) -> list[Any]:
    return list((await conn.execute(sa.select(faults).order_by(faults.c.id))).all())


async def delete_faults(conn: Conn, fault_id: int | None = None) -> int:
    stmt = faults.delete()
    if fault_id is not None:
        stmt = stmt.where(faults.c.id == fault_id)
    return (await conn.execute(stmt)).rowcount  # type: ignore[no-any-return]


# --- resellers, clients, API keys --------------------------------------------------------------


async def insert_reseller(conn: Conn, *, name: str) -> Any:
    return (await conn.execute(resellers.insert().values(name=name, created_at=utcnow()).returning(resellers))).one()


async def get_reseller(conn: Conn, reseller_id: int) -> Any:
    return (await conn.execute(sa.select(resellers).where(resellers.c.id == reseller_id))).first()


async def list_resellers(conn: Conn, *, limit: int, offset: int) -> tuple[list[Any], int]:
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(resellers)) or 0)
    rows = (await conn.execute(sa.select(resellers).order_by(resellers.c.id).limit(limit).offset(offset))).all()
    return list(rows), total


async def count_clients_of(conn: Conn, reseller_id: int) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(clients)
                                 .where(clients.c.reseller_id == reseller_id)) or 0)


async def delete_reseller(conn: Conn, reseller_id: int) -> None:
    """The reseller with its keys and naming restrictions (it must have no clients left)."""
    await conn.execute(api_keys.delete().where(api_keys.c.reseller_id == reseller_id))
    await conn.execute(reseller_name_templates.delete().where(reseller_name_templates.c.reseller_id == reseller_id))
    await conn.execute(resellers.delete().where(resellers.c.id == reseller_id))


async def insert_client(conn: Conn, *, name: str, reseller_id: int | None) -> Any:
    return (await conn.execute(clients.insert().values(name=name, reseller_id=reseller_id, created_at=utcnow())
                               .returning(clients))).one()


async def get_client(conn: Conn, client_id: int) -> Any:
    return (await conn.execute(sa.select(clients).where(clients.c.id == client_id))).first()


async def list_clients(conn: Conn, *, reseller_id: int | None, limit: int, offset: int) -> tuple[list[Any], int]:
    where = [clients.c.reseller_id == reseller_id] if reseller_id is not None else []
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(clients).where(*where)) or 0)
    rows = (await conn.execute(sa.select(clients).where(*where).order_by(clients.c.id).limit(limit)
                               .offset(offset))).all()
    return list(rows), total


async def count_live_projects(conn: Conn, client_id: int) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(projects)
                                 .where(projects.c.client_id == client_id, projects.c.deleted_at.is_(None))) or 0)


async def delete_client(conn: Conn, client_id: int) -> None:
    """The client with its keys, quotas, deleted projects and task history (it must have no live project
    left). Nothing may outlive it: SQLite can give its id to the next client."""
    await conn.execute(api_keys.delete().where(api_keys.c.client_id == client_id))
    await conn.execute(tasks.delete().where(tasks.c.client_id == client_id))
    await conn.execute(regional_quotas.delete().where(regional_quotas.c.client_id == client_id))
    await conn.execute(projects.delete().where(projects.c.client_id == client_id, projects.c.deleted_at.is_not(None)))
    await conn.execute(clients.delete().where(clients.c.id == client_id))


async def get_key(conn: Conn, key_id: int) -> Any:
    return (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).first()


async def list_keys(conn: Conn, *, role: str | None = None, client_id: int | None = None,
                    reseller_id: int | None = None, limit: int, offset: int) -> tuple[list[Any], int]:
    where: list[Any] = []
    if role is not None:
        where.append(api_keys.c.role == role)
    if client_id is not None:
        where.append(api_keys.c.client_id == client_id)
    if reseller_id is not None:
        where.append(api_keys.c.reseller_id == reseller_id)
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(api_keys).where(*where)) or 0)
    rows = (await conn.execute(sa.select(api_keys).where(*where).order_by(api_keys.c.id).limit(limit)
                               .offset(offset))).all()
    return list(rows), total


async def delete_key(conn: Conn, key_id: int) -> int:
    result = await conn.execute(api_keys.delete().where(api_keys.c.id == key_id))
    return result.rowcount  # type: ignore[no-any-return]

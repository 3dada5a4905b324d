"""Admin decisions: the bootstrap admin key, tenants (resellers, clients, API keys) and fault injection."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from cloudlet.admin import repository
from cloudlet.config import Settings
from cloudlet.core.auth import ROLES, Principal, new_token
from cloudlet.core.db import Conn
from cloudlet.core.errors import ForbiddenError, NotFoundError, ValidationError
from cloudlet.quotas import service as quota_service

ADMIN_KEY_FILE = "admin-api-key"
FAULT_MODES = ("once", "always", "count")


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise ForbiddenError("This operation is reserved to administrators")


async def ensure_admin_key(conn: Conn, settings: Settings) -> str | None:
    """Make sure an admin key exists; return the token only when it was just generated."""
    if settings.admin_api_key:
        if await repository.get_key_by_token(conn, settings.admin_api_key) is None:
            await repository.insert_key(conn, name="admin (CLOUDLET_ADMIN_API_KEY)", role="admin",
                                        token=settings.admin_api_key)
        return None
    key_file = settings.data_dir / ADMIN_KEY_FILE
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    token = new_token()
    try:  # O_EXCL: when several processes start together, exactly one generates the key
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        token = _read_key_file(key_file)
        if await repository.get_key_by_token(conn, token) is None:
            await repository.insert_key(conn, name="admin (generated)", role="admin", token=token)
        return None
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    await repository.insert_key(conn, name="admin (generated)", role="admin", token=token)
    return token


def _read_key_file(path: Path) -> str:
    for _ in range(50):  # another process may be between creating and writing it
        token = path.read_text().strip()
        if token:
            return token
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty; delete it to generate a new admin key")


async def arm_fault(conn: Conn, *, operation: str, mode: str, count: int | None, message: str | None) -> Any:
    if mode not in FAULT_MODES:
        raise ValidationError.for_field("mode", f"mode must be one of {', '.join(FAULT_MODES)}")
    if mode == "count" and (count is None or count < 1):
        raise ValidationError.for_field("count", "count must be a positive number with mode 'count'")
    remaining = {"once": 1, "always": None, "count": count}[mode]
    return await repository.insert_fault(conn, operation=operation, mode=mode, remaining=remaining, message=message)


async def disarm_fault(conn: Conn, fault_id: int) -> None:
    if await repository.delete_faults(conn, fault_id) == 0:
        raise NotFoundError(f"Fault {fault_id} could not be found")


# --- tenants -----------------------------------------------------------------------------------


async def get_reseller(conn: Conn, reseller_id: int) -> Any:
    row = await repository.get_reseller(conn, reseller_id)
    if row is None:
        raise NotFoundError(f"Reseller {reseller_id} could not be found")
    return row


async def delete_reseller(conn: Conn, reseller_id: int) -> None:
    conn.database.tenancy_cache.clear()  # cached keys and scopes must not outlive this
    await get_reseller(conn, reseller_id)
    clients_left = await repository.count_clients_of(conn, reseller_id)
    if clients_left:
        raise ValidationError(f"Reseller {reseller_id} still has {clients_left} client(s); delete them first")
    await repository.delete_reseller(conn, reseller_id)


async def get_client(conn: Conn, client_id: int) -> Any:
    row = await repository.get_client(conn, client_id)
    if row is None:
        raise NotFoundError(f"Client {client_id} could not be found")
    return row


async def create_client(conn: Conn, *, name: str, reseller_id: int | None) -> Any:
    """A new client, with the catalog's default quota limits in every region."""
    if reseller_id is not None:
        await get_reseller(conn, reseller_id)
    client = await repository.insert_client(conn, name=name, reseller_id=reseller_id)
    await quota_service.give_default_limits(conn, client.id)
    return client


async def delete_client(conn: Conn, client_id: int) -> None:
    conn.database.tenancy_cache.clear()  # cached keys and scopes must not outlive this
    await get_client(conn, client_id)
    live = await repository.count_live_projects(conn, client_id)
    if live:
        raise ValidationError(f"Client {client_id} still has {live} project(s); delete them first")
    await repository.delete_client(conn, client_id)


async def create_api_key(conn: Conn, *, name: str, role: str, client_id: int | None = None,
                         reseller_id: int | None = None) -> tuple[Any, str]:
    """A new key bound to one principal; returns the row and the token, which is never stored."""
    if role not in ROLES:
        raise ValidationError.for_field("role", f"role must be one of {', '.join(ROLES)}")
    if role == "client":
        if client_id is None:
            raise ValidationError.for_field("client_id", "client_id is required for a client key")
        if reseller_id is not None:
            raise ValidationError.for_field("reseller_id", "A client key belongs to a client only: "
                                                           "leave reseller_id out")
        await get_client(conn, client_id)
    elif role == "reseller":
        if reseller_id is None:
            raise ValidationError.for_field("reseller_id", "reseller_id is required for a reseller key")
        if client_id is not None:
            raise ValidationError.for_field("client_id", "A reseller key belongs to a reseller only: "
                                                         "leave client_id out")
        await get_reseller(conn, reseller_id)
    elif client_id is not None or reseller_id is not None:
        raise ValidationError.for_field("role", "An admin key belongs to no client or reseller")
    token = new_token()
    row = await repository.insert_key(conn, name=name, role=role, token=token, client_id=client_id,
                                      reseller_id=reseller_id)
    return row, token


async def get_api_key(conn: Conn, key_id: int) -> Any:
    row = await repository.get_key(conn, key_id)
    if row is None:
        raise NotFoundError(f"API key {key_id} could not be found")
    return row


async def delete_api_key(conn: Conn, key_id: int, *, caller_key_id: int | None = None) -> None:
    """Revoke a key at once. An admin cannot revoke the key it is calling with (it would lock itself out)."""
    conn.database.tenancy_cache.clear()  # cached keys and scopes must not outlive this
    await get_api_key(conn, key_id)
    if key_id == caller_key_id:
        raise ValidationError(f"API key {key_id} is the key of this request; revoke it with another admin key")
    await repository.delete_key(conn, key_id)

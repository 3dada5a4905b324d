"""Admin decisions: the bootstrap admin key and fault injection."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from cloudlet.admin import repository
from cloudlet.config import Settings
from cloudlet.core.auth import Principal, new_token
from cloudlet.core.db import Conn
from cloudlet.core.errors import ForbiddenError, NotFoundError, ValidationError

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

"""Flavor reads."""

from __future__ import annotations

from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.flavors import repository


async def list_flavor_rows(conn: Conn, scope: Scope, *, include_disabled: bool, exclude_windows: bool,
                           exclude_linux: bool, limit: int, offset: int) -> tuple[list[Any], int]:
    excluded = [os_type for os_type, hide in (("windows", exclude_windows), ("linux", exclude_linux)) if hide]
    return await repository.list_rows(conn, scope.region_id, include_disabled=include_disabled,
                                      exclude_os_types=excluded, limit=limit, offset=offset)

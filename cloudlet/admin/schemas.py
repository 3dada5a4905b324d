from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec


class FaultCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Make upcoming tasks of one type fail on the hypervisor."""

    operation: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="a task type, e.g. create_vm")]
    mode: str = "once"
    count: int | None = None
    message: str | None = None


class Fault(msgspec.Struct):
    id: int
    operation: str
    mode: str
    remaining: int | None
    message: str | None
    created_at: dt.datetime


class FaultList(msgspec.Struct):
    count: int
    results: list[Fault]


def fault_out(row: object) -> Fault:
    return Fault(id=row.id, operation=row.operation, mode=row.mode, remaining=row.remaining,  # type: ignore[attr-defined]
                 message=row.message, created_at=row.created_at)  # type: ignore[attr-defined]

"""Wire models of the admin API (cloudlet's own: Gcore publishes none)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

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


# --- tenants: resellers, clients, API keys ---------------------------------------------------

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Role = Literal["admin", "reseller", "client"]


class ResellerCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class Reseller(msgspec.Struct):
    id: int
    name: str
    created_at: dt.datetime


class ResellerList(msgspec.Struct):
    count: int
    results: list[Reseller]


class ClientCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    reseller_id: int | None = None


class Client(msgspec.Struct):
    id: int
    name: str
    reseller_id: int | None
    created_at: dt.datetime


class ClientList(msgspec.Struct):
    count: int
    results: list[Client]


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A client key needs ``client_id``, a reseller key ``reseller_id``, an admin key neither."""

    name: Name
    role: Role
    reseller_id: int | None = None
    client_id: int | None = None


class ApiKey(msgspec.Struct):
    """An API key as listed: never its token, only the token's last four characters."""

    id: int
    name: str
    role: str
    client_id: int | None
    reseller_id: int | None
    token_hint: str
    created_at: dt.datetime


class ApiKeyCreated(ApiKey):
    """The one response that carries the token: it is stored hashed and cannot be shown again."""

    token: str


class ApiKeyList(msgspec.Struct):
    count: int
    results: list[ApiKey]


def reseller_out(row: Any) -> Reseller:
    return Reseller(id=row.id, name=row.name, created_at=row.created_at)


def client_out(row: Any) -> Client:
    return Client(id=row.id, name=row.name, reseller_id=row.reseller_id, created_at=row.created_at)


def api_key_out(row: Any) -> ApiKey:
    return ApiKey(id=row.id, name=row.name, role=row.role, client_id=row.client_id, reseller_id=row.reseller_id,
                  token_hint=row.token_hint, created_at=row.created_at)


def api_key_created(row: Any, token: str) -> ApiKeyCreated:
    return ApiKeyCreated(id=row.id, name=row.name, role=row.role, client_id=row.client_id,
                         reseller_id=row.reseller_id, token_hint=row.token_hint, created_at=row.created_at,
                         token=token)

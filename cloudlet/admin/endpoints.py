"""Admin API: ``/admin/v1/...`` (admin keys only; any other key gets 403).

Tenants: resellers own clients, clients own projects, and each API key belongs to one principal
(an admin, a reseller or a client). Quotas: ``PUT /admin/v1/regional_quotas/{client_id}/{region_id}``.
Faults: make upcoming tasks fail on the simulated hypervisor.
"""

from __future__ import annotations

from typing import Any

from litestar import delete, get, post, put
from litestar.params import JSONBody

from cloudlet.admin import repository, service
from cloudlet.admin.schemas import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    Client,
    ClientCreate,
    ClientList,
    Fault,
    FaultCreate,
    FaultList,
    Reseller,
    ResellerCreate,
    ResellerList,
    Role,
    api_key_created,
    api_key_out,
    client_out,
    fault_out,
    reseller_out,
)
from cloudlet.core.auth import PrincipalDep
from cloudlet.core.errors import NotFoundError
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import get_region
from cloudlet.quotas import service as quota_service
from cloudlet.runtime import RuntimeDep

TAGS = ["admin"]


# --- faults --------------------------------------------------------------------------------------


@post("/admin/v1/faults", status_code=200, tags=TAGS, summary="Inject a fault into upcoming tasks")
async def create_fault(data: JSONBody[FaultCreate], principal: PrincipalDep, runtime: RuntimeDep) -> Fault:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        row = await service.arm_fault(conn, operation=data.operation, mode=data.mode, count=data.count,
                                      message=data.message)
    return fault_out(row)


@get("/admin/v1/faults", tags=TAGS, summary="List armed faults")
async def list_faults(principal: PrincipalDep, runtime: RuntimeDep) -> FaultList:
    service.require_admin(principal)
    async with runtime.db.read() as conn:
        rows = await repository.list_faults(conn)
    return FaultList(count=len(rows), results=[fault_out(r) for r in rows])


@delete("/admin/v1/faults", tags=TAGS, summary="Disarm every fault")
async def clear_faults(principal: PrincipalDep, runtime: RuntimeDep) -> None:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        await repository.delete_faults(conn)


@delete("/admin/v1/faults/{fault_id:int}", tags=TAGS, summary="Disarm one fault")
async def delete_fault(fault_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> None:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        await service.disarm_fault(conn, fault_id)


# --- resellers -----------------------------------------------------------------------------------


@post("/admin/v1/resellers", status_code=200, tags=TAGS, summary="Create a reseller")
async def create_reseller(data: JSONBody[ResellerCreate], principal: PrincipalDep, runtime: RuntimeDep) -> Reseller:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        return reseller_out(await repository.insert_reseller(conn, name=data.name))


@get("/admin/v1/resellers", tags=TAGS, summary="List resellers")
async def list_resellers(principal: PrincipalDep, runtime: RuntimeDep, limit: int | None = None,
                         offset: int | None = None) -> ResellerList:
    service.require_admin(principal)
    limit, offset = page_bounds(limit, offset)
    async with runtime.db.read() as conn:
        rows, total = await repository.list_resellers(conn, limit=limit, offset=offset)
    return ResellerList(count=total, results=[reseller_out(r) for r in rows])


@get("/admin/v1/resellers/{reseller_id:int}", tags=TAGS, summary="Get a reseller")
async def get_reseller(reseller_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> Reseller:
    service.require_admin(principal)
    async with runtime.db.read() as conn:
        return reseller_out(await service.get_reseller(conn, reseller_id))


@delete("/admin/v1/resellers/{reseller_id:int}", tags=TAGS, summary="Delete a reseller without clients",
        description="Its API keys and naming restrictions go with it. Refused (400) while it has clients.")
async def delete_reseller(reseller_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> None:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        await service.delete_reseller(conn, reseller_id)


# --- clients -------------------------------------------------------------------------------------


@post("/admin/v1/clients", status_code=200, tags=TAGS, summary="Create a client, optionally of a reseller")
async def create_client(data: JSONBody[ClientCreate], principal: PrincipalDep, runtime: RuntimeDep) -> Client:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        return client_out(await service.create_client(conn, name=data.name, reseller_id=data.reseller_id))


@get("/admin/v1/clients", tags=TAGS, summary="List clients")
async def list_clients(principal: PrincipalDep, runtime: RuntimeDep, reseller_id: int | None = None,
                       limit: int | None = None, offset: int | None = None) -> ClientList:
    service.require_admin(principal)
    limit, offset = page_bounds(limit, offset)
    async with runtime.db.read() as conn:
        rows, total = await repository.list_clients(conn, reseller_id=reseller_id, limit=limit, offset=offset)
    return ClientList(count=total, results=[client_out(r) for r in rows])


@get("/admin/v1/clients/{client_id:int}", tags=TAGS, summary="Get a client")
async def get_client(client_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> Client:
    service.require_admin(principal)
    async with runtime.db.read() as conn:
        return client_out(await service.get_client(conn, client_id))


@delete("/admin/v1/clients/{client_id:int}", tags=TAGS, summary="Delete a client without live projects",
        description="Its API keys, quotas, deleted projects and tasks go with it. Refused (400) while it has "
                    "projects.")
async def delete_client(client_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> None:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        await service.delete_client(conn, client_id)


# --- API keys ------------------------------------------------------------------------------------


@post("/admin/v1/api_keys", status_code=200, tags=TAGS, summary="Create an API key (its token is shown once)")
async def create_api_key(data: JSONBody[ApiKeyCreate], principal: PrincipalDep,
                         runtime: RuntimeDep) -> ApiKeyCreated:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        row, token = await service.create_api_key(conn, name=data.name, role=data.role, client_id=data.client_id,
                                                  reseller_id=data.reseller_id)
    return api_key_created(row, token)


@get("/admin/v1/api_keys", tags=TAGS, summary="List API keys (never their tokens)")
async def list_api_keys(principal: PrincipalDep, runtime: RuntimeDep, role: Role | None = None,
                        client_id: int | None = None, reseller_id: int | None = None, limit: int | None = None,
                        offset: int | None = None) -> ApiKeyList:
    service.require_admin(principal)
    limit, offset = page_bounds(limit, offset)
    async with runtime.db.read() as conn:
        rows, total = await repository.list_keys(conn, role=role, client_id=client_id, reseller_id=reseller_id,
                                                 limit=limit, offset=offset)
    return ApiKeyList(count=total, results=[api_key_out(r) for r in rows])


@get("/admin/v1/api_keys/{key_id:int}", tags=TAGS, summary="Get an API key (never its token)")
async def get_api_key(key_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> ApiKey:
    service.require_admin(principal)
    async with runtime.db.read() as conn:
        return api_key_out(await service.get_api_key(conn, key_id))


@delete("/admin/v1/api_keys/{key_id:int}", tags=TAGS, summary="Revoke an API key at once")
async def delete_api_key(key_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> None:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        await service.delete_api_key(conn, key_id, caller_key_id=principal.key_id)


# --- quotas --------------------------------------------------------------------------------------


@put("/admin/v1/regional_quotas/{client_id:int}/{region_id:int}", tags=TAGS,
     summary="Set a client's quota limits in a region",
     description="Body: `<quota>_limit` fields (e.g. `cpu_count_limit`, `ram_limit` in MiB); null removes a "
                 "limit; limits not named stay as they are. Answers like GET /v2/regional_quotas.")
async def set_regional_quotas(client_id: int, region_id: int, data: JSONBody[dict[str, Any]],
                              principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, int]:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        await service.get_client(conn, client_id)
        if await get_region(conn, region_id) is None:
            raise NotFoundError(f"Region {region_id} could not be found")
        return await quota_service.update_limits(conn, client_id, region_id, data)


routes = [
    create_fault, list_faults, clear_faults, delete_fault,
    create_reseller, list_resellers, get_reseller, delete_reseller,
    create_client, list_clients, get_client, delete_client,
    create_api_key, list_api_keys, get_api_key, delete_api_key,
    set_regional_quotas,
]

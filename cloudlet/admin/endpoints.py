"""Admin API: ``/admin/v1/...`` (admin keys only)."""

from __future__ import annotations

from litestar.params import JSONBody
from litestar import delete, get, post

from cloudlet.admin import repository, service
from cloudlet.admin.schemas import Fault, FaultCreate, FaultList, fault_out
from cloudlet.runtime import RuntimeDep
from cloudlet.core.auth import PrincipalDep


@post("/admin/v1/faults", status_code=200, tags=["admin"], summary="Inject a fault into upcoming tasks")
async def create_fault(data: JSONBody[FaultCreate], principal: PrincipalDep, runtime: RuntimeDep) -> Fault:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        row = await service.arm_fault(conn, operation=data.operation, mode=data.mode, count=data.count,
                                      message=data.message)
    return fault_out(row)


@get("/admin/v1/faults", tags=["admin"], summary="List armed faults")
async def list_faults(principal: PrincipalDep, runtime: RuntimeDep) -> FaultList:
    service.require_admin(principal)
    async with runtime.db.read() as conn:
        rows = await repository.list_faults(conn)
    return FaultList(count=len(rows), results=[fault_out(r) for r in rows])


@delete("/admin/v1/faults", tags=["admin"], summary="Disarm every fault")
async def clear_faults(principal: PrincipalDep, runtime: RuntimeDep) -> None:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        await repository.delete_faults(conn)


@delete("/admin/v1/faults/{fault_id:int}", tags=["admin"], summary="Disarm one fault")
async def delete_fault(fault_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> None:
    service.require_admin(principal)
    async with runtime.db.transaction() as conn:
        await service.disarm_fault(conn, fault_id)


routes = [create_fault, list_faults, clear_faults, delete_fault]

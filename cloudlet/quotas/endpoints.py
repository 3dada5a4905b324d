"""Regional quotas: ``GET /v2/regional_quotas/{client_id}/{region_id}``."""

from __future__ import annotations

from typing import Any

from litestar import get

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.errors import NotFoundError
from cloudlet.core.scope import get_region
from cloudlet.quotas import service
from cloudlet.runtime import RuntimeDep


def _may_see_client(principal: PrincipalDep, client_id: int) -> bool:
    return principal.is_admin or principal.role == "reseller" or principal.client_id == client_id


@get("/v2/regional_quotas/{client_id:int}/{region_id:int}", tags=["quotas"],
     summary="Quota limits and usage of a client in a region")
async def get_regional_quotas(client_id: int, region_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    if not _may_see_client(principal, client_id):
        raise NotFoundError(f"Client {client_id} could not be found")
    async with runtime.db.read() as conn:
        if await get_region(conn, region_id) is None:
            raise NotFoundError(f"Region {region_id} could not be found")
        if principal.role == "reseller":
            from cloudlet.core.scope import reseller_owns_client

            if not await reseller_owns_client(conn, principal, client_id):
                raise NotFoundError(f"Client {client_id} could not be found")
        return await service.regional_report(conn, client_id, region_id)


routes = [get_regional_quotas]

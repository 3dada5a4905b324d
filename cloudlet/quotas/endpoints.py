"""Regional quotas: ``GET /v2/regional_quotas/{client_id}/{region_id}``."""

from __future__ import annotations

from litestar import get

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.errors import NotFoundError
from cloudlet.core.scope import get_region, may_see_client
from cloudlet.quotas import service
from cloudlet.runtime import RuntimeDep


@get("/v2/regional_quotas/{client_id:int}/{region_id:int}", tags=["quotas"],
     summary="Quota limits and usage of a client in a region")
async def get_regional_quotas(client_id: int, region_id: int, principal: PrincipalDep,
                              runtime: RuntimeDep) -> dict[str, int]:
    """A client key sees its own client; a reseller key its clients; an admin key every client."""
    async with runtime.db.read() as conn:
        if not await may_see_client(conn, principal, client_id):
            raise NotFoundError(f"Client {client_id} could not be found")
        if await get_region(conn, region_id) is None:
            raise NotFoundError(f"Region {region_id} could not be found")
        return await service.regional_report(conn, client_id, region_id)


routes = [get_regional_quotas]

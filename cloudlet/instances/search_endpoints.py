"""``GET /v1/instances/search``: find instances across every client of a reseller (or, for an admin, all)."""

from __future__ import annotations

from litestar import get

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import require_role
from cloudlet.instances import repository
from cloudlet.instances.search_schemas import InstanceLocationList, location_out
from cloudlet.runtime import RuntimeDep


@get("/v1/instances/search", tags=["instances"], summary="Search instances across a reseller's clients",
     description="Reseller and admin keys. `id`, `name` and `instance_ip` (a fixed IP; floating IPs are not "
                 "searched) each match a case-insensitive part; a reseller sees only its clients' instances.")
async def search_instances(principal: PrincipalDep, runtime: RuntimeDep, id: str | None = None,
                           name: str | None = None, instance_ip: str | None = None, limit: int | None = None,
                           offset: int | None = None) -> InstanceLocationList:
    require_role(principal, "admin", "reseller")
    limit, offset = page_bounds(limit, offset)
    filters = repository.SearchFilters(id=id, name=name, instance_ip=instance_ip)
    async with runtime.db.read() as conn:
        rows, total = await repository.search_rows(conn, principal, filters, limit=limit, offset=offset)
    return InstanceLocationList(count=total, results=[location_out(r) for r in rows])


routes = [search_instances]

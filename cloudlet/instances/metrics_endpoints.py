"""Instance metrics route (a POST with a JSON body, as Gcore has it)."""

from __future__ import annotations

from litestar import post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.clock import utcnow
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import resolve_scope
from cloudlet.guests import service as guests
from cloudlet.instances import metrics_service as service
from cloudlet.instances.metrics_schemas import MetricsList, MetricsRequest
from cloudlet.runtime import RuntimeDep

TAGS = ["instances"]


@post("/v1/instances/{project_id:int}/{region_id:int}/{instance_id:str}/metrics", status_code=200, tags=TAGS,
      summary="Get instance metrics",
      description="CPU, memory, network and per-disk rates over the last time_interval time_units, oldest first. "
                  "The step depends on the range: up to 1 h 15 s, 6 h 20 s, 24 h 2 min, 7 days 10 min, "
                  "14 days 20 min. Network rates are bytes per second.")
async def instance_metrics(project_id: int, region_id: int, instance_id: str, data: JSONBody[MetricsRequest],
                           principal: PrincipalDep, runtime: RuntimeDep, limit: int | None = None,
                           offset: int | None = None) -> MetricsList:
    service.window(data)
    if limit is not None or offset is not None:
        limit, offset = page_bounds(limit, offset)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        guest = await guests.load(conn, scope, instance_id)
    results = await service.collect(runtime.driver, guest, data, now=utcnow())
    start = offset or 0
    page = results[start:] if limit is None else results[start:start + limit]
    return MetricsList(count=len(results), results=page)


routes = [instance_metrics]

"""``POST /v2/instances/{project_id}/{region_id}/check_limits`` (endpoints.md 2.25)."""

from __future__ import annotations

from litestar import post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.scope import resolve_scope
from cloudlet.instances import limits_service
from cloudlet.instances.limits_schemas import CheckLimitsRequest
from cloudlet.runtime import RuntimeDep


@post("/v2/instances/{project_id:int}/{region_id:int}/check_limits", status_code=200, tags=["instances"],
      summary="Check a planned create against the regional quotas",
      description="Answers only the quotas that would be exceeded, each as `<quota>_limit`, `<quota>_requested` "
                  "(what this create would take) and `<quota>_usage`; `{}` when everything fits.")
async def check_limits(project_id: int, region_id: int, data: JSONBody[CheckLimitsRequest], principal: PrincipalDep,
                       runtime: RuntimeDep) -> dict[str, int]:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        return await limits_service.check_limits(conn, scope, data)


routes = [check_limits]

"""Flavors API route."""

from __future__ import annotations

from litestar import get

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import resolve_scope
from cloudlet.flavors import service
from cloudlet.flavors.schemas import FlavorList, flavor_out
from cloudlet.runtime import RuntimeDep


@get("/v1/flavors/{project_id:int}/{region_id:int}", tags=["flavors"], summary="List instance flavors")
async def list_flavors(
    project_id: int,
    region_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    include_prices: bool = False,
    disabled: bool = False,
    exclude_windows: bool = False,
    exclude_linux: bool = False,
) -> FlavorList:
    """The flavors of the region, smallest first.

    ``disabled``: Gcore documents it as "defaults to true" without saying what it filters. cloudlet
    lists only the flavors an instance can be created with unless ``disabled=true`` is passed, which
    adds the disabled ones (each marked ``"disabled": true``). ``exclude_windows`` / ``exclude_linux``
    hide the flavors dedicated to Windows / Linux images. Price fields (``currency_code``,
    ``price_per_hour``, ``price_per_month``, ``price_status``) appear only with ``include_prices=true``.
    """
    limit, offset = page_bounds(limit, offset)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows, total = await service.list_flavor_rows(conn, scope, include_disabled=disabled,
                                                     exclude_windows=exclude_windows, exclude_linux=exclude_linux,
                                                     limit=limit, offset=offset)
    return FlavorList(count=total, results=[flavor_out(r, include_prices=include_prices) for r in rows])


routes = [list_flavors]

"""Quota decisions. ``requested`` maps quota names (``cpu_count``, ``ram``...) to the amount a
request adds; a quota is exceeded when usage + requested > limit (behaviour.md 4.3)."""

from __future__ import annotations

from cloudlet.core.db import Conn
from cloudlet.core.errors import QuotaLimitExceed
from cloudlet.quotas import repository
from cloudlet.seed import default_quota_limits


async def limits_for(conn: Conn, client_id: int, region_id: int, *, for_update: bool = False) -> dict[str, int]:
    stored = await repository.get_limits(conn, client_id, region_id, for_update=for_update)
    return stored if stored is not None else {}


async def exceeded(conn: Conn, client_id: int, region_id: int, requested: dict[str, int]) -> dict[str, int]:
    """The ``<q>_limit/_requested/_usage`` triples of every quota the request would exceed."""
    limits = await limits_for(conn, client_id, region_id, for_update=True)
    used = await repository.usage(conn, client_id, region_id)
    out: dict[str, int] = {}
    for name, amount in requested.items():
        limit = limits.get(f"{name}_limit")
        if amount <= 0 or limit is None:
            continue
        current = used.get(name, 0)
        if current + amount > limit:
            out.update({f"{name}_limit": limit, f"{name}_requested": amount, f"{name}_usage": current})
    return out


async def enforce(conn: Conn, client_id: int, region_id: int, requested: dict[str, int]) -> None:
    """Raise ``QuotaLimitExceed`` for the first quota the request would take over its limit."""
    over = await exceeded(conn, client_id, region_id, requested)
    for key in over:
        if key.endswith("_limit"):
            name = key[: -len("_limit")]
            limit, usage, amount = over[key], over[f"{name}_usage"], over[f"{name}_requested"]
            raise QuotaLimitExceed(
                f"Quota limit for {name} exceeded by {usage + amount - limit}",
                info={"attribute": name, "current_usage": usage, "requested_usage": usage + amount,
                      "limit": limit},
            )


async def regional_report(conn: Conn, client_id: int, region_id: int) -> dict[str, int]:
    """``<q>_limit`` and ``<q>_usage`` for every quota with a limit (GET regional_quotas)."""
    limits = await limits_for(conn, client_id, region_id)
    if not limits:
        limits = {k: 0 for k in default_quota_limits()}
    used = await repository.usage(conn, client_id, region_id)
    out: dict[str, int] = {}
    for key, limit in sorted(limits.items()):
        name = key[: -len("_limit")]
        out[key] = limit
        out[f"{name}_usage"] = used.get(name, 0)
    return out

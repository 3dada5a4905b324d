"""SQL for regional quotas: limits are stored; usage is read from the counters triggers keep (migration
0006: instances, vCPUs, RAM, volumes, external IPs) or counted from the resource tables (the rest)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.core.direct import prepared
from cloudlet.models import (
    floating_ips,
    networks,
    project_usage,
    projects,
    regional_quotas,
    regions,
    servergroups,
    subnets,
)


async def get_limits(conn: Conn, client_id: int, region_id: int, *, for_update: bool = False) -> dict[str, int] | None:
    """The stored limits; ``for_update`` locks the row so concurrent creates of one client take turns."""
    stmt = _LIMITS_FOR_UPDATE if for_update else _LIMITS
    row = (await conn.execute(stmt, {"client_id": client_id, "region_id": region_id})).first()
    return dict(row.limits) if row is not None else None


async def set_limits(conn: Conn, client_id: int, region_id: int, limits: dict[str, int]) -> None:
    updated = await conn.execute(regional_quotas.update().where(regional_quotas.c.client_id == client_id,
                                                                regional_quotas.c.region_id == region_id)
                                 .values(limits=limits))
    if updated.rowcount == 0:
        await conn.execute(regional_quotas.insert().values(client_id=client_id, region_id=region_id, limits=limits))


async def region_ids(conn: Conn) -> list[int]:
    return list((await conn.execute(sa.select(regions.c.id).order_by(regions.c.id))).scalars())


def _client_projects(client_id: int) -> Any:
    return sa.select(projects.c.id).where(projects.c.client_id == client_id).scalar_subquery()


_COUNTED_QUOTAS = {"vm_count", "shared_vm_count", "cpu_count", "ram", "volume_count", "volume_size",
                   "external_ip_count"}
ALL_QUOTAS = frozenset(_COUNTED_QUOTAS | {
    "floating_count", "network_count", "subnet_count", "servergroup_count", "gpu_count"})


async def usage(conn: Conn, client_id: int, region_id: int, names: frozenset[str] | set[str] = ALL_QUOTAS
                ) -> dict[str, int]:
    """What the client uses in the region, counted from the resource tables, for the quotas in ``names``
    (only their queries run)."""
    out: dict[str, int] = {}

    def owned(table: sa.Table) -> sa.ColumnElement[bool]:  # built only for the quotas asked about
        return table.c.project_id.in_(_client_projects(client_id))

    async def count(table: sa.Table, *where: Any) -> int:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)

    if names & _COUNTED_QUOTAS:
        # kept by triggers (migration 0006): constant time however many instances the client has
        sums = (await conn.execute(_COUNTED_SUMS, {"client_id": client_id, "region_id": region_id})).one()
        instances, shared, vcpus, ram, volume_count, volume_size, external_ips = (int(v) for v in sums)
        out.update(vm_count=instances - shared, shared_vm_count=shared, cpu_count=vcpus, ram=ram,
                   volume_count=volume_count, volume_size=volume_size, external_ip_count=external_ips)
    if "floating_count" in names:
        out["floating_count"] = await count(floating_ips, owned(floating_ips),
                                            floating_ips.c.region_id == region_id)
    if "network_count" in names:
        out["network_count"] = await count(networks, owned(networks),
                                           networks.c.region_id == region_id, networks.c.external.is_(False))
    if "subnet_count" in names:
        out["subnet_count"] = await count(subnets, owned(subnets), subnets.c.region_id == region_id)
    if "servergroup_count" in names:
        out["servergroup_count"] = await count(servergroups, owned(servergroups),
                                               servergroups.c.region_id == region_id)
    if "gpu_count" in names:
        out["gpu_count"] = 0
    return out


# --- statements built once (see core/sql.py on hot-path statements) ----------------------------

_LIMITS = prepared(sa.select(regional_quotas.c.limits).where(
    regional_quotas.c.client_id == sa.bindparam("client_id"), regional_quotas.c.region_id == sa.bindparam("region_id")))
_LIMITS_FOR_UPDATE = prepared(_LIMITS.with_for_update())
_COUNTED_SUMS = prepared(
    sa.select(*(sa.func.coalesce(sa.func.sum(c), 0) for c in (
        project_usage.c.instances, project_usage.c.shared_instances, project_usage.c.vcpus, project_usage.c.ram,
        project_usage.c.volumes, project_usage.c.volume_size, project_usage.c.external_ips)))
    .where(project_usage.c.project_id.in_(_client_projects(sa.bindparam("client_id"))),
           project_usage.c.region_id == sa.bindparam("region_id"))
)

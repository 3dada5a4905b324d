"""SQL for regional quotas: limits are stored; usage is always counted from the resource tables."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.models import (
    floating_ips,
    instances,
    networks,
    ports,
    projects,
    regional_quotas,
    regions,
    servergroups,
    subnets,
    volumes,
)


async def get_limits(conn: Conn, client_id: int, region_id: int, *, for_update: bool = False) -> dict[str, int] | None:
    """The stored limits; ``for_update`` locks the row so concurrent creates of one client take turns."""
    stmt = sa.select(regional_quotas.c.limits).where(regional_quotas.c.client_id == client_id,
                                                     regional_quotas.c.region_id == region_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
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


_INSTANCE_QUOTAS = {"vm_count", "shared_vm_count", "cpu_count", "ram"}
_VOLUME_QUOTAS = {"volume_count", "volume_size"}
ALL_QUOTAS = frozenset(_INSTANCE_QUOTAS | _VOLUME_QUOTAS | {
    "external_ip_count", "floating_count", "network_count", "subnet_count", "servergroup_count", "gpu_count"})


async def usage(conn: Conn, client_id: int, region_id: int, names: frozenset[str] | set[str] = ALL_QUOTAS
                ) -> dict[str, int]:
    """What the client uses in the region, counted from the resource tables, for the quotas in ``names``
    (only their queries run)."""
    owned = _client_projects(client_id)
    out: dict[str, int] = {}

    async def count(table: sa.Table, *where: Any) -> int:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)

    if names & _INSTANCE_QUOTAS:
        inst = (
            await conn.execute(
                sa.select(
                    sa.func.count().filter(~instances.c.flavor_id.startswith("g1s-shared")),
                    sa.func.count().filter(instances.c.flavor_id.startswith("g1s-shared")),
                    sa.func.coalesce(sa.func.sum(instances.c.vcpus), 0),
                    sa.func.coalesce(sa.func.sum(instances.c.ram), 0),
                ).where(instances.c.project_id.in_(owned), instances.c.region_id == region_id)
            )
        ).one()
        out.update(vm_count=int(inst[0]), shared_vm_count=int(inst[1]), cpu_count=int(inst[2]), ram=int(inst[3]))
    if names & _VOLUME_QUOTAS:
        vol = (
            await conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(volumes.c.size), 0))
                .where(volumes.c.project_id.in_(owned), volumes.c.region_id == region_id)
            )
        ).one()
        out.update(volume_count=int(vol[0]), volume_size=int(vol[1]))
    if "external_ip_count" in names:
        out["external_ip_count"] = await count(
            ports.join(networks, networks.c.id == ports.c.network_id),
            ports.c.project_id.in_(owned), ports.c.region_id == region_id, networks.c.external.is_(True),
        )
    if "floating_count" in names:
        out["floating_count"] = await count(floating_ips, floating_ips.c.project_id.in_(owned),
                                            floating_ips.c.region_id == region_id)
    if "network_count" in names:
        out["network_count"] = await count(networks, networks.c.project_id.in_(owned),
                                           networks.c.region_id == region_id, networks.c.external.is_(False))
    if "subnet_count" in names:
        out["subnet_count"] = await count(subnets, subnets.c.project_id.in_(owned), subnets.c.region_id == region_id)
    if "servergroup_count" in names:
        out["servergroup_count"] = await count(servergroups, servergroups.c.project_id.in_(owned),
                                               servergroups.c.region_id == region_id)
    if "gpu_count" in names:
        out["gpu_count"] = 0
    return out

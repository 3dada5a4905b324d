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


async def usage(conn: Conn, client_id: int, region_id: int) -> dict[str, int]:
    owned = _client_projects(client_id)
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
    vol = (
        await conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(volumes.c.size), 0))
            .where(volumes.c.project_id.in_(owned), volumes.c.region_id == region_id)
        )
    ).one()

    async def count(table: sa.Table, *where: Any) -> int:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)

    external_ips = int(await conn.scalar(
        sa.select(sa.func.count()).select_from(ports.join(networks, networks.c.id == ports.c.network_id))
        .where(ports.c.project_id.in_(owned), ports.c.region_id == region_id, networks.c.external.is_(True))
    ) or 0)
    return {
        "vm_count": int(inst[0]),
        "shared_vm_count": int(inst[1]),
        "cpu_count": int(inst[2]),
        "ram": int(inst[3]),
        "volume_count": int(vol[0]),
        "volume_size": int(vol[1]),
        "external_ip_count": external_ips,
        "floating_count": await count(floating_ips, floating_ips.c.project_id.in_(owned),
                                      floating_ips.c.region_id == region_id),
        "network_count": await count(networks, networks.c.project_id.in_(owned), networks.c.region_id == region_id,
                                     networks.c.external.is_(False)),
        "subnet_count": await count(subnets, subnets.c.project_id.in_(owned), subnets.c.region_id == region_id),
        "servergroup_count": await count(servergroups, servergroups.c.project_id.in_(owned),
                                         servergroups.c.region_id == region_id),
        "gpu_count": 0,
    }

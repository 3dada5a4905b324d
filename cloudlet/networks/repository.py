"""SQL for networks, subnets and ports (the parts instances build on)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.core.direct import prepared
from cloudlet.core.scope import Scope
from cloudlet.models import (
    floating_ips,
    ip_allocations,
    networks,
    port_security_groups,
    ports,
    subnets,
)


def _visible_networks(scope: Scope) -> sa.ColumnElement[bool]:
    return sa.and_(
        networks.c.region_id == scope.region_id,
        sa.or_(networks.c.project_id == scope.project_id, networks.c.shared.is_(True)),
    )


async def get_network(conn: Conn, scope: Scope, network_id: str) -> Any:
    return (await conn.execute(sa.select(networks).where(networks.c.id == network_id, _visible_networks(scope)))).first()


async def get_external_network(conn: Conn, region_id: int) -> Any:
    return (await conn.execute(_EXTERNAL_NETWORK, {"region_id": region_id})).first()


async def get_subnet(conn: Conn, scope: Scope, subnet_id: str) -> Any:
    return (
        await conn.execute(
            sa.select(subnets).select_from(subnets.join(networks, networks.c.id == subnets.c.network_id))
            .where(subnets.c.id == subnet_id, _visible_networks(scope))
        )
    ).first()


async def subnets_of(conn: Conn, network_id: str) -> list[Any]:
    return list((await conn.execute(_SUBNETS_OF, {"network_id": network_id})).all())


async def insert_port(conn: Conn, scope: Scope, *, port_id: str, network_id: str, instance_id: str | None,
                      position: int, name: str, mac_address: str, interface_name: str | None,
                      reserved: bool = False) -> None:
    now = utcnow()
    await conn.execute(_INSERT_PORT, dict(
        id=port_id, project_id=scope.project_id, region_id=scope.region_id, network_id=network_id,
        instance_id=instance_id, position=position, name=name, mac_address=mac_address,
        interface_name=interface_name, port_security_enabled=True, reserved=reserved,
        created_at=now, updated_at=now,
    ))


async def get_port(conn: Conn, scope: Scope, port_id: str) -> Any:
    return (
        await conn.execute(
            sa.select(ports).where(ports.c.id == port_id, ports.c.project_id == scope.project_id,
                                   ports.c.region_id == scope.region_id)
        )
    ).first()


async def bind_port(conn: Conn, port_id: str, *, instance_id: str | None, position: int = 0,
                    interface_name: str | None = None) -> None:
    await conn.execute(
        ports.update().where(ports.c.id == port_id)
        .values(instance_id=instance_id, position=position, interface_name=interface_name, updated_at=utcnow())
    )


async def port_ids_of_instance(conn: Conn, instance_id: str) -> list[Any]:
    return list((await conn.execute(_PORTS_OF_INSTANCE, {"instance_id": instance_id})).all())


async def delete_ports(conn: Conn, port_ids: list[str]) -> None:
    if not port_ids:
        return
    await conn.execute(floating_ips.update().where(floating_ips.c.port_id.in_(port_ids))
                       .values(port_id=None, fixed_ip_address=None, updated_at=utcnow()))
    await conn.execute(ip_allocations.delete().where(ip_allocations.c.port_id.in_(port_ids)))
    await conn.execute(port_security_groups.delete().where(port_security_groups.c.port_id.in_(port_ids)))
    await conn.execute(ports.delete().where(ports.c.id.in_(port_ids)))


async def addresses_of_instances(conn: Conn, instance_ids: list[str]) -> list[Any]:
    """One row per fixed address of the instances' ports, in interface order, with network and subnet names."""
    return list(
        (
            await conn.execute(
                sa.select(
                    ports.c.instance_id, ports.c.id.label("port_id"), ports.c.interface_name, ports.c.position,
                    networks.c.name.label("network_name"), networks.c.external,
                    ip_allocations.c.ip_address, ip_allocations.c.subnet_id, subnets.c.name.label("subnet_name"),
                    subnets.c.ip_version,
                )
                .select_from(
                    ports.join(networks, networks.c.id == ports.c.network_id)
                    .join(ip_allocations, ip_allocations.c.port_id == ports.c.id)
                    .join(subnets, subnets.c.id == ip_allocations.c.subnet_id)
                )
                .where(ports.c.instance_id.in_(instance_ids))
                .order_by(ports.c.instance_id, ports.c.position, subnets.c.ip_version, ip_allocations.c.ip_address)
            )
        ).all()
    )


async def floating_of_instances(conn: Conn, instance_ids: list[str]) -> list[Any]:
    return list(
        (
            await conn.execute(
                sa.select(ports.c.instance_id, floating_ips.c.id, floating_ips.c.floating_ip_address,
                          floating_ips.c.port_id, floating_ips.c.fixed_ip_address)
                .select_from(floating_ips.join(ports, ports.c.id == floating_ips.c.port_id))
                .where(ports.c.instance_id.in_(instance_ids))
            )
        ).all()
    )


# --- networks (the Networks API) -----------------------------------------------------------


async def list_networks(conn: Conn, scope: Scope, *, owned_only: bool, external: bool | None = None,
                        name: str | None = None, network_type: str | None = None) -> list[Any]:
    where = [_visible_networks(scope)]
    if owned_only:
        where.append(networks.c.project_id == scope.project_id)
    if external is not None:
        where.append(networks.c.external.is_(external))
    if name is not None:
        where.append(networks.c.name == name)
    if network_type is not None:
        where.append(networks.c.type == network_type)
    return list((await conn.execute(sa.select(networks).where(*where)
                                    .order_by(networks.c.created_at, networks.c.id))).all())


async def insert_network(conn: Conn, scope: Scope, **values: Any) -> None:
    now = utcnow()
    await conn.execute(networks.insert().values(project_id=scope.project_id, region_id=scope.region_id,
                                                created_at=now, updated_at=now, **values))


async def get_network_plain(conn: Conn, network_id: str) -> Any:
    """Unscoped read by id, for task handlers acting on an already authorised task."""
    return (await conn.execute(sa.select(networks).where(networks.c.id == network_id))).first()


async def update_network(conn: Conn, network_id: str, **values: Any) -> None:
    await conn.execute(networks.update().where(networks.c.id == network_id).values(updated_at=utcnow(), **values))


async def take_network_lock(conn: Conn, network_id: str, task_id: str) -> bool:
    result = await conn.execute(networks.update().where(networks.c.id == network_id, networks.c.task_id.is_(None))
                                .values(task_id=task_id, updated_at=utcnow()))
    return result.rowcount == 1  # type: ignore[no-any-return]


async def release_network_lock(conn: Conn, network_id: str, task_id: str) -> None:
    await conn.execute(networks.update().where(networks.c.id == network_id, networks.c.task_id == task_id)
                       .values(task_id=None, updated_at=utcnow()))


async def port_count(conn: Conn, network_id: str) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(ports)
                                 .where(ports.c.network_id == network_id)) or 0)


async def delete_network(conn: Conn, network_id: str) -> None:
    """Delete a network with its subnets (the caller made sure no port uses it)."""
    subnet_ids = sa.select(subnets.c.id).where(subnets.c.network_id == network_id).scalar_subquery()
    await conn.execute(ip_allocations.delete().where(ip_allocations.c.subnet_id.in_(subnet_ids)))
    await conn.execute(subnets.delete().where(subnets.c.network_id == network_id))
    await conn.execute(networks.delete().where(networks.c.id == network_id))


async def subnet_ids_of(conn: Conn, network_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {n: [] for n in network_ids}
    if network_ids:
        rows = await conn.execute(sa.select(subnets.c.id, subnets.c.network_id)
                                  .where(subnets.c.network_id.in_(network_ids))
                                  .order_by(subnets.c.created_at, subnets.c.id))
        for r in rows:
            out[r.network_id].append(r.id)
    return out


async def networks_by_ids(conn: Conn, network_ids: list[str]) -> dict[str, Any]:
    if not network_ids:
        return {}
    rows = await conn.execute(sa.select(networks).where(networks.c.id.in_(network_ids)))
    return {r.id: r for r in rows}


async def subnets_of_networks(conn: Conn, network_ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {n: [] for n in network_ids}
    if network_ids:
        rows = await conn.execute(sa.select(subnets).where(subnets.c.network_id.in_(network_ids))
                                  .order_by(subnets.c.created_at, subnets.c.id))
        for r in rows:
            out[r.network_id].append(r)
    return out


# --- ports ---------------------------------------------------------------------------------


async def ports_of_instance(conn: Conn, instance_id: str) -> list[Any]:
    """Every column of the instance's ports, in interface order."""
    return list((await conn.execute(sa.select(ports).where(ports.c.instance_id == instance_id)
                                    .order_by(ports.c.position, ports.c.created_at))).all())


async def next_position(conn: Conn, instance_id: str) -> int:
    top = await conn.scalar(sa.select(sa.func.max(ports.c.position)).where(ports.c.instance_id == instance_id))
    return 0 if top is None else int(top) + 1


async def allocations_of_ports(conn: Conn, port_ids: list[str]) -> dict[str, list[Any]]:
    """Per port: its addresses with their subnet's id, IP version, CIDR and gateway, IPv4 first."""
    out: dict[str, list[Any]] = {p: [] for p in port_ids}
    if port_ids:
        for r in await conn.execute(_ALLOCATIONS_OF_PORTS, {"port_ids": port_ids}):
            out[r.port_id].append(r)
    return out


async def set_port_interface_name(conn: Conn, port_id: str, interface_name: str | None) -> None:
    await conn.execute(ports.update().where(ports.c.id == port_id)
                       .values(interface_name=interface_name, updated_at=utcnow()))


async def list_reserved_ports(conn: Conn, scope: Scope) -> list[Any]:
    return list((await conn.execute(
        sa.select(ports).where(ports.c.project_id == scope.project_id, ports.c.region_id == scope.region_id,
                               ports.c.reserved.is_(True))
        .order_by(ports.c.created_at, ports.c.id)
    )).all())


async def get_port_plain(conn: Conn, port_id: str) -> Any:
    return (await conn.execute(sa.select(ports).where(ports.c.id == port_id))).first()


# --- statements built once (see core/sql.py on hot-path statements) ----------------------------

_INSERT_PORT = prepared(ports.insert())
_EXTERNAL_NETWORK = prepared(sa.select(networks).where(networks.c.region_id == sa.bindparam("region_id"),
                                                      networks.c.external.is_(True))
                            .order_by(networks.c.created_at).limit(1))
_SUBNETS_OF = prepared(sa.select(subnets).where(subnets.c.network_id == sa.bindparam("network_id"))
                      .order_by(subnets.c.created_at, subnets.c.id))
_PORTS_OF_INSTANCE = prepared(sa.select(ports.c.id, ports.c.reserved, ports.c.mac_address, ports.c.network_id)
                             .where(ports.c.instance_id == sa.bindparam("instance_id")).order_by(ports.c.position))
_ALLOCATIONS_OF_PORTS = prepared(
    sa.select(ip_allocations.c.port_id, ip_allocations.c.ip_address, ip_allocations.c.subnet_id,
              subnets.c.ip_version, subnets.c.cidr, subnets.c.gateway_ip)
    .select_from(ip_allocations.join(subnets, subnets.c.id == ip_allocations.c.subnet_id))
    .where(ip_allocations.c.port_id.in_(sa.bindparam("port_ids", expanding=True)))
    .order_by(subnets.c.ip_version, ip_allocations.c.ip_address)
)

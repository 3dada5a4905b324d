"""Floating IP decisions used by instance create and delete."""

from __future__ import annotations

from typing import Any

from cloudlet.core.clock import new_id
from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.floating_ips import repository
from cloudlet.floating_ips.repository import delete, fixed_addresses, ids_of_instance
from cloudlet.networks import ipam
from cloudlet.networks import repository as network_repository

__all__ = ["assign", "create", "delete", "fixed_addresses", "get_free", "ids_of_instance"]


async def get_free(conn: Conn, scope: Scope, fip_id: str | None) -> Any:
    if not fip_id:
        raise ValidationError.for_field("existing_floating_id", "existing_floating_id is required for source "
                                                                "'existing'")
    fip = await repository.get(conn, scope, fip_id)
    if fip is None:
        raise NotFoundError(f"Floating IP {fip_id} could not be found")
    if fip.port_id is not None:
        raise ValidationError.for_field("existing_floating_id", f"Floating IP {fip_id} is already assigned")
    return fip


async def create(conn: Conn, scope: Scope, *, port_id: str | None, fixed_ip: str | None,
                 task_id: str | None) -> str:
    """A new floating IP from the region's external IPv4 subnet, optionally NAT-ing ``port_id``."""
    network = await network_repository.get_external_network(conn, scope.region_id)
    subnets = [s for s in await network_repository.subnets_of(conn, network.id) if s.ip_version == 4] if network else []
    if not subnets:
        raise ValidationError("This region has no external IPv4 subnet for floating IPs")
    fip_id = new_id()
    last_error: Exception | None = None
    for subnet in subnets:
        try:
            address = await ipam.allocate(conn, subnet, floatingip_id=fip_id)
        except ipam.SubnetFullError as exc:
            last_error = exc
            continue
        await repository.insert(conn, scope, id=fip_id, subnet_id=subnet.id, floating_ip_address=address,
                                port_id=port_id, fixed_ip_address=fixed_ip if port_id else None,
                                task_id=None, creator_task_id=task_id)
        return fip_id
    raise ValidationError(f"No floating IP address is left: {last_error}")


async def assign(conn: Conn, fip_id: str, *, port_id: str, fixed_ip: str | None) -> None:
    await repository.set_port(conn, fip_id, port_id=port_id, fixed_ip=fixed_ip)

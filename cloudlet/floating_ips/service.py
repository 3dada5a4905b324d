"""Floating IP decisions: the Floating IPs API, and the parts instance create and delete use."""

from __future__ import annotations

import ipaddress
from typing import Any

from cloudlet.core.clock import new_id
from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ResourceLockedError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.floating_ips import repository
from cloudlet.floating_ips.repository import delete, fixed_addresses, ids_of_instance
from cloudlet.floating_ips.schemas import (
    AssignFloatingIpRequest,
    CreateFloatingIpRequest,
)
from cloudlet.networks import ipam, tags
from cloudlet.networks import repository as network_repository
from cloudlet.quotas import service as quota_service
from cloudlet.tasks.engine import insert_task
from cloudlet.tasks.types import TaskType

__all__ = [
    "assign", "assign_now", "create", "create_task", "delete", "delete_task", "fixed_addresses", "get_free",
    "get_row", "ids_of_instance", "list_rows", "unassign_now",
]


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


# --- the Floating IPs API ------------------------------------------------------------------


async def get_row(conn: Conn, scope: Scope, fip_id: str) -> Any:
    row = await repository.get_row(conn, scope, fip_id)
    if row is None:
        raise NotFoundError(f"Floating IP {fip_id} could not be found")
    return row


async def list_rows(conn: Conn, scope: Scope, *, port_ids: list[str], status: str | None,
                    tag_filter: tags.TagFilter) -> list[Any]:
    rows = await repository.list_rows(conn, scope)
    if port_ids:
        rows = [r for r in rows if r.port_id in set(port_ids)]
    if status is not None:
        rows = [r for r in rows if ("ACTIVE" if r.port_id else "DOWN") == status]
    return [r for r in rows if tag_filter.matches(r.tags)]


async def _target(conn: Conn, scope: Scope, port_id: str, fixed_ip: str | None, *, fip_id: str | None) -> str:
    """Check that the floating IP may NAT ``fixed_ip`` of ``port_id``; returns the fixed address."""
    port = await network_repository.get_port(conn, scope, port_id)
    if port is None:
        raise NotFoundError(f"Port {port_id} could not be found")
    network = await network_repository.get_network(conn, scope, port.network_id)
    if network is not None and network.external:
        raise ValidationError.for_field("port_id", f"Port {port_id} is on the external network; a floating IP "
                                                   f"can only NAT a port of a private network")
    addresses = await fixed_addresses(conn, port_id)
    v4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]
    if fixed_ip is None:
        if not v4:
            raise ValidationError.for_field("port_id", f"Port {port_id} has no IPv4 address")
        fixed_ip = v4[0]
    elif fixed_ip not in v4:
        raise ValidationError.for_field("fixed_ip_address", f"{fixed_ip} is not an IPv4 address of port {port_id}")
    taken = await repository.nat_of(conn, port_id, fixed_ip)
    if taken is not None and taken.id != fip_id:
        raise ValidationError.for_field("fixed_ip_address", f"{fixed_ip} is already NATed by floating IP "
                                                            f"{taken.id}")
    return fixed_ip


async def create_task(conn: Conn, scope: Scope, body: CreateFloatingIpRequest, *, request_id: str) -> str:
    # an empty port_id names no port: 404 like any unknown one (it used to reach the INSERT: a 500)
    fixed = await _target(conn, scope, body.port_id, body.fixed_ip_address, fip_id=None) \
        if body.port_id is not None else None
    if body.fixed_ip_address and not body.port_id:
        raise ValidationError.for_field("fixed_ip_address", "fixed_ip_address needs port_id")
    await quota_service.enforce(conn, scope.client_id, scope.region_id, {"floating_count": 1})
    task_id = new_id()
    fip_id = await create(conn, scope, port_id=body.port_id, fixed_ip=fixed, task_id=task_id)
    await repository.update(conn, fip_id, task_id=task_id,
                            tags=tags.from_map({**(body.metadata or {}), **(body.tags or {})}))
    return await insert_task(
        conn, task_id=task_id, task_type=TaskType.CREATE_FIP, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id, resource_id=fip_id,
        request_id=request_id, data={"floatingip_id": fip_id, "port_id": body.port_id, "fixed_ip_address": fixed},
    )


async def _unlocked(conn: Conn, scope: Scope, fip_id: str) -> Any:
    row = await get_row(conn, scope, fip_id)
    if row.task_id is not None:
        raise ResourceLockedError(f"Floating IP {fip_id} is locked by task {row.task_id}")
    return row


async def delete_task(conn: Conn, scope: Scope, fip_id: str, *, request_id: str) -> str:
    row = await _unlocked(conn, scope, fip_id)
    task_id = new_id()
    if not await repository.take_lock(conn, fip_id, task_id):
        raise ResourceLockedError(f"Floating IP {fip_id} is locked by task {row.task_id}")
    return await insert_task(
        conn, task_id=task_id, task_type=TaskType.DELETE_FIP, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id, resource_id=fip_id,
        request_id=request_id, data={"floatingip_id": fip_id},
    )


async def assign_now(conn: Conn, scope: Scope, fip_id: str, body: AssignFloatingIpRequest) -> None:
    await _unlocked(conn, scope, fip_id)
    fixed = await _target(conn, scope, body.port_id, body.fixed_ip_address, fip_id=fip_id)
    await repository.set_port(conn, fip_id, port_id=body.port_id, fixed_ip=fixed)


async def unassign_now(conn: Conn, scope: Scope, fip_id: str) -> None:
    await _unlocked(conn, scope, fip_id)
    await repository.set_port(conn, fip_id, port_id=None, fixed_ip=None)

"""Reserved fixed IP decisions: a reserved port is made at once (so a full subnet answers 4xx at
once) and reported by its create task; delete is refused while an instance uses the port."""

from __future__ import annotations

import ipaddress
from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.networks import service as network_service
from cloudlet.quotas import service as quota_service
from cloudlet.reserved_fixed_ips import repository
from cloudlet.reserved_fixed_ips.schemas import (
    CreateReservedFixedIpRequest,
    ReservedFixedIp,
)
from cloudlet.tasks.engine import insert_task
from cloudlet.tasks.types import TaskType


async def get_row(conn: Conn, scope: Scope, port_id: str) -> Any:
    row = await repository.get(conn, scope, port_id)
    if row is None:
        raise NotFoundError(f"Reserved fixed IP {port_id} could not be found")
    return row


def _ip_key(item: ReservedFixedIp) -> tuple[int, int]:
    text = item.fixed_ip_address or item.fixed_ipv6_address
    if text is None:
        return (9, 0)
    ip = ipaddress.ip_address(text)
    return (ip.version, int(ip))


ORDER_KEYS = {
    "created_at": lambda i: i.created_at,
    "updated_at": lambda i: i.updated_at,
    "name": lambda i: i.name,
    "status": lambda i: i.status,
    "fixed_ip_address": _ip_key,
}


def select(items: list[ReservedFixedIp], *, available_only: bool, device_id: str | None, external_only: bool,
           internal_only: bool, ip_address: str | None, vip_only: bool, order_by: str) -> list[ReservedFixedIp]:
    """Apply the list filters and order to rendered items."""
    if available_only:
        items = [i for i in items if not i.attachments]
    if device_id is not None:
        items = [i for i in items if i.reservation.resource_id == device_id]
    if external_only:
        items = [i for i in items if i.is_external]
    if internal_only:
        items = [i for i in items if not i.is_external]
    if ip_address is not None:
        items = [i for i in items if ip_address in (i.fixed_ip_address, i.fixed_ipv6_address)]
    if vip_only:
        items = [i for i in items if i.is_vip]
    field, _, direction = order_by.partition(".")
    key = ORDER_KEYS[field]
    return sorted(items, key=lambda i: (key(i), i.port_id), reverse=direction == "desc")


async def create_task(conn: Conn, scope: Scope, body: CreateReservedFixedIpRequest, *, request_id: str) -> str:
    if body.type == "port":
        raise ValidationError.for_field("type", "Reserving the address of an existing port (type 'port') is not "
                                                "available in cloudlet; use external, subnet, any_subnet or "
                                                "ip_address")
    if body.is_vip:
        raise ValidationError.for_field("is_vip", "Virtual IPs (is_vip) are not available in cloudlet")
    plan = await network_service.plan_addresses(
        conn, scope, kind=body.type, field="body", network_id=body.network_id, subnet_id=body.subnet_id,
        ip_family=body.ip_family, ip_address=body.ip_address,
    )
    if plan.network.external:
        await quota_service.enforce(conn, scope.client_id, scope.region_id, {"external_ip_count": 1})
    port_id, addresses = await network_service.create_port(conn, scope, plan, instance_id=None, position=0,
                                                           interface_name=None, reserved=True,
                                                           name="reserved_fixed_ip")
    return await insert_task(
        conn, task_type=TaskType.CREATE_RESERVED_FIXED_IP, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id, resource_id=port_id,
        request_id=request_id,
        data={"port_id": port_id, "type": body.type, "network_id": plan.network.id, "ip_addresses": addresses},
    )


async def delete_task(conn: Conn, scope: Scope, port_id: str, *, request_id: str) -> str:
    row = await get_row(conn, scope, port_id)
    if row.instance_id is not None:
        raise ValidationError(f"Reserved fixed IP {port_id} is attached to instance {row.instance_id}; detach it "
                              f"first")
    return await insert_task(
        conn, task_type=TaskType.DELETE_RESERVED_FIXED_IP, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id, resource_id=port_id,
        request_id=request_id, data={"port_id": port_id},
    )

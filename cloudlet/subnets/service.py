"""Subnet decisions: CIDR and address checks, quota, locks, rows and tasks. Never commits."""

from __future__ import annotations

import ipaddress
from typing import Any

from msgspec import UNSET

from cloudlet.core.clock import new_id
from cloudlet.core.db import Conn
from cloudlet.core.errors import (
    ForbiddenError,
    NotFoundError,
    ResourceLockedError,
    ValidationError,
)
from cloudlet.core.scope import Scope
from cloudlet.networks import ipam, tags
from cloudlet.networks import repository as network_repository
from cloudlet.networks import service as network_service
from cloudlet.quotas import service as quota_service
from cloudlet.subnets import repository
from cloudlet.subnets.schemas import CreateSubnetRequest, Route, UpdateSubnetRequest
from cloudlet.tasks.engine import insert_task
from cloudlet.tasks.types import TaskType

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_PREFIX = {4: 30, 6: 126}  # smaller subnets leave no address for an interface besides the gateway


async def get_subnet_row(conn: Conn, scope: Scope, subnet_id: str) -> Any:
    row = await network_repository.get_subnet(conn, scope, subnet_id)
    if row is None:
        raise NotFoundError(f"Subnet {subnet_id} could not be found")
    return row


async def _owned_subnet(conn: Conn, scope: Scope, subnet_id: str) -> Any:
    row = await get_subnet_row(conn, scope, subnet_id)
    if row.project_id != scope.project_id:
        raise ForbiddenError(f"Subnet {subnet_id} belongs to a shared network and cannot be changed by the project")
    return row


def _cidr(text: str, ip_version: int | None) -> Network:
    try:
        net = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        raise ValidationError.for_field("cidr", f"{text!r} is not a network address in CIDR form ({exc})") from None
    if ip_version is not None and net.version != ip_version:
        raise ValidationError.for_field("ip_version", f"ip_version {ip_version} does not match CIDR {net}")
    if net.prefixlen > MAX_PREFIX[net.version]:
        raise ValidationError.for_field("cidr", f"An IPv{net.version} subnet needs a prefix of at most "
                                                f"/{MAX_PREFIX[net.version]}")
    return net


def _gateway(net: Network, text: str) -> str:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise ValidationError.for_field("gateway_ip", f"{text!r} is not an IP address") from None
    first, last = ipam.usable_bounds(str(net))
    if ip.version != net.version or not first <= int(ip) <= last:
        raise ValidationError.for_field("gateway_ip", f"{ip} is not an assignable address of {net}")
    return str(ip)


def _nameservers(values: list[str] | None) -> list[str]:
    out = []
    for n, text in enumerate(values or ()):
        try:
            out.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise ValidationError.for_field(f"dns_nameservers.{n}", f"{text!r} is not an IP address") from None
    return out


def _routes(values: list[Route] | None) -> list[dict[str, str]]:
    out = []
    for n, route in enumerate(values or ()):
        try:
            destination = ipaddress.ip_network(route.destination, strict=False)
        except ValueError:
            raise ValidationError.for_field(f"host_routes.{n}.destination",
                                            f"{route.destination!r} is not a CIDR") from None
        try:
            nexthop = ipaddress.ip_address(route.nexthop)
        except ValueError:
            raise ValidationError.for_field(f"host_routes.{n}.nexthop", f"{route.nexthop!r} is not an IP address") \
                from None
        if destination.version != nexthop.version:
            raise ValidationError.for_field(f"host_routes.{n}", "destination and nexthop differ in IP version")
        out.append({"destination": str(destination), "nexthop": str(nexthop)})
    return out


ORDER_KEYS = {
    "available_ips": lambda s: s.available_ips or 0,
    "total_ips": lambda s: s.total_ips or 0,
    "cidr": lambda s: (s.ip_version, ipaddress.ip_network(s.cidr)),
    "created_at": lambda s: s.created_at,
    "updated_at": lambda s: s.updated_at,
    "name": lambda s: s.name,
}


def order(items: list[Any], order_by: str) -> list[Any]:
    field, _, direction = order_by.partition(".")
    key = ORDER_KEYS[field]
    return sorted(items, key=lambda s: (key(s), s.id), reverse=direction == "desc")


async def list_subnet_rows(conn: Conn, scope: Scope, *, owned_by: str, network_id: str | None,
                           tag_filter: tags.TagFilter) -> list[Any]:
    rows = await repository.list_subnets(conn, scope, owned_only=owned_by == "project", network_id=network_id)
    return [r for r in rows if tag_filter.matches(r.tags)]


async def create_subnet(conn: Conn, scope: Scope, body: CreateSubnetRequest, *, request_id: str) -> str:
    network = await network_service.owned_network(conn, scope, body.network_id)
    if network.task_id is not None:
        raise ResourceLockedError(f"Network {network.id} is locked by task {network.task_id}")
    net = _cidr(body.cidr, body.ip_version)
    for other in await network_repository.subnets_of(conn, network.id):
        if net.overlaps(ipaddress.ip_network(other.cidr)):  # type: ignore[arg-type]
            raise ValidationError.for_field("cidr", f"{net} overlaps subnet {other.name} ({other.cidr}) of network "
                                                    f"{network.id}")
    connect = body.connect_to_network_router
    if body.gateway_ip is None:
        if connect is not False:
            raise ValidationError.for_field("connect_to_network_router", "must be false when gateway_ip is null")
        gateway = None
    elif body.gateway_ip is UNSET:
        gateway = str(net.network_address + 1)
    else:
        gateway = _gateway(net, body.gateway_ip)  # type: ignore[arg-type]
    if body.router_id_to_connect is not None:
        if connect is False:
            raise ValidationError.for_field("router_id_to_connect", "needs connect_to_network_router true")
        raise NotFoundError(f"Router {body.router_id_to_connect} could not be found")
    await quota_service.enforce(conn, scope.client_id, scope.region_id, {"subnet_count": 1})
    subnet_id, task_id = new_id(), new_id()
    await repository.insert(
        conn, scope, id=subnet_id, network_id=network.id, name=body.name, cidr=str(net), ip_version=net.version,
        gateway_ip=gateway, enable_dhcp=body.enable_dhcp, dns_nameservers=_nameservers(body.dns_nameservers),
        host_routes=_routes(body.host_routes), tags=tags.from_map({**(body.metadata or {}), **(body.tags or {})}),
        task_id=task_id, creator_task_id=task_id,
    )
    return await insert_task(
        conn, task_id=task_id, task_type=TaskType.CREATE_SUBNET, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id,
        resource_id=subnet_id, request_id=request_id,
        data={"subnet_id": subnet_id, "network_id": network.id, "cidr": str(net), "name": body.name},
    )


async def update_subnet(conn: Conn, scope: Scope, subnet_id: str, body: UpdateSubnetRequest) -> None:
    row = await _owned_subnet(conn, scope, subnet_id)
    if row.task_id is not None:
        raise ResourceLockedError(f"Subnet {subnet_id} is locked by task {row.task_id}")
    changes: dict[str, Any] = {}
    if body.name is not None:
        changes["name"] = body.name
    if body.enable_dhcp is not None:
        changes["enable_dhcp"] = body.enable_dhcp
    if body.dns_nameservers is not UNSET:
        changes["dns_nameservers"] = _nameservers(body.dns_nameservers)  # type: ignore[arg-type]
    if body.host_routes is not UNSET:
        changes["host_routes"] = _routes(body.host_routes)  # type: ignore[arg-type]
    if body.gateway_ip is not UNSET:
        gateway = None if body.gateway_ip is None else _gateway(ipaddress.ip_network(row.cidr),
                                                                body.gateway_ip)  # type: ignore[arg-type]
        if gateway is not None and gateway != row.gateway_ip and await repository.is_allocated(conn, row.id, gateway):
            raise ValidationError.for_field("gateway_ip", f"{gateway} is already in use by a port")
        changes["gateway_ip"] = gateway
    if body.tags is not UNSET:
        changes["tags"] = tags.merge_patch(row.tags or [], body.tags)  # type: ignore[arg-type]
    if changes:
        await repository.update(conn, subnet_id, **changes)


async def delete_subnet(conn: Conn, scope: Scope, subnet_id: str, *, request_id: str) -> str:
    row = await _owned_subnet(conn, scope, subnet_id)
    used = (await ipam.used_counts(conn, [subnet_id]))[subnet_id]
    if used:
        raise ValidationError(f"Subnet {subnet_id} has {used} IP address(es) in use: detach the instance "
                              f"interfaces and delete the reserved fixed IPs in it first")
    task_id = new_id()
    if not await repository.take_lock(conn, subnet_id, task_id):
        raise ResourceLockedError(f"Subnet {subnet_id} is locked by task {row.task_id}")
    return await insert_task(
        conn, task_id=task_id, task_type=TaskType.DELETE_SUBNET, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id,
        resource_id=subnet_id, request_id=request_id, data={"subnet_id": subnet_id, "network_id": row.network_id},
    )

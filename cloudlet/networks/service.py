"""Network decisions: validate, check quota and locks, write rows and tasks. Never commits.

Also the port plumbing shared by reserved fixed IPs and instance interfaces: which subnets an
interface of a given type takes its addresses from, and writing a port with those addresses.
"""

from __future__ import annotations

import dataclasses
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
from cloudlet.networks import ipam, repository, tags
from cloudlet.networks.schemas import CreateNetworkRequest, UpdateNetworkRequest
from cloudlet.quotas import service as quota_service
from cloudlet.tasks.engine import insert_task
from cloudlet.tasks.types import TaskType

MTU = {"vxlan": 1450, "vlan": 1500}
ORDERINGS = {
    "created_at.asc": (lambda r: (r.created_at, r.id), False),
    "created_at.desc": (lambda r: (r.created_at, r.id), True),
    "name.asc": (lambda r: (r.name, r.id), False),
    "name.desc": (lambda r: (r.name, r.id), True),
    # shared networks first, then by age
    "priority.desc": (lambda r: (bool(r.shared), r.created_at, r.id), True),
}


async def get_network_row(conn: Conn, scope: Scope, network_id: str) -> Any:
    row = await repository.get_network(conn, scope, network_id)
    if row is None:
        raise NotFoundError(f"Network {network_id} could not be found")
    return row


async def owned_network(conn: Conn, scope: Scope, network_id: str) -> Any:
    """A network the project may change: its own, not a shared (external) one."""
    row = await get_network_row(conn, scope, network_id)
    if row.project_id != scope.project_id:
        raise ForbiddenError(f"Network {network_id} is shared with the project and cannot be changed by it")
    return row


async def list_network_rows(conn: Conn, scope: Scope, *, owned_by: str, external: bool | None, name: str | None,
                            network_type: str | None, tag_filter: tags.TagFilter, order_by: str) -> list[Any]:
    rows = await repository.list_networks(conn, scope, owned_only=owned_by == "project", external=external,
                                          name=name, network_type=network_type)
    rows = [r for r in rows if tag_filter.matches(r.tags)]
    key, reverse = ORDERINGS[order_by]
    return sorted(rows, key=key, reverse=reverse)  # type: ignore[no-any-return]


async def create_network(conn: Conn, scope: Scope, body: CreateNetworkRequest, *, request_id: str) -> str:
    await quota_service.enforce(conn, scope.client_id, scope.region_id, {"network_count": 1})
    network_id, task_id = new_id(), new_id()
    await repository.insert_network(
        conn, scope, id=network_id, name=body.name, external=False, shared=False, type=body.type,
        mtu=MTU[body.type], segmentation_id=None, is_default=None,
        tags=tags.from_map({**(body.metadata or {}), **(body.tags or {})}), task_id=task_id,
        creator_task_id=task_id,
    )
    return await insert_task(
        conn, task_id=task_id, task_type=TaskType.CREATE_NETWORK, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id,
        resource_id=network_id, request_id=request_id,
        data={"network_id": network_id, "name": body.name, "type": body.type, "create_router": body.create_router},
    )


def _changes(row: Any, body: UpdateNetworkRequest) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if body.name is not None and body.name != row.name:
        changes["name"] = body.name
    if body.tags is not UNSET:
        merged = tags.merge_patch(row.tags or [], body.tags)  # type: ignore[arg-type]
        if merged != list(row.tags or []):
            changes["tags"] = merged
    return changes


async def update_network_now(conn: Conn, scope: Scope, network_id: str, body: UpdateNetworkRequest) -> None:
    """The v1 PATCH: applied at once."""
    row = await owned_network(conn, scope, network_id)
    if row.task_id is not None:
        raise ResourceLockedError(f"Network {network_id} is locked by task {row.task_id}")
    changes = _changes(row, body)
    if changes:
        await repository.update_network(conn, network_id, **changes)


async def update_network_task(conn: Conn, scope: Scope, network_id: str, body: UpdateNetworkRequest, *,
                              request_id: str) -> list[str]:
    """The v2 PATCH: a task, or none at all when nothing would change."""
    row = await owned_network(conn, scope, network_id)
    changes = _changes(row, body)
    if not changes:
        return []
    task_id = new_id()
    if not await repository.take_network_lock(conn, network_id, task_id):
        raise ResourceLockedError(f"Network {network_id} is locked by task {row.task_id}")
    return [await insert_task(
        conn, task_id=task_id, task_type=TaskType.UPDATE_NETWORK, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id,
        resource_id=network_id, request_id=request_id, data={"network_id": network_id, "changes": changes},
    )]


async def delete_network(conn: Conn, scope: Scope, network_id: str, *, request_id: str) -> str:
    row = await owned_network(conn, scope, network_id)
    in_use = await repository.port_count(conn, network_id)
    if in_use:
        raise ValidationError(f"Network {network_id} is in use by {in_use} port(s): detach the instance "
                              f"interfaces and delete the reserved fixed IPs in it first")
    task_id = new_id()
    if not await repository.take_network_lock(conn, network_id, task_id):
        raise ResourceLockedError(f"Network {network_id} is locked by task {row.task_id}")
    return await insert_task(
        conn, task_id=task_id, task_type=TaskType.DELETE_NETWORK, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id,
        resource_id=network_id, request_id=request_id, data={"network_id": network_id},
    )


# --- ports: where an interface takes its addresses from -------------------------------------


@dataclasses.dataclass(slots=True)
class AddressPlan:
    """The network of a new port and, per address, the subnet and (optionally) the exact address."""

    network: Any
    subnets: list[tuple[Any, str | None]]


def _family(ip_family: str | None, subnets: list[Any]) -> list[int]:
    family = ip_family or ("ipv4" if any(s.ip_version == 4 for s in subnets) else "ipv6")
    return {"ipv4": [4], "ipv6": [6], "dual": [4, 6]}[family]


async def plan_addresses(conn: Conn, scope: Scope, *, kind: str, field: str, network_id: str | None = None,
                         subnet_id: str | None = None, ip_family: str | None = None, ip_address: str | None = None,
                         prefer: set[str] | frozenset[str] = frozenset()) -> AddressPlan:
    """Resolve an ``external``, ``subnet``, ``any_subnet`` or ``ip_address`` port request.

    ``prefer``: subnets the instance already has an address in (reused when they have room).
    """
    if kind == "external":
        network = await repository.get_external_network(conn, scope.region_id)
        if network is None:
            raise ValidationError.for_field(field, "This region has no external network")
        subnets = await repository.subnets_of(conn, network.id)
        chosen = [await ipam.pick_subnet(conn, subnets, family=f, field=field, prefer=prefer)
                  for f in _family(ip_family, subnets)]
        return AddressPlan(network, [(s, None) for s in chosen])
    if kind == "subnet":
        if not subnet_id:
            raise ValidationError.for_field(f"{field}.subnet_id", "subnet_id is required for type 'subnet'")
        subnet = await repository.get_subnet(conn, scope, subnet_id)
        if subnet is None or (network_id is not None and subnet.network_id != network_id):
            raise NotFoundError(f"Subnet {subnet_id} could not be found")
        network = await repository.get_network(conn, scope, subnet.network_id)
        used = (await ipam.used_counts(conn, [subnet.id]))[subnet.id]
        if ipam.capacity(subnet.cidr, subnet.gateway_ip) - used <= 0:
            raise ipam.SubnetFullError(f"Subnet {subnet.id} ({subnet.cidr}) has no free IP address left")
        return AddressPlan(network, [(subnet, None)])
    if not network_id:
        raise ValidationError.for_field(f"{field}.network_id", f"network_id is required for type '{kind}'")
    network = await get_network_row(conn, scope, network_id)
    subnets = await repository.subnets_of(conn, network.id)
    if kind == "ip_address" or ip_address:
        if not ip_address:
            raise ValidationError.for_field(f"{field}.ip_address", "ip_address is required for type 'ip_address'")
        try:
            wanted = ipaddress.ip_address(ip_address)
        except ValueError:
            raise ValidationError.for_field(f"{field}.ip_address", f"{ip_address!r} is not an IP address") from None
        inside = [s for s in subnets if wanted in ipaddress.ip_network(s.cidr)]
        if not inside:
            raise ValidationError.for_field(f"{field}.ip_address", f"{ip_address} is in no subnet of network "
                                                                   f"{network.id}")
        ipam.check_address(inside[0].cidr, inside[0].gateway_ip, str(wanted))
        return AddressPlan(network, [(inside[0], str(wanted))])
    if not subnets:
        raise ValidationError.for_field(f"{field}.network_id", f"Network {network.id} has no subnet")
    chosen = [await ipam.pick_subnet(conn, subnets, family=f, field=field, prefer=prefer)
              for f in _family(ip_family, subnets)]
    return AddressPlan(network, [(s, None) for s in chosen])


def mac_for(port_id: str) -> str:
    raw = port_id.replace("-", "")[:10]
    return "fa:" + ":".join(raw[i:i + 2] for i in range(0, 10, 2))


async def create_port(conn: Conn, scope: Scope, plan: AddressPlan, *, instance_id: str | None, position: int,
                      interface_name: str | None, reserved: bool, name: str | None = None) -> tuple[str, list[str]]:
    """Write a port with its addresses; returns the port id and the addresses (IPv4 first)."""
    port_id = new_id()
    await repository.insert_port(
        conn, scope, port_id=port_id, network_id=plan.network.id, instance_id=instance_id, position=position,
        name=name or f"port-{port_id[:8]}", mac_address=mac_for(port_id), interface_name=interface_name,
        reserved=reserved,
    )
    addresses = [await ipam.allocate(conn, subnet, port_id=port_id, address=address)
                 for subnet, address in plan.subnets]
    return port_id, addresses

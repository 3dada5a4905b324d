"""Instance network decisions: interfaces, ports and their security groups, attach/detach, and
placement group membership. Validates, checks state and lock, writes rows and tasks; never commits.

Attach writes the new port and its addresses with the request (so a full subnet or an exhausted
quota answers 4xx at once); the ``attach_vm_interface`` task then plugs it into the guest and
removes it again if that fails.
"""

from __future__ import annotations

from typing import Any

from cloudlet.core.clock import new_id
from cloudlet.compute.base import DriverInfo
from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ResourceLockedError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.floating_ips import repository as floating_repository
from cloudlet.floating_ips import service as floating_service
from cloudlet.floating_ips.views import fip_out
from cloudlet.instances import repository
from cloudlet.instances.interface_schemas import (
    AttachInterfaceRequest,
    DetachInterfaceRequest,
    IdName,
    InstanceInterface,
    IpAssignment,
    NetworkDetails,
    PortSecurityGroups,
    PutIntoServerGroupRequest,
    SecurityGroupsChange,
)
from cloudlet.instances.states import Transition, check_allowed, check_supported
from cloudlet.networks import repository as network_repository
from cloudlet.networks import service as network_service
from cloudlet.networks.schemas import tags_out
from cloudlet.quotas import service as quota_service
from cloudlet.security_groups import repository as sg_repository
from cloudlet.security_groups import service as sg_service
from cloudlet.servergroups import repository as servergroup_repository
from cloudlet.subnets import views as subnet_views
from cloudlet.tasks.engine import insert_task


async def _instance(conn: Conn, scope: Scope, instance_id: str) -> Any:
    row = await repository.get_row(conn, scope, instance_id)
    if row is None:
        raise NotFoundError(f"Instance {instance_id} could not be found")
    return row


def _unlocked(row: Any) -> None:
    if row.task_id is not None:
        raise ResourceLockedError(f"Instance {row.id} is locked by task {row.task_id}")


async def _start_task(conn: Conn, scope: Scope, row: Any, transition: Transition, *, request_id: str,
                      data: dict[str, Any], on_host: bool = False) -> str:
    """Take the instance's lock and write the task, in the caller's transaction. ``on_host``: the
    task calls the driver, so it goes to a worker serving the instance's hypervisor."""
    task_id = new_id()
    if not await repository.take_lock(conn, scope, row.id, task_id=task_id, task_state=transition.task_state,
                                      vm_state=row.vm_state):
        raise ResourceLockedError(f"Instance {row.id} is locked by another task")
    return await insert_task(
        conn, task_id=task_id, task_type=transition.task_type, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id, resource_id=row.id,
        request_id=request_id, host=row.host if on_host else None, data={"instance_id": row.id, **data},
    )


# --- reads ---------------------------------------------------------------------------------


async def list_interfaces(conn: Conn, scope: Scope, instance_id: str) -> list[InstanceInterface]:
    await _instance(conn, scope, instance_id)
    ports = await network_repository.ports_of_instance(conn, instance_id)
    port_ids = [p.id for p in ports]
    network_ids = sorted({p.network_id for p in ports})
    networks = await network_repository.networks_by_ids(conn, network_ids)
    subnet_rows = await network_repository.subnets_of_networks(conn, network_ids)
    all_subnets = [s for rows in subnet_rows.values() for s in rows]
    rendered = dict(zip([s.id for s in all_subnets], await subnet_views.render(conn, scope, all_subnets),
                        strict=True))
    allocations = await network_repository.allocations_of_ports(conn, port_ids)
    floating = await floating_repository.of_ports(conn, port_ids)
    details = {}
    for network_id, n in networks.items():
        details[network_id] = NetworkDetails(
            id=n.id, name=n.name, created_at=n.created_at, updated_at=n.updated_at,
            creator_task_id=n.creator_task_id, task_id=n.task_id, default=n.is_default, external=n.external,
            shared=n.shared, mtu=n.mtu, port_security_enabled=True, segmentation_id=n.segmentation_id, type=n.type,
            subnets=[rendered[s.id] for s in subnet_rows[network_id]], tags=tags_out(n.tags),
            project_id=n.project_id, region=scope.region_name, region_id=n.region_id,
        )
    return [
        InstanceInterface(
            port_id=p.id, mac_address=p.mac_address, network_id=p.network_id,
            port_security_enabled=p.port_security_enabled, interface_name=p.interface_name,
            ip_assignments=[IpAssignment(ip_address=a.ip_address, subnet_id=a.subnet_id) for a in allocations[p.id]],
            network_details=details[p.network_id],
            floatingip_details=[fip_out(f, scope) for f in floating[p.id]], allowed_address_pairs=[],
        )
        for p in ports
    ]


async def list_ports(conn: Conn, scope: Scope, instance_id: str) -> list[PortSecurityGroups]:
    await _instance(conn, scope, instance_id)
    ports = await network_repository.ports_of_instance(conn, instance_id)
    groups = await sg_repository.groups_of_ports(conn, [p.id for p in ports])
    return [PortSecurityGroups(id=p.id, name=p.name, security_groups=[IdName(id=g.id, name=g.name)
                                                                      for g in groups[p.id]]) for p in ports]


async def list_security_groups(conn: Conn, scope: Scope, instance_id: str) -> list[IdName]:
    """The union of the groups on the instance's ports, in name order."""
    seen: dict[str, IdName] = {}
    for port in await list_ports(conn, scope, instance_id):
        for g in port.security_groups:
            seen.setdefault(g.id, g)
    return sorted(seen.values(), key=lambda g: (g.name, g.id))


# --- security groups by name (synchronous) --------------------------------------------------


async def change_security_groups(conn: Conn, scope: Scope, instance_id: str, body: SecurityGroupsChange, *,
                                 add: bool) -> None:
    """addsecuritygroup / delsecuritygroup: ``name`` applies to every port; ``port_id: null`` too."""
    row = await _instance(conn, scope, instance_id)
    _unlocked(row)
    if body.name is None and not body.ports_security_group_names:
        raise ValidationError.for_field("name", "Give name or ports_security_group_names")
    ports = [p.id for p in await network_repository.ports_of_instance(conn, instance_id)]
    changes: list[tuple[list[str], list[str]]] = []
    if body.name is not None:
        changes.append((ports, [body.name]))
    for item in body.ports_security_group_names or ():
        if item.port_id is not None and item.port_id not in ports:
            raise NotFoundError(f"Port {item.port_id} is not an interface of instance {instance_id}")
        changes.append((ports if item.port_id is None else [item.port_id], list(item.security_group_names)))
    names = sorted({n for _, group_names in changes for n in group_names})
    by_name: dict[str, list[str]] = {}
    for g in await sg_repository.groups_by_names(conn, scope, names):
        by_name.setdefault(g.name, []).append(g.id)
    missing = [n for n in names if n not in by_name]
    if missing:
        raise NotFoundError(f"Security group {missing[0]} could not be found")
    if add:
        ambiguous = [n for n in names if len(by_name[n]) > 1]
        if ambiguous:
            raise ValidationError.for_field("name", f"Several security groups are named {ambiguous[0]!r}; "
                                                    f"rename one of them")
    current = await sg_repository.groups_of_ports(conn, ports)
    for targets, group_names in changes:
        group_ids = [gid for n in group_names for gid in by_name[n]]
        for port_id in targets:
            have = {g.id for g in current[port_id]}
            if add:
                new = [g for g in dict.fromkeys(group_ids) if g not in have]
                await sg_repository.attach_to_port(conn, port_id, new)
                current[port_id] = [*current[port_id], *[IdName(id=g, name="") for g in new]]
            else:
                await sg_repository.detach_from_port(conn, port_id, [g for g in group_ids if g in have])
    await repository.touch(conn, instance_id)


# --- attach / detach (tasks) ---------------------------------------------------------------


async def _group_ids(conn: Conn, scope: Scope, body: AttachInterfaceRequest) -> list[str]:
    wanted = [g.id for g in body.security_groups or ()]
    if wanted:
        return await sg_service.resolve_ids(conn, scope, wanted)
    return [await sg_service.ensure_default_group(conn, project_id=scope.project_id, region_id=scope.region_id)]


async def attach_interface(conn: Conn, scope: Scope, instance_id: str, body: AttachInterfaceRequest, *,
                           request_id: str, driver: DriverInfo) -> str:
    row = await _instance(conn, scope, instance_id)
    check_supported("attach_interface", driver)
    transition = check_allowed("attach_interface", instance_id, row.vm_state)
    _unlocked(row)
    if body.ddos_profile is not None:
        raise ValidationError.for_field("ddos_profile", "DDoS protection profiles are not available in cloudlet")
    position = await network_repository.next_position(conn, instance_id)
    if body.type == "reserved_fixed_ip":
        if not body.port_id:
            raise ValidationError.for_field("port_id", "port_id is required for type 'reserved_fixed_ip'")
        port = await network_repository.get_port(conn, scope, body.port_id)
        if port is None or not port.reserved:
            raise NotFoundError(f"Reserved fixed IP {body.port_id} could not be found")
        if port.instance_id is not None:
            raise ValidationError.for_field("port_id", f"Reserved fixed IP {port.id} is already attached to "
                                                       f"instance {port.instance_id}")
        current = {g.id for g in (await sg_repository.groups_of_ports(conn, [port.id]))[port.id]}
        if body.security_groups or not current:
            group_ids = await _group_ids(conn, scope, body)
            await sg_repository.detach_from_port(conn, port.id, [g for g in current if g not in group_ids])
            await sg_repository.attach_to_port(conn, port.id, [g for g in group_ids if g not in current])
        await network_repository.bind_port(conn, port.id, instance_id=instance_id, position=position,
                                           interface_name=body.interface_name)
        port_id, reserved = port.id, True
    else:
        group_ids = await _group_ids(conn, scope, body)
        in_use = {a.subnet_id for a in await network_repository.addresses_of_instances(conn, [instance_id])}
        plan = await network_service.plan_addresses(
            conn, scope, kind=body.type, field="body", network_id=body.network_id, subnet_id=body.subnet_id,
            ip_family=body.ip_family, prefer=in_use,
        )
        if plan.network.external:
            await quota_service.enforce(conn, scope.client_id, scope.region_id, {"external_ip_count": 1})
        port_id, _ = await network_service.create_port(conn, scope, plan, instance_id=instance_id,
                                                       position=position, interface_name=body.interface_name,
                                                       reserved=False)
        await sg_repository.attach_to_port(conn, port_id, group_ids)
        reserved = False
    return await _start_task(conn, scope, row, transition, request_id=request_id,
                             data={"port_id": port_id, "reserved": reserved, "type": body.type}, on_host=True)


async def detach_interface(conn: Conn, scope: Scope, instance_id: str, body: DetachInterfaceRequest, *,
                           request_id: str, driver: DriverInfo) -> str:
    row = await _instance(conn, scope, instance_id)
    check_supported("detach_interface", driver)
    transition = check_allowed("detach_interface", instance_id, row.vm_state)
    _unlocked(row)
    port = await network_repository.get_port(conn, scope, body.port_id)
    if port is None or port.instance_id != instance_id:
        raise NotFoundError(f"Port {body.port_id} is not an interface of instance {instance_id}")
    if body.ip_address not in await floating_service.fixed_addresses(conn, port.id):
        raise ValidationError.for_field("ip_address", f"{body.ip_address} is not an address of port {port.id}")
    return await _start_task(conn, scope, row, transition, request_id=request_id,
                             data={"port_id": port.id, "ip_address": body.ip_address, "reserved": port.reserved},
                             on_host=True)


# --- placement groups (tasks) --------------------------------------------------------------


async def put_into_servergroup(conn: Conn, scope: Scope, instance_id: str, body: PutIntoServerGroupRequest, *,
                               request_id: str) -> str:
    row = await _instance(conn, scope, instance_id)
    group = await servergroup_repository.get(conn, scope, body.servergroup_id)
    if group is None:
        raise NotFoundError(f"Server group {body.servergroup_id} could not be found")
    if row.servergroup_id is not None:
        raise ValidationError.for_field("servergroup_id", f"Instance {instance_id} is already in server group "
                                                          f"{row.servergroup_id}; remove it from that group first")
    transition = check_allowed("put_into_servergroup", instance_id, row.vm_state)
    _unlocked(row)
    return await _start_task(conn, scope, row, transition, request_id=request_id,
                             data={"servergroup_id": group.id, "policy": group.policy})


async def remove_from_servergroup(conn: Conn, scope: Scope, instance_id: str, *, request_id: str) -> str:
    row = await _instance(conn, scope, instance_id)
    if row.servergroup_id is None:
        raise ValidationError(f"Instance {instance_id} is not in a server group")
    transition = check_allowed("remove_from_servergroup", instance_id, row.vm_state)
    _unlocked(row)
    return await _start_task(conn, scope, row, transition, request_id=request_id,
                             data={"servergroup_id": row.servergroup_id})

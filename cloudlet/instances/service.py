"""Instance decisions: validate, check state and quota, write rows and tasks. Never commits.

Create is a workflow across groups (volumes, ports and addresses, security groups, floating IPs):
everything it decides is written in the caller's one transaction together with the task rows, so
a request either leaves a complete BUILD instance with its task or nothing at all.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cloudlet.apptemplates import service as apptemplate_service
from cloudlet.core.clock import new_id, utcnow
from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ResourceLockedError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.flavors import repository as flavor_repository
from cloudlet.floating_ips import service as floating_service
from cloudlet.images import repository as image_repository
from cloudlet.instances import naming, repository
from cloudlet.instances.repository import InstanceFilters
from cloudlet.instances.schemas import (
    CreateInstanceRequest,
    InterfaceRequest,
    UpdateInstanceRequest,
    VolumeRequest,
)
from cloudlet.instances.states import VmState, check_allowed
from cloudlet.instances.tag_rules import check_count, check_items
from cloudlet.naming import service as naming_service
from cloudlet.networks import repository as network_repository
from cloudlet.networks import service as network_service
from cloudlet.quotas import service as quota_service
from cloudlet.security_groups import repository as sg_repository
from cloudlet.security_groups import service as sg_service
from cloudlet.servergroups import repository as servergroup_repository
from cloudlet.ssh_keys import repository as ssh_key_repository
from cloudlet.tasks.engine import insert_task
from cloudlet.tasks.types import TaskType
from cloudlet.volumes import repository as volume_repository

DEVICE_NAMES = [f"/dev/vd{chr(ord('a') + i)}" for i in range(26)]


@dataclasses.dataclass(slots=True)
class VolumePlan:
    request: VolumeRequest
    size: int
    bootable: bool
    boot_index: int | None
    image: Any = None
    existing: Any = None


@dataclasses.dataclass(slots=True)
class InterfacePlan:
    request: InterfaceRequest
    addresses: network_service.AddressPlan | None  # a new port's network and subnets (None: a reserved fixed IP's port)
    security_group_ids: list[str]
    reserved_port: Any = None
    existing_floating: Any = None


@dataclasses.dataclass(slots=True)
class Naming:
    names: list[str | None]
    templates: list[str | None]


# --- reads ---------------------------------------------------------------------------------


async def get_instance_row(conn: Conn, scope: Scope, instance_id: str) -> Any:
    row = await repository.get_row(conn, scope, instance_id)
    if row is None:
        raise NotFoundError(f"Instance {instance_id} could not be found")
    return row


async def list_instance_rows(conn: Conn, scope: Scope, filters: InstanceFilters, *, order_by: str, limit: int,
                             offset: int) -> tuple[list[Any], int]:
    return await repository.list_rows(conn, scope, filters, order_by=order_by, limit=limit, offset=offset)


# --- create --------------------------------------------------------------------------------


def _naming(body: CreateInstanceRequest) -> Naming:
    modes = [m for m in ("name", "name_template", "names", "name_templates") if getattr(body, m) is not None]
    if len(modes) > 1:
        raise ValidationError.for_field(modes[1], f"Use only one of name, name_template, names, name_templates "
                                                  f"(got {', '.join(modes)})")
    if body.names is not None:
        return Naming(names=list(body.names), templates=[None] * len(body.names))
    if body.name_templates is not None:
        for t in body.name_templates:
            naming.check_template(t)
        return Naming(names=[None] * len(body.name_templates), templates=list(body.name_templates))
    if body.name_template is not None:
        naming.check_template(body.name_template)
        return Naming(names=[None], templates=[body.name_template])
    return Naming(names=[body.name], templates=[None])


async def _plan_volumes(conn: Conn, scope: Scope, body: CreateInstanceRequest, flavor: Any,
                        count: int) -> tuple[list[VolumePlan], str]:
    """Check every volume of the request; returns the plans and the instance's OS type."""
    plans: list[VolumePlan] = []
    seen_existing: set[str] = set()
    for n, v in enumerate(body.volumes):
        field = f"volumes.{n}"
        if v.source == "image":
            if not v.image_id:
                raise ValidationError.for_field(f"{field}.image_id", "image_id is required for source 'image'")
            image = await image_repository.get(conn, scope, v.image_id)
            if image is None:
                raise NotFoundError(f"Image {v.image_id} could not be found")
            size = v.size if v.size is not None else max(image.min_disk, flavor.disk)
            if size < image.min_disk:
                raise ValidationError.for_field(f"{field}.size", f"Image {image.name} needs a volume of at least "
                                                                 f"{image.min_disk} GiB")
            if flavor.ram < image.min_ram:
                raise ValidationError.for_field("flavor", f"Image {image.name} needs at least {image.min_ram} MiB "
                                                          f"of RAM; flavor {flavor.id} has {flavor.ram}")
            plans.append(VolumePlan(v, size, True, v.boot_index, image=image))
        elif v.source == "new-volume":
            if v.size is None:
                raise ValidationError.for_field(f"{field}.size", "size is required for source 'new-volume'")
            plans.append(VolumePlan(v, v.size, False, v.boot_index if v.boot_index is not None else None))
        elif v.source == "existing-volume":
            if not v.volume_id:
                raise ValidationError.for_field(f"{field}.volume_id", "volume_id is required for source "
                                                                      "'existing-volume'")
            if count > 1:
                raise ValidationError.for_field(field, "An existing volume can be attached to one instance only")
            if v.volume_id in seen_existing:
                raise ValidationError.for_field(field, f"Volume {v.volume_id} is listed twice")
            seen_existing.add(v.volume_id)
            existing = await volume_repository.get(conn, scope, v.volume_id)
            if existing is None:
                raise NotFoundError(f"Volume {v.volume_id} could not be found")
            if existing.instance_id is not None or existing.task_id is not None or existing.status != "available":
                raise ValidationError.for_field(field, f"Volume {v.volume_id} is not available "
                                                       f"(status {existing.status})")
            if v.size is not None and v.size != existing.size:
                raise ValidationError.for_field(f"{field}.size", "size must equal the existing volume's size")
            plans.append(VolumePlan(v, existing.size, existing.bootable, v.boot_index, existing=existing))
        elif v.source == "snapshot":
            raise ValidationError.for_field(f"{field}.source", "Volume snapshots are not available in cloudlet yet; "
                                                               "use source 'image', 'new-volume' or 'existing-volume'")
        else:  # apptemplate: an image volume built from the template's image
            image, size = await apptemplate_service.plan_volume(
                conn, scope, apptemplate_id=v.apptemplate_id, size=v.size, flavor=flavor,
                configuration=body.configuration, field=field)
            plans.append(VolumePlan(v, size, True, v.boot_index, image=image))
    boot = [p for p in plans if p.boot_index == 0]
    if len(boot) > 1:
        raise ValidationError.for_field("volumes", "Only one volume may have boot_index 0")
    if not boot:
        first_bootable = next((p for p in plans if p.bootable and p.boot_index is None), None)
        if first_bootable is None:
            raise ValidationError.for_field("volumes", "A bootable volume is required: an 'image' volume or an "
                                                       "existing bootable volume")
        first_bootable.boot_index = 0
        boot = [first_bootable]
    boot_plan = boot[0]
    if not boot_plan.bootable:
        raise ValidationError.for_field("volumes", "The boot volume (boot_index 0) must be bootable")
    if boot_plan.image is not None:
        os_type = boot_plan.image.os_type
    else:
        os_type = (boot_plan.existing.image_metadata or {}).get("os_type", flavor.os_type)
    return plans, os_type


async def _plan_interfaces(conn: Conn, scope: Scope, body: CreateInstanceRequest, count: int) -> list[InterfacePlan]:
    top_groups = [g.id for g in body.security_groups or []]
    if top_groups and any(i.security_groups for i in body.interfaces):
        raise ValidationError.for_field("security_groups", "Give security groups either for the whole instance "
                                                           "or per interface, not both")
    default_group: list[str] | None = None
    plans: list[InterfacePlan] = []
    for n, i in enumerate(body.interfaces):
        field = f"interfaces.{n}"
        group_ids = [g.id for g in i.security_groups or []] or top_groups
        if group_ids:
            group_ids = await sg_service.resolve_ids(conn, scope, group_ids)
        else:
            if default_group is None:
                default_group = [await sg_service.ensure_default_group(conn, project_id=scope.project_id,
                                                                       region_id=scope.region_id)]
            group_ids = default_group
        reserved_port = addresses = None
        if i.type == "reserved_fixed_ip":
            if not i.port_id:
                raise ValidationError.for_field(field, "port_id is required for type 'reserved_fixed_ip'")
            if count > 1:
                raise ValidationError.for_field(field, "A reserved fixed IP can be used by one instance only")
            reserved_port = await network_repository.get_port(conn, scope, i.port_id)
            if reserved_port is None or not reserved_port.reserved:
                raise NotFoundError(f"Reserved fixed IP {i.port_id} could not be found")
            if reserved_port.instance_id is not None:
                raise ValidationError.for_field(field, f"Reserved fixed IP {i.port_id} is already in use")
        else:
            if i.type != "external" and not i.network_id:
                raise ValidationError.for_field(f"{field}.network_id", f"network_id is required for type '{i.type}'")
            addresses = await network_service.plan_addresses(
                conn, scope, kind=i.type, field=field, network_id=i.network_id, subnet_id=i.subnet_id,
                ip_family=i.ip_family, ip_address=i.ip_address if i.type == "any_subnet" else None)
        existing_floating = None
        if i.floating_ip is not None:
            if i.type == "external":
                raise ValidationError.for_field(f"{field}.floating_ip", "An external interface cannot take a "
                                                                        "floating IP")
            if i.floating_ip.source == "existing":
                if count > 1:
                    raise ValidationError.for_field(f"{field}.floating_ip", "An existing floating IP can be used "
                                                                            "by one instance only")
                existing_floating = await floating_service.get_free(conn, scope, i.floating_ip.existing_floating_id)
        plans.append(InterfacePlan(i, addresses, group_ids, reserved_port=reserved_port,
                                   existing_floating=existing_floating))
    return plans


async def create_instances(conn: Conn, scope: Scope, body: CreateInstanceRequest, *, request_id: str) -> list[str]:
    """Write BUILD instances with their volumes, ports and tasks; returns the task ids (one per instance)."""
    flavor = await flavor_repository.get(conn, scope.region_id, body.flavor)
    if flavor is None:
        raise NotFoundError(f"Flavor {body.flavor} could not be found")
    if flavor.disabled:
        raise ValidationError.for_field("flavor", f"Flavor {body.flavor} is disabled in this region")
    plan_names = _naming(body)
    count = len(plan_names.names)
    volumes, os_type = await _plan_volumes(conn, scope, body, flavor, count)
    await naming_service.check_create_names(conn, scope, names=plan_names.names, templates=plan_names.templates,
                                            os_type=os_type)
    if os_type == "windows" and flavor.os_type != "windows":
        raise ValidationError.for_field("flavor", f"Windows needs a Windows flavor (g1w-*); {flavor.id} is not one")
    if os_type != "windows" and flavor.os_type == "windows":
        raise ValidationError.for_field("flavor", f"Flavor {flavor.id} is for Windows images only")
    if os_type == "windows" and body.username:
        raise ValidationError.for_field("username", "username cannot be set for Windows instances")
    key_name = body.ssh_key_name or body.keypair_name
    if key_name is not None:
        if os_type == "windows":
            raise ValidationError.for_field("ssh_key_name", "SSH keys cannot be used with Windows images")
        if await ssh_key_repository.get_by_name(conn, scope.project_id, key_name) is None:
            raise NotFoundError(f"SSH key {key_name} could not be found")
    servergroup = None
    if body.servergroup_id:
        servergroup = await servergroup_repository.get(conn, scope, body.servergroup_id)
        if servergroup is None:
            raise NotFoundError(f"Server group {body.servergroup_id} could not be found")
    interfaces = await _plan_interfaces(conn, scope, body, count)
    await quota_service.enforce(conn, scope.client_id, scope.region_id,
                                quota_service.instance_request(
                                    flavor=flavor, count=count,
                                    new_volume_sizes=[p.size for p in volumes if p.existing is None],
                                    external_interfaces=sum(1 for i in interfaces if i.request.type == "external"),
                                    new_floating_ips=sum(1 for i in interfaces if i.request.floating_ip is not None
                                                         and i.request.floating_ip.source == "new")))

    tags = check_items({**(body.metadata or {}), **(body.tags or {})})
    check_count(set(tags))
    secrets = {k: v for k, v in (("password", body.password), ("username", body.username),
                                 ("user_data", body.user_data)) if v is not None} or None
    task_ids = []
    for index in range(count):
        instance_id, task_id = new_id(), new_id()
        now = utcnow()
        await repository.insert(conn, {
            "id": instance_id, "project_id": scope.project_id, "region_id": scope.region_id,
            "name": plan_names.names[index] or f"instance-{instance_id[:8]}", "description": None,
            "flavor_id": flavor.id, "vcpus": flavor.vcpus, "ram": flavor.ram, "os_type": os_type,
            "vm_state": VmState.BUILDING, "task_state": "scheduling", "ssh_key_name": key_name, "host": None,
            "servergroup_id": servergroup.id if servergroup else None, "isolation_reason": None,
            "boot_secrets": secrets, "created_at": now, "updated_at": now, "task_id": task_id,
            "creator_task_id": task_id,
        })
        volume_ids = await _write_volumes(conn, scope, volumes, instance_id=instance_id, task_id=task_id)
        port_ids, fip_ids, first_ipv4 = await _write_ports(conn, scope, interfaces, instance_id=instance_id,
                                                           task_id=task_id)
        template = plan_names.templates[index]
        if template is not None:
            await repository.rename(conn, instance_id, naming.render(template, first_ipv4))
        await repository.insert_new_tags(conn, instance_id, tags)
        await apptemplate_service.apply_to_instance(conn, scope, instance_id=instance_id, volumes=body.volumes,
                                                    configuration=body.configuration,
                                                    allow_app_ports=body.allow_app_ports)
        task_ids.append(
            await insert_task(
                conn, task_id=task_id, task_type=TaskType.CREATE_VM, user_id=scope.principal.user_id,
                client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id,
                resource_id=instance_id, request_id=request_id,
                data={
                    "instance_id": instance_id, "name": plan_names.names[index], "name_template": template,
                    "flavor": flavor.id, "volumes": volume_ids, "ports": port_ids, "floatingips": fip_ids,
                    "keypair_name": key_name, "servergroup_id": body.servergroup_id,
                    "image_id": next((p.image.id for p in volumes if p.image is not None), None),
                },
            )
        )
    return task_ids


async def _write_volumes(conn: Conn, scope: Scope, plans: list[VolumePlan], *, instance_id: str,
                         task_id: str) -> list[str]:
    ordered = sorted(plans, key=lambda p: (p.boot_index != 0, p.boot_index is None, p.boot_index or 0))
    ids = []
    for n, p in enumerate(ordered):
        v = p.request
        if p.existing is not None:
            await volume_repository.attach(conn, p.existing.id, instance_id=instance_id, device=DEVICE_NAMES[n],
                                           boot_index=p.boot_index, delete_on_termination=bool(v.delete_on_termination),
                                           attachment_tag=v.attachment_tag, status="reserved")
            ids.append(p.existing.id)
            continue
        volume_id = new_id()
        image = p.image
        await volume_repository.insert(
            conn, scope, id=volume_id, name=v.name or f"volume-{volume_id[:8]}", size=p.size,
            volume_type=v.type_name or "standard", status="creating", bootable=p.bootable,
            image_id=image.id if image is not None else None, snapshot_id=None,
            image_metadata={"image_id": image.id, "image_name": image.name, "os_distro": image.os_distro,
                            "os_version": image.os_version, "os_type": image.os_type} if image is not None else None,
            instance_id=instance_id, boot_index=p.boot_index, delete_on_termination=bool(v.delete_on_termination),
            attachment_tag=v.attachment_tag, device=DEVICE_NAMES[n], attached_at=None,
            tags=[{"key": k, "value": val, "read_only": False} for k, val in {**(v.metadata or {}),
                                                                            **(v.tags or {})}.items()],
            task_id=None, creator_task_id=task_id,
        )
        ids.append(volume_id)
    return ids


async def _write_ports(conn: Conn, scope: Scope, plans: list[InterfacePlan], *, instance_id: str,
                       task_id: str) -> tuple[list[str], list[str], str | None]:
    port_ids: list[str] = []
    fip_ids: list[str] = []
    first_ipv4: str | None = None
    for position, plan in enumerate(plans):
        i = plan.request
        if plan.reserved_port is not None:
            port_id = plan.reserved_port.id
            await network_repository.bind_port(conn, port_id, instance_id=instance_id, position=position,
                                               interface_name=i.interface_name)
            held = {g.id for g in (await sg_repository.groups_of_ports(conn, [port_id])).get(port_id, [])}
            await sg_repository.attach_to_port(conn, port_id, [g for g in plan.security_group_ids if g not in held])
            addresses = await floating_service.fixed_addresses(conn, port_id)
        else:
            assert plan.addresses is not None
            port_id, addresses = await network_service.create_port(
                conn, scope, plan.addresses, instance_id=instance_id, position=position,
                interface_name=i.interface_name, reserved=False)
            await sg_repository.attach_to_port(conn, port_id, plan.security_group_ids)
            port_ids.append(port_id)
        if first_ipv4 is None:
            first_ipv4 = next((a for a in addresses if ":" not in a), None)
        if i.floating_ip is not None:
            fixed = next((a for a in addresses if ":" not in a), addresses[0] if addresses else None)
            if plan.existing_floating is not None:
                await floating_service.assign(conn, plan.existing_floating.id, port_id=port_id, fixed_ip=fixed)
            else:
                fip_ids.append(await floating_service.create(conn, scope, port_id=port_id, fixed_ip=fixed,
                                                             task_id=task_id))
    return port_ids, fip_ids, first_ipv4


# --- synchronous updates -------------------------------------------------------------------


async def _lock_free(conn: Conn, scope: Scope, instance_id: str) -> Any:
    row = await get_instance_row(conn, scope, instance_id)
    if row.task_id is not None:
        raise ResourceLockedError(f"Instance {instance_id} is locked by task {row.task_id}")
    return row


async def update_instance(conn: Conn, scope: Scope, instance_id: str, body: UpdateInstanceRequest) -> None:
    """Rename and/or JSON-merge-patch the tags; read-only tags never change."""
    row = await _lock_free(conn, scope, instance_id)
    if body.name is not None:
        await naming_service.check_create_names(conn, scope, names=[body.name], templates=[None],
                                                os_type=row.os_type)
        await repository.rename(conn, instance_id, body.name)
    if body.tags is None:
        await repository.delete_tags(conn, instance_id)
    elif isinstance(body.tags, dict):
        removed = [k for k, v in body.tags.items() if v is None]
        written = check_items({k: v for k, v in body.tags.items() if v is not None})
        if removed:
            await repository.delete_tags(conn, instance_id, removed)
        await repository.put_tags(conn, instance_id, written)
        check_count({t.key for t in (await repository.tags_of(conn, [instance_id])).get(instance_id, [])})
    await repository.touch(conn, instance_id)


# --- delete --------------------------------------------------------------------------------


def _id_list(value: str | None, field: str) -> list[str]:
    if not value:
        return []
    ids = [part.strip() for part in value.split(",") if part.strip()]
    for item in ids:
        if len(item) > 64:
            raise ValidationError.for_field(field, f"{item[:64]}... is not an id")
    return list(dict.fromkeys(ids))


async def delete_instance(conn: Conn, scope: Scope, instance_id: str, *, volumes: str | None,
                          delete_floatings: bool | None, floatings: str | None, reserved_fixed_ips: str | None,
                          request_id: str) -> str:
    """Lock the instance for a delete_vm task; the query options are checked now, carried out by the task."""
    if delete_floatings and floatings:
        raise ValidationError.for_field("floatings", "delete_floatings and floatings cannot be used together")
    row = await get_instance_row(conn, scope, instance_id)
    transition = check_allowed("delete", instance_id, row.vm_state)
    volume_ids = _id_list(volumes, "volumes")
    attached = {v.id: v for v in await volume_repository.attached_to(conn, [instance_id])}
    for vid in volume_ids:
        if vid not in attached:
            raise ValidationError.for_field("volumes", f"Volume {vid} is not attached to instance {instance_id}")
    fip_ids = _id_list(floatings, "floatings")
    instance_fips = await floating_service.ids_of_instance(conn, instance_id)
    for fid in fip_ids:
        if fid not in instance_fips:
            raise ValidationError.for_field("floatings", f"Floating IP {fid} is not assigned to instance "
                                                         f"{instance_id}")
    if delete_floatings:
        fip_ids = sorted(instance_fips)
    reserved = {p.id for p in await network_repository.port_ids_of_instance(conn, instance_id) if p.reserved}
    reserved_ids = _id_list(reserved_fixed_ips, "reserved_fixed_ips")
    for pid in reserved_ids:
        if pid not in reserved:
            raise ValidationError.for_field("reserved_fixed_ips", f"Reserved fixed IP {pid} is not attached to "
                                                                  f"instance {instance_id}")
    task_id = new_id()
    if row.task_id is not None or not await repository.take_lock(
        conn, scope, instance_id, task_id=task_id, task_state=transition.task_state, vm_state=row.vm_state
    ):
        raise ResourceLockedError(f"Instance {instance_id} is locked by task {row.task_id}")
    return await insert_task(
        conn, task_id=task_id, task_type=transition.task_type, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id,
        resource_id=instance_id, request_id=request_id, host=row.host,
        data={"instance_uuid": instance_id, "instance_id": instance_id, "volumes": volume_ids,
              "floatings": fip_ids, "reserved_fixed_ips": reserved_ids},
    )

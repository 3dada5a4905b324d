"""Build the wire ``Instance`` from rows: one batched query per related table, whatever the page size."""

from __future__ import annotations

import weakref
from typing import Any

import msgspec

from cloudlet.core.db import Conn, Database
from cloudlet.core.scope import Scope
from cloudlet.instances import repository
from cloudlet.instances.schemas import (
    Address,
    FixedIpAssignment,
    HardwareDescription,
    Instance,
    InstanceFlavor,
    InstanceIsolation,
    NameRef,
    Tag,
    VolumeRef,
)
from cloudlet.networks import repository as network_repository
from cloudlet.security_groups import repository as sg_repository
from cloudlet.volumes import repository as volume_repository


def _hardware(row: Any) -> HardwareDescription:
    hw = row.flavor_hardware_description or {}
    ram_text = f"{row.ram // 1024}GB" if row.ram >= 1024 else f"{row.ram}MB"
    return HardwareDescription(ram=hw.get("ram", ram_text), vcpus=hw.get("vcpus", f"{row.vcpus} vCPU"))


async def render(conn: Conn, scope: Scope, rows: list[Any], *, detailed: bool,
                 with_interfaces_name: bool = False) -> list[Instance]:
    """``detailed``: the single-GET form (addresses carry subnet id and name, and interface names)."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    volumes: dict[str, list[VolumeRef]] = {}
    for v in await volume_repository.attached_to(conn, ids):
        volumes.setdefault(v.instance_id, []).append(VolumeRef(id=v.id, delete_on_termination=v.delete_on_termination))
    addresses: dict[str, dict[str, list[Address]]] = {}
    fixed: dict[str, list[FixedIpAssignment]] = {}
    network_of_fixed: dict[tuple[str, str], str] = {}
    show_names = detailed or with_interfaces_name
    for a in await network_repository.addresses_of_instances(conn, ids):
        addr = Address(type="fixed", addr=a.ip_address, interface_name=a.interface_name if show_names else None)
        if detailed:
            addr.subnet_id = a.subnet_id
            addr.subnet_name = a.subnet_name
        addresses.setdefault(a.instance_id, {}).setdefault(a.network_name, []).append(addr)
        fixed.setdefault(a.instance_id, []).append(
            FixedIpAssignment(external=a.external, ip_address=a.ip_address, subnet_id=a.subnet_id)
        )
        network_of_fixed[(a.port_id, a.ip_address)] = a.network_name
        network_of_fixed.setdefault((a.port_id, ""), a.network_name)
    for f in await network_repository.floating_of_instances(conn, ids):
        net = network_of_fixed.get((f.port_id, f.fixed_ip_address or ""), network_of_fixed.get((f.port_id, "")))
        if net is not None:
            addresses.setdefault(f.instance_id, {}).setdefault(net, []).append(
                Address(type="floating", addr=f.floating_ip_address)
            )
    groups = await sg_repository.names_for_instances(conn, ids)
    tags = await repository.tags_of(conn, ids)

    out = []
    for r in rows:
        tag_list = [Tag(key=t.key, value=t.value, read_only=t.read_only) for t in tags.get(r.id, [])]
        out.append(
            Instance(
                id=r.id,
                name=r.name,
                created_at=r.created_at,
                status=r.status,
                vm_state=r.vm_state,
                task_state=r.task_state,
                task_id=r.task_id,
                creator_task_id=r.creator_task_id,
                flavor=InstanceFlavor(
                    flavor_id=r.flavor_id, flavor_name=r.flavor_id, vcpus=r.vcpus, ram=r.ram,
                    architecture=r.flavor_architecture or "x86_64", os_type=r.os_type, hardware_description=_hardware(r),
                ),
                volumes=volumes.get(r.id, []),
                addresses=addresses.get(r.id, {}),
                security_groups=[NameRef(name=n) for n in groups.get(r.id, [])],
                ssh_key_name=r.ssh_key_name,
                tags=tag_list,
                instance_description=r.description,
                blackhole_ports=[],
                ddos_profile=None,
                fixed_ip_assignments=fixed.get(r.id, []),
                instance_isolation=InstanceIsolation(reason=r.isolation_reason) if r.isolation_reason else None,
                project_id=r.project_id,
                region=scope.region_name,
                region_id=r.region_id,
                instance_id=r.id,
                instance_name=r.name,
                instance_created=r.created_at,
                keypair_name=r.ssh_key_name,
                flavor_id=r.flavor_id,
                metadata={t.key: t.value for t in tag_list},
                metadata_detailed=tag_list,
            )
        )
    return out


# --- encoded renderings, reused while the instance's revision is unchanged --------------------

_CACHE_LIMIT = 50_000  # renderings per database; the table starts again when full
# per database (weakly held: a disposed database's renderings go with it), then (form, instance id)
_encoded: weakref.WeakKeyDictionary[Database, dict[tuple[str, str], tuple[int, bytes]]] = weakref.WeakKeyDictionary()
_encoder = msgspec.json.Encoder()


def has_rendering(db: Database, form: str, instance_id: str) -> bool:
    """Whether this process has a rendering of the instance at any revision (current or not)."""
    return (form, instance_id) in _encoded.get(db, ())


def cached_rendering(db: Database, form: str, instance_id: str, revision: int) -> bytes | None:
    """A rendering made at ``revision``, if this process has one."""
    hit = _encoded.get(db, {}).get((form, instance_id))
    return hit[1] if hit is not None and hit[0] == revision else None


def _remember(conn: Conn, form: str, instance_id: str, revision: int, data: bytes) -> None:
    renderings = _encoded.setdefault(conn.database, {})
    if len(renderings) >= _CACHE_LIMIT:
        renderings.clear()
    renderings[(form, instance_id)] = (revision, data)


async def instance_json(conn: Conn, scope: Scope, instance_id: str) -> bytes | None:
    """The single-GET rendering as JSON bytes; None when the instance is not in the scope.

    The database bumps ``instances.revision`` on every change the rendering shows (migration 0005),
    so a rendering made at the current revision is still exact and costs one indexed lookup."""
    revision = await repository.get_revision(conn, scope, instance_id)
    if revision is None:
        return None
    data = cached_rendering(conn.database, "detail", instance_id, revision)
    if data is None:
        row = await repository.get_row(conn, scope, instance_id)
        if row is None:
            return None
        data = _encoder.encode((await render(conn, scope, [row], detailed=True))[0])
        _remember(conn, "detail", instance_id, row.revision, data)
    return data


async def list_json(conn: Conn, scope: Scope, page: list[Any], total: int, *, with_interfaces_name: bool) -> bytes:
    """A list page, given as (id, revision) rows, as JSON bytes: cached renderings where they are current,
    the others rendered from their full rows."""
    form = "list+names" if with_interfaces_name else "list"
    parts: dict[str, bytes] = {}
    stale = []
    for item in page:
        data = cached_rendering(conn.database, form, item.id, item.revision)
        if data is None:
            stale.append(item.id)
        else:
            parts[item.id] = data
    if stale:
        rows = await repository.rows_by_id(conn, scope, stale)
        for row, rendered in zip(rows, await render(conn, scope, rows, detailed=False,
                                                     with_interfaces_name=with_interfaces_name), strict=True):
            data = _encoder.encode(rendered)
            _remember(conn, form, row.id, row.revision, data)
            parts[row.id] = data
    # an instance deleted between the page's query and its rows' is left out (as a later page read would)
    return b'{"count":%d,"results":[%s]}' % (total, b",".join(parts[i.id] for i in page if i.id in parts))

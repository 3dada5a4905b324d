"""Build the wire ``FloatingIP`` / ``FloatingIPDetailed`` from rows.

``router_id`` names the router that NATs the address: cloudlet has no router objects, so it is a
stable id derived from the network of the port the floating IP is attached to.
"""

from __future__ import annotations

import uuid
from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.floating_ips import repository
from cloudlet.floating_ips.schemas import (
    FlavorBrief,
    FloatingIp,
    FloatingIpDetailed,
    InstanceBrief,
    NameRef,
    VolumeRef,
)
from cloudlet.networks import repository as network_repository
from cloudlet.networks.schemas import Tag, tags_out
from cloudlet.security_groups import repository as sg_repository

_ROUTERS = uuid.UUID("6c1b5f3e-9d0a-4c2e-8f1a-2b3c4d5e6f70")


def router_id_for(network_id: str | None) -> str | None:
    return str(uuid.uuid5(_ROUTERS, network_id)) if network_id else None


def _fields(row: Any, scope: Scope) -> dict[str, Any]:
    tags = tags_out(row.tags)
    attached = row.port_id is not None
    return {
        "id": row.id, "floating_ip_address": row.floating_ip_address,
        "fixed_ip_address": row.fixed_ip_address if attached else None, "port_id": row.port_id,
        "router_id": router_id_for(row.port_network_id) if attached else None, "subnet_id": row.subnet_id,
        "status": "ACTIVE" if attached else "DOWN", "tags": tags, "metadata": tags, "created_at": row.created_at,
        "updated_at": row.updated_at, "creator_task_id": row.creator_task_id, "task_id": row.task_id,
        "project_id": row.project_id, "region": scope.region_name, "region_id": row.region_id,
    }


def fip_out(row: Any, scope: Scope) -> FloatingIp:
    return FloatingIp(**_fields(row, scope))


async def _instances(conn: Conn, scope: Scope, instance_ids: list[str]) -> dict[str, InstanceBrief]:
    rows = await repository.instance_rows(conn, instance_ids)
    if not rows:
        return {}
    ids = [r.id for r in rows]
    addresses: dict[str, dict[str, list[dict[str, Any]]]] = {i: {} for i in ids}
    network_of: dict[tuple[str, str], str] = {}
    for a in await network_repository.addresses_of_instances(conn, ids):
        addresses[a.instance_id].setdefault(a.network_name, []).append(
            {"type": "fixed", "addr": a.ip_address, "interface_name": None})
        network_of[(a.port_id, a.ip_address)] = a.network_name
        network_of.setdefault((a.port_id, ""), a.network_name)
    for f in await network_repository.floating_of_instances(conn, ids):
        net = network_of.get((f.port_id, f.fixed_ip_address or ""), network_of.get((f.port_id, "")))
        if net is not None:
            addresses[f.instance_id].setdefault(net, []).append({"type": "floating", "addr": f.floating_ip_address})
    groups = await sg_repository.names_for_instances(conn, ids)
    tags = await repository.instance_tags_of(conn, ids)
    vols = await repository.instance_volumes_of(conn, ids)
    return {
        r.id: InstanceBrief(
            id=r.id, name=r.name, created_at=r.created_at, creator_task_id=r.creator_task_id or "",
            flavor=FlavorBrief(flavor_id=r.flavor_id, flavor_name=r.flavor_id, ram=r.ram, vcpus=r.vcpus),
            instance_description=r.description, addresses=addresses[r.id],
            security_groups=[NameRef(name=n) for n in groups.get(r.id, [])], ssh_key_name=r.ssh_key_name,
            status=r.status, vm_state=r.vm_state, task_state=r.task_state, task_id=r.task_id,
            tags=[Tag(key=t.key, value=t.value, read_only=t.read_only) for t in tags[r.id]],
            volumes=[VolumeRef(id=v.id, delete_on_termination=v.delete_on_termination) for v in vols[r.id]],
            project_id=r.project_id, region=scope.region_name, region_id=r.region_id,
        )
        for r in rows
    }


async def render_detailed(conn: Conn, scope: Scope, rows: list[Any]) -> list[FloatingIpDetailed]:
    briefs = await _instances(conn, scope, sorted({r.instance_id for r in rows if r.instance_id}))
    return [FloatingIpDetailed(**_fields(r, scope), instance=briefs.get(r.instance_id) if r.instance_id else None)
            for r in rows]

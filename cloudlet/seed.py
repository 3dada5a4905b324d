"""First-start seeding from ``catalog.yaml`` (or the file named by ``CLOUDLET_CATALOG``)."""

from __future__ import annotations

import functools
import ipaddress
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from cloudlet.core.clock import utcnow
from cloudlet.core.db import Conn
from cloudlet.models import clients, flavors, images, networks, projects, regional_quotas, regions, subnets
from cloudlet.security_groups.service import ensure_default_group

CATALOG = Path(__file__).with_name("catalog.yaml")


@functools.cache
def load_catalog() -> dict[str, Any]:
    path = Path(os.environ.get("CLOUDLET_CATALOG") or CATALOG)
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def default_quota_limits() -> dict[str, int]:
    return dict(load_catalog()["quotas"])


def _hardware_description(flavor: dict[str, Any]) -> dict[str, str]:
    ram = flavor["ram"]
    ram_text = f"{ram // 1024}GB" if ram >= 1024 else f"{ram}MB"
    return {"ram": ram_text, "vcpus": f"{flavor['vcpus']} vCPU"}


async def seed_if_empty(conn: Conn) -> bool:
    """Load the catalog into an empty database; returns whether anything was written."""
    if await conn.scalar(sa.select(sa.func.count()).select_from(regions)):
        return False
    catalog = load_catalog()
    now = utcnow()
    region = catalog["region"]
    region_id = region["id"]
    await conn.execute(regions.insert().values(
        id=region_id, display_name=region["display_name"], slug=region["slug"], country=region["country"],
        zone=region.get("zone"), state="ACTIVE", created_at=now,
    ))
    client = catalog["default_client"]
    await conn.execute(clients.insert().values(id=client["id"], name=client["name"], reseller_id=None,
                                               created_at=now))
    project = client["project"]
    await conn.execute(projects.insert().values(
        id=project["id"], client_id=client["id"], name=project["name"], description="Default project",
        is_default=True, state="ACTIVE", created_at=now,
    ))
    await conn.execute(regional_quotas.insert().values(client_id=client["id"], region_id=region_id,
                                                       limits=default_quota_limits()))
    await conn.execute(flavors.insert(), [
        {
            "region_id": region_id, "id": f["id"], "vcpus": f["vcpus"], "ram": f["ram"], "disk": f["disk"],
            "architecture": f.get("architecture", "x86_64"), "os_type": f.get("os_type", "linux"),
            "hardware_description": _hardware_description(f), "price_per_hour": f["price"],
            "price_per_month": round(f["price"] * 730, 2), "currency_code": "EUR",
            "disabled": bool(f.get("disabled", False)),
        }
        for f in catalog["flavors"]
    ])
    await conn.execute(images.insert(), [
        {
            "id": i["id"], "region_id": region_id, "project_id": None, "name": i["name"],
            "description": i.get("description"), "os_distro": i["os_distro"], "os_version": str(i["os_version"]),
            "os_type": i.get("os_type", "linux"), "architecture": i.get("architecture", "x86_64"),
            "min_disk": i["min_disk"], "min_ram": i.get("min_ram", 0), "size": i["size"],
            "disk_format": "qcow2", "visibility": "public", "status": "active",
            "ssh_key": "deny" if i.get("os_type") == "windows" else "allow", "hw_firmware_type": None,
            "display_order": n, "tags": [], "created_at": now, "updated_at": now,
        }
        for n, i in enumerate(catalog["images"])
    ])
    ext = catalog["external_network"]
    await conn.execute(networks.insert().values(
        id=ext["id"], project_id=None, region_id=region_id, name=ext["name"], external=True, shared=True,
        type="vlan", mtu=1500, segmentation_id=None, is_default=None, tags=[], created_at=now, updated_at=now,
    ))
    for s in ext["subnets"]:
        net = ipaddress.ip_network(s["cidr"])
        await conn.execute(subnets.insert().values(
            id=s["id"], network_id=ext["id"], project_id=None, region_id=region_id, name=s["name"],
            cidr=str(net), ip_version=net.version, gateway_ip=s.get("gateway_ip"), enable_dhcp=True,
            dns_nameservers=[], host_routes=[], tags=[], created_at=now, updated_at=now,
        ))
    await ensure_default_group(conn, project_id=project["id"], region_id=region_id,
                               rules=catalog["default_security_group_rules"])
    if conn.dialect_name == "postgresql":
        # rows were written with explicit ids: move the serial sequences past them
        for table in ("clients", "projects"):
            await conn.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            ))
    return True

"""Bulk-load instances straight into cloudlet's tables, before its server starts.

Creating 100,000 instances through the API would take far longer than the benchmark itself, so the
rows are written with SQLAlchemy Core bulk inserts, shaped exactly as ``create_instances``
(cloudlet/instances/service.py) writes them for a body like
``{"flavor": ..., "interfaces": [{"type": "external"}], "volumes": [{"source": "image", ...}], "tags": ...}``
and as the finished ``create_vm`` task leaves them: the instance (ACTIVE, on a simulated host), its
boot volume (in-use, /dev/vda), one external port with an address, the port's membership of the
project's default security group, the tags, and the FINISHED task.

The public /20 holds 4,094 addresses, so the seeded ports take theirs from one extra external IPv4
subnet of the public network (``bench-public-v4``, a /15); every dataset size uses it, so sizes differ
only in their instance count. A tenth of the instances are stopped (SHUTOFF), so the status filter
selects a subset; names cycle through eight prefixes, so ``name=web`` selects an eighth.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import math
import random
import uuid
from typing import Any

import sqlalchemy as sa

from cloudlet.compute.sim import HOST_RAM, HOST_VCPUS
from cloudlet.core import migrate
from cloudlet.core.clock import utcnow
from cloudlet.core.db import Database
from cloudlet.instances.states import VmState, status_for
from cloudlet.models import (
    flavors,
    images,
    instance_tags,
    instances,
    ip_allocations,
    networks,
    port_security_groups,
    ports,
    subnets,
    tasks,
    volumes,
)
from cloudlet.quotas.repository import set_limits
from cloudlet.security_groups.service import ensure_default_group
from cloudlet.seed import default_quota_limits, seed_if_empty
from cloudlet.tasks.engine import created_resources
from cloudlet.tasks.types import TaskState, TaskType

PROJECT_ID = 1  # the catalog's default project of client 1, in region 1
REGION_ID = 1
CLIENT_ID = 1
ADMIN_KEY_ID = 1  # the first API key: the admin key the server makes from CLOUDLET_ADMIN_API_KEY

BENCH_SUBNET_ID = "b3e0c4d2-0000-4000-8000-00000000be01"
BENCH_SUBNET_CIDR = "100.64.0.0/15"
BENCH_SUBNET_GATEWAY = "100.64.0.1"

# Flavors with at most 4 GiB per vCPU, so hosts fill by vCPU; images all Linux.
FLAVOR_IDS = ("g1-standard-1-2", "g1-standard-2-4", "g1s-shared-1-1", "g1-cpu-2-2", "g1-standard-4-8",
              "g1-standard-2-8")
IMAGE_NAMES = ("ubuntu-22.04-x64", "ubuntu-24.04-x64", "debian-12-x64", "rocky-9-x64")
NAME_PREFIXES = ("web", "api", "db", "cache", "worker", "batch", "edge", "ml")
NAME_FILTER = "web"  # selects one name prefix in eight
STATUS_FILTER = "ACTIVE"
STOPPED_EVERY = 10  # every tenth instance is stopped
ENVIRONMENTS = ("prod", "staging", "dev")

HOST_FILL = 0.75  # seeded instances (and the planned creates) fill the simulated hosts to at most this
CHUNK = 5_000  # instances per insert transaction
SAMPLE_IDS = 1_000  # instance ids handed to the load generator for gets


@dataclasses.dataclass(frozen=True, slots=True)
class SeedInfo:
    instances: int
    sim_hosts: int  # CLOUDLET_SIM_HOSTS the server must run with (the hosts the seed placed instances on)
    sample_ids: list[str]  # spread over the whole dataset
    name_matches: int  # instances that ``name=NAME_FILTER`` selects
    status_matches: int  # instances that ``status=STATUS_FILTER`` selects
    seconds: float


def _name(index: int) -> str:
    return f"{NAME_PREFIXES[index % len(NAME_PREFIXES)]}-{index:06d}"


def _mac_for(port_id: str) -> str:
    """As cloudlet/instances/service.py derives a port's MAC address from its id."""
    raw = port_id.replace("-", "")[:10]
    return "fa:" + ":".join(raw[i:i + 2] for i in range(0, 10, 2))


class _Ids:
    """Random UUIDs from a seeded generator (repeatable datasets), with MAC addresses kept unique."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._macs: set[str] = set()

    def new(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def port(self) -> tuple[str, str]:
        while True:
            port_id = self.new()
            mac = _mac_for(port_id)
            if mac not in self._macs:
                self._macs.add(mac)
                return port_id, mac


class _Placement:
    """Put each instance on the next simulated host with room, as the scheduler would have."""

    def __init__(self, host_count: int) -> None:
        self.host_count = host_count
        self._used = [(0, 0)] * host_count
        self._next = 0

    def place(self, vcpus: int, ram: int) -> str:
        for _ in range(self.host_count):
            h = self._next
            self._next = (self._next + 1) % self.host_count
            cpu, mem = self._used[h]
            if cpu + vcpus <= HOST_VCPUS * HOST_FILL and mem + ram <= HOST_RAM * HOST_FILL:
                self._used[h] = (cpu + vcpus, mem + ram)
                return f"sim-host-{h + 1}"
        raise RuntimeError("the simulated hosts are full: raise HOST_FILL or the host count")


def plan_hosts(count: int, flavor_rows: dict[str, Any], extra_vcpus: int) -> int:
    """Simulated hosts for ``count`` seeded instances plus ``extra_vcpus`` of creates, filled to HOST_FILL."""
    seeded = math.ceil(count / len(FLAVOR_IDS)) * sum(flavor_rows[f].vcpus for f in FLAVOR_IDS)  # flavors cycle
    return max(3, math.ceil((seeded + extra_vcpus) / (HOST_VCPUS * HOST_FILL)) + 1)


_NOTHING_CREATED = created_resources()  # every kind, empty: what a finished task lists


def _rows_for(index: int, *, ids: _Ids, placement: _Placement, flavor: Any, image: Any, ip: str,
              created: dt.datetime, sg_id: str, network_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row that one API create plus its finished create_vm task leave behind."""
    instance_id, task_id, volume_id = ids.new(), ids.new(), ids.new()
    port_id, mac = ids.port()
    stopped = index % STOPPED_EVERY == STOPPED_EVERY - 1
    vm_state = VmState.STOPPED if stopped else VmState.ACTIVE
    finished = created + dt.timedelta(milliseconds=400)
    updated = created + dt.timedelta(hours=1) if stopped else finished
    name = _name(index)
    tags = {"env": ENVIRONMENTS[index % len(ENVIRONMENTS)], "team": f"team-{index % 20:02d}"}
    size = max(image.min_disk, flavor.disk)
    return {
        "instances": [{
            "id": instance_id, "project_id": PROJECT_ID, "region_id": REGION_ID, "name": name, "description": None,
            "flavor_id": flavor.id, "vcpus": flavor.vcpus, "ram": flavor.ram, "os_type": image.os_type,
            "status": str(status_for(vm_state, None)), "vm_state": str(vm_state), "task_state": None,
            "ssh_key_name": None, "host": placement.place(flavor.vcpus, flavor.ram), "servergroup_id": None,
            "isolation_reason": None, "boot_secrets": None, "created_at": created, "updated_at": updated,
            "task_id": None, "creator_task_id": task_id,
        }],
        "volumes": [{
            "id": volume_id, "project_id": PROJECT_ID, "region_id": REGION_ID, "name": f"volume-{volume_id[:8]}",
            "size": size, "volume_type": "standard", "status": "in-use", "bootable": True, "image_id": image.id,
            "snapshot_id": None,
            "image_metadata": {"image_id": image.id, "image_name": image.name, "os_distro": image.os_distro,
                               "os_version": image.os_version, "os_type": image.os_type},
            "instance_id": instance_id, "boot_index": 0, "delete_on_termination": False, "attachment_tag": None,
            "device": "/dev/vda", "attached_at": finished, "tags": [], "created_at": created,
            "updated_at": finished, "task_id": None, "creator_task_id": task_id,
        }],
        "ports": [{
            "id": port_id, "project_id": PROJECT_ID, "region_id": REGION_ID, "network_id": network_id,
            "instance_id": instance_id, "position": 0, "name": f"port-{port_id[:8]}", "mac_address": mac,
            "interface_name": None, "port_security_enabled": True, "reserved": False, "created_at": created,
            "updated_at": created,
        }],
        "ip_allocations": [{"subnet_id": BENCH_SUBNET_ID, "ip_address": ip, "port_id": port_id,
                            "floatingip_id": None}],
        "port_security_groups": [{"port_id": port_id, "security_group_id": sg_id}],
        "instance_tags": [{"instance_id": instance_id, "key": k, "value": v, "read_only": False}
                          for k, v in tags.items()],
        "tasks": [{
            "id": task_id, "task_type": str(TaskType.CREATE_VM), "state": str(TaskState.FINISHED),
            "project_id": PROJECT_ID, "region_id": REGION_ID, "client_id": CLIENT_ID, "user_id": ADMIN_KEY_ID,
            "resource_id": instance_id, "host": None,
            "data": {"instance_id": instance_id, "name": name, "name_template": None, "flavor": flavor.id,
                     "volumes": [volume_id], "ports": [port_id], "floatingips": [], "keypair_name": None,
                     "servergroup_id": None, "image_id": image.id},
            "created_resources": {**_NOTHING_CREATED, "instances": [instance_id], "volumes": [volume_id],
                                  "ports": [port_id]},
            "error": None, "request_id": ids.new().replace("-", ""),
            "created_on": created, "updated_on": finished, "finished_on": finished, "acknowledged_at": None,
            "acknowledged_by": None, "lease_owner": None, "lease_expires_at": None, "attempts": 1,
        }],
    }


TABLES = {"instances": instances, "volumes": volumes, "ports": ports, "ip_allocations": ip_allocations,
          "port_security_groups": port_security_groups, "instance_tags": instance_tags, "tasks": tasks}


async def _prepare(db: Database) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """Catalog, unlimited quotas for client 1, the bench subnet; returns flavors, images, group and network."""
    async with db.transaction() as conn:
        await seed_if_empty(conn)
        await set_limits(conn, CLIENT_ID, REGION_ID, {k: 1_000_000_000 for k in default_quota_limits()})
        external = (await conn.execute(sa.select(networks.c.id).where(networks.c.external.is_(True),
                                                                      networks.c.region_id == REGION_ID))).one()
        if not await conn.scalar(sa.select(sa.func.count()).select_from(subnets)
                                 .where(subnets.c.id == BENCH_SUBNET_ID)):
            now = utcnow()
            await conn.execute(subnets.insert().values(
                id=BENCH_SUBNET_ID, network_id=external.id, project_id=None, region_id=REGION_ID,
                name="bench-public-v4", cidr=BENCH_SUBNET_CIDR, ip_version=4, gateway_ip=BENCH_SUBNET_GATEWAY,
                enable_dhcp=True, dns_nameservers=[], host_routes=[], tags=[], created_at=now, updated_at=now,
                task_id=None, creator_task_id=None,
            ))
        sg_id = await ensure_default_group(conn, project_id=PROJECT_ID, region_id=REGION_ID)
        flavor_rows = {r.id: r for r in await conn.execute(sa.select(flavors).where(flavors.c.region_id == REGION_ID))}
        image_rows = {r.name: r for r in await conn.execute(sa.select(images).where(images.c.region_id == REGION_ID))}
    return flavor_rows, image_rows, sg_id, external.id


async def _settle_postgres(url: str) -> None:
    """VACUUM ANALYZE now, as autovacuum would soon after a bulk load, so it does not run during a measurement."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def seed_database(url: str, count: int, *, extra_vcpus: int = 0, rng_seed: int = 9) -> SeedInfo:
    """Migrate and seed an empty database at ``url`` with ``count`` ACTIVE/SHUTOFF instances in project 1."""
    started = utcnow()
    await migrate.upgrade(url)
    db = Database(url)
    rng = random.Random(rng_seed)
    ids = _Ids(rng)
    try:
        flavor_rows, image_rows, sg_id, network_id = await _prepare(db)
        placement = _Placement(plan_hosts(count, flavor_rows, extra_vcpus))
        first_ip = int(ipaddress.ip_address(BENCH_SUBNET_GATEWAY)) + 1
        if count > ipaddress.ip_network(BENCH_SUBNET_CIDR).num_addresses - 3:
            raise ValueError(f"{count} instances do not fit in {BENCH_SUBNET_CIDR}")
        base = utcnow() - dt.timedelta(seconds=count + 3600)
        all_ids: list[str] = []
        for start in range(0, count, CHUNK):
            batch: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
            for index in range(start, min(count, start + CHUNK)):
                rows = _rows_for(
                    index, ids=ids, placement=placement, flavor=flavor_rows[FLAVOR_IDS[index % len(FLAVOR_IDS)]],
                    image=image_rows[IMAGE_NAMES[index % len(IMAGE_NAMES)]],
                    ip=str(ipaddress.IPv4Address(first_ip + index)),
                    created=base + dt.timedelta(seconds=index, microseconds=rng.randrange(1_000_000)),
                    sg_id=sg_id, network_id=network_id,
                )
                for name, table_rows in rows.items():
                    batch[name].extend(table_rows)
                all_ids.append(rows["instances"][0]["id"])
            async with db.transaction() as conn:
                for name, table in TABLES.items():
                    await conn.execute(table.insert(), batch[name])
    finally:
        await db.dispose()
    if not url.startswith("sqlite"):
        await _settle_postgres(url)
    return SeedInfo(
        instances=count,
        sim_hosts=placement.host_count,
        sample_ids=rng.sample(all_ids, min(SAMPLE_IDS, len(all_ids))),
        name_matches=sum(1 for i in range(count) if NAME_FILTER in _name(i)),
        status_matches=sum(1 for i in range(count) if i % STOPPED_EVERY != STOPPED_EVERY - 1),
        seconds=(utcnow() - started).total_seconds(),
    )

"""Quota decisions. ``requested`` maps quota names (``cpu_count``, ``ram``...) to the amount a
request adds; a quota is exceeded when usage + requested > limit (behaviour.md 4.3).

Usage is read inside the caller's transaction, from counters the database keeps in step with the
resource tables (migration 0006) or from the tables themselves. ``enforce`` first
locks the client's ``regional_quotas`` row (``FOR UPDATE`` on PostgreSQL; SQLite has one writer), so
two requests of one client racing for the last unit take turns and the second one sees the first's rows.
"""

from __future__ import annotations

from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.errors import QuotaLimitExceed, ValidationError
from cloudlet.quotas import repository
from cloudlet.seed import default_quota_limits

SHARED_FLAVOR_PREFIX = "g1s-shared"  # basic VMs count against shared_vm_count instead of vm_count

# Every quota of Gcore's RegionalDiffQuotas (endpoints.md S14); ``<name>_limit`` may be set for each.
QUOTA_NAMES = frozenset({
    "baremetal_basic_count", "baremetal_gpu_count", "baremetal_hf_count", "baremetal_infrastructure_count",
    "baremetal_network_count", "baremetal_storage_count", "caas_container_count", "caas_cpu_count",
    "caas_gpu_count", "caas_ram_size", "cluster_count", "cpu_count", "dbaas_postgres_cluster_count",
    "external_ip_count", "faas_cpu_count", "faas_function_count", "faas_namespace_count", "faas_ram_size",
    "firewall_count", "floating_count", "gpu_count", "image_count", "image_size", "ipu_count", "laas_topic_count",
    "loadbalancer_count", "network_count", "ram", "registry_count", "registry_storage", "router_count",
    "secret_count", "servergroup_count", "sfs_count", "sfs_size", "shared_vm_count", "snapshot_schedule_count",
    "subnet_count", "vm_count", "volume_count", "volume_size", "volume_snapshots_count", "volume_snapshots_size",
})


def instance_request(*, flavor: Any | None, count: int, new_volume_sizes: list[int], external_interfaces: int,
                     new_floating_ips: int) -> dict[str, int]:
    """What creating ``count`` instances alike takes from the quotas (behaviour.md 4.3): each one its
    flavor's vCPUs and RAM, its new volumes (existing ones are already counted), one external IP per
    external interface and one floating IP per interface asking for a new one."""
    requested: dict[str, int] = {}
    if flavor is not None:
        requested["shared_vm_count" if flavor.id.startswith(SHARED_FLAVOR_PREFIX) else "vm_count"] = count
        requested["cpu_count"] = count * flavor.vcpus
        requested["ram"] = count * flavor.ram
    requested["volume_count"] = count * len(new_volume_sizes)
    requested["volume_size"] = count * sum(new_volume_sizes)
    requested["external_ip_count"] = count * external_interfaces
    requested["floating_count"] = count * new_floating_ips
    return requested


async def limits_for(conn: Conn, client_id: int, region_id: int, *, for_update: bool = False) -> dict[str, int]:
    stored = await repository.get_limits(conn, client_id, region_id, for_update=for_update)
    return stored if stored is not None else {}


async def exceeded(conn: Conn, client_id: int, region_id: int, requested: dict[str, int], *,
                   lock: bool = True) -> dict[str, int]:
    """The ``<q>_limit/_requested/_usage`` triples of every quota the request would exceed.

    ``lock`` (for writes) holds the client's quota row until the transaction ends; a read-only check
    (check_limits) passes ``lock=False``."""
    limits = await limits_for(conn, client_id, region_id, for_update=lock)
    wanted = {name: amount for name, amount in requested.items()
              if amount > 0 and limits.get(f"{name}_limit") is not None}
    if not wanted:
        return {}
    used = await repository.usage(conn, client_id, region_id, set(wanted))
    out: dict[str, int] = {}
    for name, amount in wanted.items():
        limit = limits[f"{name}_limit"]
        current = used.get(name, 0)
        if current + amount > limit:
            out.update({f"{name}_limit": limit, f"{name}_requested": amount, f"{name}_usage": current})
    return out


async def enforce(conn: Conn, client_id: int, region_id: int, requested: dict[str, int]) -> None:
    """Raise ``QuotaLimitExceed`` for the first quota the request would take over its limit."""
    over = await exceeded(conn, client_id, region_id, requested)
    for key in over:
        if key.endswith("_limit"):
            name = key[: -len("_limit")]
            limit, usage, amount = over[key], over[f"{name}_usage"], over[f"{name}_requested"]
            raise QuotaLimitExceed(
                f"Quota limit for {name} exceeded by {usage + amount - limit}",
                info={"attribute": name, "current_usage": usage, "requested_usage": usage + amount,
                      "limit": limit},
            )


async def give_default_limits(conn: Conn, client_id: int) -> None:
    """A new client starts with the catalog's quotas in every region, like the seeded default client."""
    for region_id in await repository.region_ids(conn):
        await repository.set_limits(conn, client_id, region_id, default_quota_limits())


async def regional_report(conn: Conn, client_id: int, region_id: int) -> dict[str, int]:
    """``<q>_limit`` and ``<q>_usage`` for every quota with a limit (GET regional_quotas); a quota
    without a limit is not listed, as nothing stops its use."""
    limits = await limits_for(conn, client_id, region_id)
    used = await repository.usage(conn, client_id, region_id)
    out: dict[str, int] = {}
    for key, limit in sorted(limits.items()):
        name = key[: -len("_limit")]
        out[key] = limit
        out[f"{name}_usage"] = used.get(name, 0)
    return out


def _checked_changes(changes: dict[str, Any]) -> dict[str, int | None]:
    if not changes:
        raise ValidationError.for_field("body", "Give at least one <quota>_limit field")
    out: dict[str, int | None] = {}
    for key, value in changes.items():
        name = key[: -len("_limit")] if key.endswith("_limit") else None
        if name not in QUOTA_NAMES:
            raise ValidationError.for_field(key, f"Unknown quota {key}: use <quota>_limit, e.g. cpu_count_limit")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValidationError.for_field(key, "A limit is a whole number of at least 0, or null for no limit")
        out[key] = value
    return out


async def update_limits(conn: Conn, client_id: int, region_id: int, changes: dict[str, Any]) -> dict[str, int]:
    """Set the given ``<quota>_limit`` values (null removes a limit); the others stay as they were."""
    checked = _checked_changes(changes)
    limits = await limits_for(conn, client_id, region_id, for_update=True)
    for key, value in checked.items():
        if value is None:
            limits.pop(key, None)
        else:
            limits[key] = value
    await repository.set_limits(conn, client_id, region_id, limits)
    return await regional_report(conn, client_id, region_id)

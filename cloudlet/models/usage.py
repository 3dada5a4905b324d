"""Sums the database keeps with triggers (migration 0006): what quotas and placement count."""

from __future__ import annotations

import sqlalchemy as sa

from cloudlet.models.base import metadata


def _amount(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


# per (project, region): instances (shared-flavor ones apart too), their vCPUs and RAM, volumes and their
# size, and ports on external networks
project_usage = sa.Table(
    "project_usage", metadata,
    sa.Column("project_id", sa.Integer, primary_key=True),
    sa.Column("region_id", sa.Integer, primary_key=True),
    *(_amount(n) for n in ("instances", "shared_instances", "vcpus", "ram", "volumes", "volume_size",
                           "external_ips")),
)

# per hypervisor host: the instances placed on it and their vCPUs and RAM
host_allocations = sa.Table(
    "host_allocations", metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    *(_amount(n) for n in ("instances", "vcpus", "ram")),
)

# per (project, region, status): how many instances, for a list's total count
instance_status_counts = sa.Table(
    "instance_status_counts", metadata,
    sa.Column("project_id", sa.Integer, primary_key=True),
    sa.Column("region_id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(32), primary_key=True),
    _amount("instances"),
)

# per (project, region): moves on every insert, delete or rename of an instance there (migration 0008),
# so that a count of a name filter's matches made at one version is exact while it stays
instance_name_versions = sa.Table(
    "instance_name_versions", metadata,
    sa.Column("project_id", sa.Integer, primary_key=True),
    sa.Column("region_id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

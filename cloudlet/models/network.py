"""Networks, subnets, ports with their IP allocations, security groups and floating IPs."""

from __future__ import annotations

import sqlalchemy as sa

from cloudlet.models.base import ID, lock_columns, metadata, timestamps

networks = sa.Table(
    "networks", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=True),  # null: shared/external, visible to every project
    sa.Column("region_id", sa.Integer, sa.ForeignKey("regions.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("external", sa.Boolean, nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("mtu", sa.Integer, nullable=False),
    sa.Column("segmentation_id", sa.Integer, nullable=True),
    sa.Column("is_default", sa.Boolean, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    *timestamps(),
    *lock_columns(),
    sa.Index("ix_networks_project_region", "project_id", "region_id"),
)

subnets = sa.Table(
    "subnets", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("network_id", ID, sa.ForeignKey("networks.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("project_id", sa.Integer, nullable=True),
    sa.Column("region_id", sa.Integer, sa.ForeignKey("regions.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("cidr", sa.String(64), nullable=False),
    sa.Column("ip_version", sa.Integer, nullable=False),
    sa.Column("gateway_ip", sa.String(64), nullable=True),
    sa.Column("enable_dhcp", sa.Boolean, nullable=False),
    sa.Column("dns_nameservers", sa.JSON, nullable=False),
    sa.Column("host_routes", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    *timestamps(),
    *lock_columns(),
)

ports = sa.Table(
    "ports", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("region_id", sa.Integer, nullable=False),
    sa.Column("network_id", ID, sa.ForeignKey("networks.id"), nullable=False, index=True),
    sa.Column("instance_id", ID, nullable=True, index=True),
    sa.Column("position", sa.Integer, nullable=False, default=0),  # interface order on the instance
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("mac_address", sa.String(17), nullable=False, unique=True),
    sa.Column("interface_name", sa.String(64), nullable=True),
    sa.Column("port_security_enabled", sa.Boolean, nullable=False),
    sa.Column("reserved", sa.Boolean, nullable=False),  # a reserved fixed IP: survives its instance
    *timestamps(),
    sa.Index("ix_ports_project_region", "project_id", "region_id"),
)

# IPAM: one row per address in use; the primary key makes a double allocation impossible.
ip_allocations = sa.Table(
    "ip_allocations", metadata,
    sa.Column("subnet_id", ID, sa.ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("ip_address", sa.String(64), primary_key=True),
    sa.Column("port_id", ID, sa.ForeignKey("ports.id", ondelete="CASCADE"), nullable=True, index=True),
    sa.Column("floatingip_id", ID, nullable=True, index=True),
)

security_groups = sa.Table(
    "security_groups", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("region_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("revision_number", sa.Integer, nullable=False, default=0),
    sa.Column("tags", sa.JSON, nullable=False),
    *timestamps(),
    sa.Index("ix_security_groups_project_region_name", "project_id", "region_id", "name"),
)

security_group_rules = sa.Table(
    "security_group_rules", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("security_group_id", ID, sa.ForeignKey("security_groups.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("ethertype", sa.String(8), nullable=True),
    sa.Column("protocol", sa.String(16), nullable=True),
    sa.Column("port_range_min", sa.Integer, nullable=True),
    sa.Column("port_range_max", sa.Integer, nullable=True),
    sa.Column("remote_ip_prefix", sa.String(64), nullable=True),
    sa.Column("remote_group_id", ID, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    *timestamps(),
)

port_security_groups = sa.Table(
    "port_security_groups", metadata,
    sa.Column("port_id", ID, sa.ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("security_group_id", ID, sa.ForeignKey("security_groups.id", ondelete="CASCADE"),
              primary_key=True, index=True),
)

floating_ips = sa.Table(
    "floating_ips", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("region_id", sa.Integer, nullable=False),
    sa.Column("subnet_id", ID, sa.ForeignKey("subnets.id"), nullable=False),
    sa.Column("floating_ip_address", sa.String(64), nullable=False),
    sa.Column("port_id", ID, sa.ForeignKey("ports.id", ondelete="SET NULL"), nullable=True, index=True),
    sa.Column("fixed_ip_address", sa.String(64), nullable=True),
    sa.Column("router_id", ID, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    *timestamps(),
    *lock_columns(),
    sa.Index("ix_floating_ips_project_region", "project_id", "region_id"),
)

"""Flavors and images: the catalog that instances are built from."""

from __future__ import annotations

import sqlalchemy as sa

from cloudlet.models.base import ID, metadata

flavors = sa.Table(
    "flavors", metadata,
    sa.Column("region_id", sa.Integer, sa.ForeignKey("regions.id"), primary_key=True),
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("vcpus", sa.Integer, nullable=False),
    sa.Column("ram", sa.Integer, nullable=False),  # MiB
    sa.Column("disk", sa.Integer, nullable=False),  # GiB, the minimum boot disk it is sold with
    sa.Column("architecture", sa.String(16), nullable=False),
    sa.Column("os_type", sa.String(16), nullable=False),  # linux | windows | any
    sa.Column("hardware_description", sa.JSON, nullable=False),
    sa.Column("price_per_hour", sa.Float, nullable=False),
    sa.Column("price_per_month", sa.Float, nullable=False),
    sa.Column("currency_code", sa.String(8), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
)

images = sa.Table(
    "images", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("region_id", sa.Integer, sa.ForeignKey("regions.id"), nullable=False),
    sa.Column("project_id", sa.Integer, nullable=True),  # null for public images
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("os_distro", sa.String(64), nullable=False),
    sa.Column("os_version", sa.String(64), nullable=False),
    sa.Column("os_type", sa.String(16), nullable=False),
    sa.Column("architecture", sa.String(16), nullable=False),
    sa.Column("min_disk", sa.Integer, nullable=False),
    sa.Column("min_ram", sa.Integer, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("disk_format", sa.String(16), nullable=False),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("ssh_key", sa.String(16), nullable=True),
    sa.Column("hw_firmware_type", sa.String(16), nullable=True),
    sa.Column("display_order", sa.Integer, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("ix_images_region_project", "region_id", "project_id"),
)

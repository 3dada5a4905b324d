"""Regions, resellers, clients, projects, API keys and regional quotas."""

from __future__ import annotations

import sqlalchemy as sa

from cloudlet.models.base import metadata

regions = sa.Table(
    "regions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("slug", sa.String(255), nullable=False),
    sa.Column("country", sa.String(64), nullable=False),
    sa.Column("zone", sa.String(32), nullable=True),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

resellers = sa.Table(
    "resellers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

clients = sa.Table(
    "clients", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("reseller_id", sa.Integer, sa.ForeignKey("resellers.id"), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

projects = sa.Table(
    "projects", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id"), nullable=False, index=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("deleted_at", sa.DateTime, nullable=True),
)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id"), nullable=True),
    sa.Column("reseller_id", sa.Integer, sa.ForeignKey("resellers.id"), nullable=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("token_hint", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

regional_quotas = sa.Table(
    "regional_quotas", metadata,
    sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id"), primary_key=True),
    sa.Column("region_id", sa.Integer, sa.ForeignKey("regions.id"), primary_key=True),
    sa.Column("limits", sa.JSON, nullable=False),
)

"""Reseller naming restrictions: which instance names and name templates a reseller's clients may use."""

from __future__ import annotations

import sqlalchemy as sa

from cloudlet.models.base import metadata

reseller_name_templates = sa.Table(
    "reseller_name_templates", metadata,
    sa.Column("reseller_id", sa.Integer, sa.ForeignKey("resellers.id"), primary_key=True),
    sa.Column("region_id", sa.Integer, sa.ForeignKey("regions.id"), primary_key=True),
    sa.Column("allow_custom_name", sa.Boolean, nullable=False),
    sa.Column("allowed_name_templates", sa.JSON, nullable=False),
    sa.Column("allowed_name_win_templates", sa.JSON, nullable=False),
    sa.Column("allowed_bm_name_templates", sa.JSON, nullable=False),
    sa.Column("allowed_bm_name_win_templates", sa.JSON, nullable=False),
    sa.Column("allowed_lb_name_templates", sa.JSON, nullable=False),
    sa.Column("allowed_lb_name_restriction", sa.String(255), nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

"""reseller_name_templates: naming restrictions a reseller sets for its clients, per region

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reseller_name_templates",
        sa.Column("reseller_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("allow_custom_name", sa.Boolean(), nullable=False),
        sa.Column("allowed_name_templates", sa.JSON(), nullable=False),
        sa.Column("allowed_name_win_templates", sa.JSON(), nullable=False),
        sa.Column("allowed_bm_name_templates", sa.JSON(), nullable=False),
        sa.Column("allowed_bm_name_win_templates", sa.JSON(), nullable=False),
        sa.Column("allowed_lb_name_templates", sa.JSON(), nullable=False),
        sa.Column("allowed_lb_name_restriction", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"],
                                name=op.f("fk_reseller_name_templates_region_id_regions")),
        sa.ForeignKeyConstraint(["reseller_id"], ["resellers.id"],
                                name=op.f("fk_reseller_name_templates_reseller_id_resellers")),
        sa.PrimaryKeyConstraint("reseller_id", "region_id", name=op.f("pk_reseller_name_templates")),
    )


def downgrade() -> None:
    op.drop_table("reseller_name_templates")

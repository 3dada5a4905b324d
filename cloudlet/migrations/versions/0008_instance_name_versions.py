"""instance_name_versions: a number per (project, region) that moves whenever its set of names does

Revision ID: 0008
Revises: 0007

A list filtered by name answers with the exact count of its matches, and counting them costs more the
more instances match (an eighth of 100,000 for a common word). Which instances a name filter matches
depends only on the names in the scope, so a count stays exact while they stay the same: triggers bump
``version`` in the same transaction as every insert, delete or rename of an instance (or its move to
another scope), and instances/name_counts.py reuses a count made at the current version.

Rows are never deleted, so a (scope, version) pair is never reused for another set of names.

Lock order on PostgreSQL (see 0006): the trigger is named to fire after 0006's counters
(``..._4_names``), so an insert or delete takes this row last; a rename takes only this row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_NAME = "instances_usage_4_names"


def _bump(row: str) -> str:
    return ("INSERT INTO instance_name_versions (project_id, region_id, version) "
            f"SELECT {row}.project_id, {row}.region_id, 1 WHERE true "  # WHERE: SQLite's upsert parsing
            "ON CONFLICT (project_id, region_id) DO UPDATE SET version = instance_name_versions.version + 1")


def upgrade() -> None:
    op.create_table(
        "instance_name_versions",
        sa.Column("project_id", sa.Integer(), primary_key=True),
        sa.Column("region_id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    watched = "name, project_id, region_id"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION cloudlet_{_NAME}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    {_bump('NEW')};
                ELSIF TG_OP = 'DELETE' THEN
                    {_bump('OLD')};
                ELSIF (OLD.project_id, OLD.region_id) IS DISTINCT FROM (NEW.project_id, NEW.region_id) THEN
                    IF (OLD.project_id, OLD.region_id) < (NEW.project_id, NEW.region_id) THEN
                        {_bump('OLD')}; {_bump('NEW')};
                    ELSE
                        {_bump('NEW')}; {_bump('OLD')};
                    END IF;
                ELSIF OLD.name IS DISTINCT FROM NEW.name THEN
                    {_bump('NEW')};
                END IF;
                RETURN NULL;
            END $$
        """)
        op.execute(f"CREATE TRIGGER trg_{_NAME} AFTER INSERT OR DELETE OR UPDATE OF {watched} ON instances "
                   f"FOR EACH ROW EXECUTE FUNCTION cloudlet_{_NAME}()")
    else:
        op.execute(f"CREATE TRIGGER trg_{_NAME}_insert AFTER INSERT ON instances BEGIN {_bump('NEW')}; END")
        op.execute(f"CREATE TRIGGER trg_{_NAME}_delete AFTER DELETE ON instances BEGIN {_bump('OLD')}; END")
        op.execute(f"CREATE TRIGGER trg_{_NAME}_update AFTER UPDATE OF {watched} ON instances "
                   "WHEN OLD.name IS NOT NEW.name OR OLD.project_id IS NOT NEW.project_id "
                   "OR OLD.region_id IS NOT NEW.region_id "
                   f"BEGIN {_bump('OLD')}; {_bump('NEW')}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS trg_{_NAME} ON instances")
        op.execute(f"DROP FUNCTION IF EXISTS cloudlet_{_NAME}()")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{_NAME}_{event}")
    op.drop_table("instance_name_versions")

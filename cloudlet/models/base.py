"""The metadata that every table belongs to, with a naming convention so Alembic names constraints stably."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(36)  # resource ids are UUID strings


def timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    ]


def lock_columns() -> list[sa.Column]:
    """``task_id`` is the lock held by a running task; ``creator_task_id`` the task that made the row."""
    return [
        sa.Column("task_id", ID, nullable=True),
        sa.Column("creator_task_id", ID, nullable=True),
    ]

"""Durable tasks and injected faults."""

from __future__ import annotations

import sqlalchemy as sa

from cloudlet.models.base import ID, metadata

tasks = sa.Table(
    "tasks", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("task_type", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("project_id", sa.Integer, nullable=True),
    sa.Column("region_id", sa.Integer, nullable=True),
    sa.Column("client_id", sa.Integer, nullable=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("resource_id", ID, nullable=True),  # the resource whose lock the task holds
    sa.Column("host", sa.String(255), nullable=True),  # the hypervisor it must run on (null: any worker)
    sa.Column("data", sa.JSON, nullable=True),
    sa.Column("created_resources", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("created_on", sa.DateTime, nullable=False),
    sa.Column("updated_on", sa.DateTime, nullable=True),
    sa.Column("finished_on", sa.DateTime, nullable=True),
    sa.Column("acknowledged_at", sa.DateTime, nullable=True),
    sa.Column("acknowledged_by", sa.Integer, nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", sa.DateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Index("ix_tasks_state_created", "state", "created_on"),
    sa.Index("ix_tasks_client_created", "client_id", "created_on"),
    sa.Index("ix_tasks_project_region_state", "project_id", "region_id", "state"),
    # the retention purge finds old finished tasks without reading every finished one (migration 0006)
    sa.Index("ix_tasks_state_finished", "state", "finished_on"),
)

faults = sa.Table(
    "faults", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("operation", sa.String(64), nullable=False, index=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("remaining", sa.Integer, nullable=True),  # null: every time
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

"""Instances with their tags, volumes, SSH keys and server groups."""

from __future__ import annotations

import sqlalchemy as sa

from cloudlet.models.base import ID, lock_columns, metadata, timestamps

instances = sa.Table(
    "instances", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("region_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("flavor_id", sa.String(128), nullable=False),
    sa.Column("vcpus", sa.Integer, nullable=False),
    sa.Column("ram", sa.Integer, nullable=False),
    sa.Column("os_type", sa.String(16), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("vm_state", sa.String(32), nullable=False),
    sa.Column("task_state", sa.String(64), nullable=True),
    sa.Column("ssh_key_name", sa.String(255), nullable=True),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("servergroup_id", ID, nullable=True, index=True),
    sa.Column("isolation_reason", sa.Text, nullable=True),
    # Password and user data wait here only until the guest is spawned, then are wiped.
    sa.Column("boot_secrets", sa.JSON, nullable=True),
    # Bumped by database triggers on every change to the instance or to what its representation shows
    # (ports, addresses, floating IPs, security groups, volumes, tags): what a cached rendering is checked against.
    sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"),
    *timestamps(),
    *lock_columns(),
    sa.Index("ix_instances_scope_created", "project_id", "region_id", "created_at"),
    sa.Index("ix_instances_scope_status", "project_id", "region_id", "status", "created_at"),
    sa.Index("ix_instances_scope_status_name", "project_id", "region_id", "status", "name"),
    sa.Index("ix_instances_scope_name", "project_id", "region_id", "name"),
    sa.Index("ix_instances_scope_updated", "project_id", "region_id", "updated_at"),
    sa.Index("ix_instances_host", "host"),
)

instance_tags = sa.Table(
    "instance_tags", metadata,
    sa.Column("instance_id", ID, sa.ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.String(1024), nullable=False),
    sa.Column("read_only", sa.Boolean, nullable=False),
    sa.Index("ix_instance_tags_key_value", "key", "value"),
)

volumes = sa.Table(
    "volumes", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("region_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("volume_type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("bootable", sa.Boolean, nullable=False),
    sa.Column("image_id", ID, nullable=True),
    sa.Column("snapshot_id", ID, nullable=True),
    sa.Column("image_metadata", sa.JSON, nullable=True),
    sa.Column("instance_id", ID, nullable=True, index=True),
    sa.Column("boot_index", sa.Integer, nullable=True),
    sa.Column("delete_on_termination", sa.Boolean, nullable=False),
    sa.Column("attachment_tag", sa.String(255), nullable=True),
    sa.Column("device", sa.String(32), nullable=True),
    sa.Column("attached_at", sa.DateTime, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    *timestamps(),
    *lock_columns(),
    sa.Index("ix_volumes_project_region", "project_id", "region_id", "created_at"),
)

ssh_keys = sa.Table(
    "ssh_keys", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("public_key", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    sa.Column("shared_in_project", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("project_id", "name", name="uq_ssh_keys_project_name"),
)

servergroups = sa.Table(
    "servergroups", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("region_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("policy", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_servergroups_project_region", "project_id", "region_id"),
)

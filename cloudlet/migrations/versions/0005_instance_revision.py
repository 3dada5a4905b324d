"""instances.revision: a counter the database bumps on every change an instance's representation shows

Revision ID: 0005
Revises: 0004

Triggers keep it exact whatever code writes: the instance row itself, the rows the API renders
into it (ports, their addresses, floating IPs, port security groups, volumes, tags), and the names it
shows of its networks, subnets and security groups. A reader that cached a rendering at revision N may
serve it as long as the row still says N.

SQLite drops a table's triggers when a batch migration recreates the table: a later migration that
does so must create them again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (table, the instance ids a changed row concerns, as SQL over OLD/NEW)
_SQLITE_RELATED = {
    "ports": ("{row}.instance_id",),
    "volumes": ("{row}.instance_id",),
    "instance_tags": ("{row}.instance_id",),
    "ip_allocations": ("(SELECT instance_id FROM ports WHERE id = {row}.port_id)",),
    "port_security_groups": ("(SELECT instance_id FROM ports WHERE id = {row}.port_id)",),
    "floating_ips": ("(SELECT instance_id FROM ports WHERE id = {row}.port_id)",),
}


def _sqlite_upgrade() -> None:
    # The instance row: any update that leaves revision alone bumps it (recursive triggers are off,
    # so the trigger's own UPDATE does not fire it again).
    op.execute("""
        CREATE TRIGGER trg_instances_revision AFTER UPDATE ON instances
        WHEN NEW.revision = OLD.revision
        BEGIN UPDATE instances SET revision = OLD.revision + 1 WHERE id = NEW.id; END
    """)
    for table, (target,) in _SQLITE_RELATED.items():
        for event, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), ("UPDATE", ("OLD", "NEW"))):
            ids = ", ".join(target.format(row=r) for r in rows)
            op.execute(f"""
                CREATE TRIGGER trg_{table}_{event.lower()}_revision AFTER {event} ON {table}
                BEGIN UPDATE instances SET revision = revision + 1 WHERE id IN ({ids}); END
            """)
    for table, concerned in _RENAMES.items():
        op.execute(f"""
            CREATE TRIGGER trg_{table}_name_revision AFTER UPDATE OF name ON {table}
            BEGIN UPDATE instances SET revision = revision + 1 WHERE id IN ({concerned}); END
        """)


# renamed things whose names the rendering shows: (table, the instances concerned by row NEW)
_RENAMES = {
    "networks": "SELECT instance_id FROM ports WHERE network_id = NEW.id",
    "subnets": "SELECT p.instance_id FROM ports p JOIN ip_allocations a ON a.port_id = p.id "
               "WHERE a.subnet_id = NEW.id",
    "security_groups": "SELECT p.instance_id FROM ports p JOIN port_security_groups g ON g.port_id = p.id "
                       "WHERE g.security_group_id = NEW.id",
}

_PG_RELATED = {
    "ports": "r.instance_id",
    "volumes": "r.instance_id",
    "instance_tags": "r.instance_id",
    "ip_allocations": "(SELECT instance_id FROM ports WHERE id = r.port_id)",
    "port_security_groups": "(SELECT instance_id FROM ports WHERE id = r.port_id)",
    "floating_ips": "(SELECT instance_id FROM ports WHERE id = r.port_id)",
}


def _pg_upgrade() -> None:
    op.execute("""
        CREATE FUNCTION cloudlet_instance_revision() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.revision := OLD.revision + 1; RETURN NEW; END $$
    """)
    op.execute("""
        CREATE TRIGGER trg_instances_revision BEFORE UPDATE ON instances
        FOR EACH ROW EXECUTE FUNCTION cloudlet_instance_revision()
    """)
    for table, target in _PG_RELATED.items():
        old_ids = target.replace("r.", "OLD.")
        new_ids = target.replace("r.", "NEW.")
        op.execute(f"""
            CREATE FUNCTION cloudlet_{table}_revision() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    UPDATE instances SET revision = revision + 1 WHERE id = {old_ids};
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    UPDATE instances SET revision = revision + 1 WHERE id = {new_ids};
                END IF;
                RETURN NULL;
            END $$
        """)
        op.execute(f"""
            CREATE TRIGGER trg_{table}_revision AFTER INSERT OR UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION cloudlet_{table}_revision()
        """)
    for table, concerned in _RENAMES.items():
        op.execute(f"""
            CREATE FUNCTION cloudlet_{table}_name_revision() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE instances SET revision = revision + 1 WHERE id IN ({concerned});
                RETURN NULL;
            END $$
        """)
        op.execute(f"""
            CREATE TRIGGER trg_{table}_name_revision AFTER UPDATE OF name ON {table}
            FOR EACH ROW EXECUTE FUNCTION cloudlet_{table}_name_revision()
        """)


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch_op:
        batch_op.add_column(sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"))
    # a status-filtered page ordered by name reads the index in order instead of sorting every match
    op.create_index("ix_instances_scope_status_name", "instances", ["project_id", "region_id", "status", "name"])
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_instances_revision ON instances")
        op.execute("DROP FUNCTION IF EXISTS cloudlet_instance_revision()")
        for table in _PG_RELATED:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_revision ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS cloudlet_{table}_revision()")
        for table in _RENAMES:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_name_revision ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS cloudlet_{table}_name_revision()")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_instances_revision")
        for table in _SQLITE_RELATED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_{event}_revision")
        for table in _RENAMES:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_name_revision")
    op.drop_index("ix_instances_scope_status_name", table_name="instances")
    with op.batch_alter_table("instances") as batch_op:
        batch_op.drop_column("revision")

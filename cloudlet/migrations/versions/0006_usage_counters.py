"""project_usage, host_allocations, instance_status_counts: what quotas, placement and lists count

Revision ID: 0006
Revises: 0005

A create checks the client's quotas, a create_vm task places the instance on the least loaded host, and
a list answers with the total count of its matches; all three used to count every instance (volume,
external port), so they cost more the more there were. Triggers now keep the sums, in the same
transaction as the change, whatever code writes it: ``project_usage`` per (project, region),
``host_allocations`` per hypervisor host, ``instance_status_counts`` per (project, region, status).

Lock order on PostgreSQL, so that counters never deadlock: a transaction's counter rows are the
project_usage row of the project it changes (taken after the regional_quotas row that creates lock
first), then host_allocations rows, then instance_status_counts rows (triggers fire in name order:
``..._1_project``, ``..._2_host``, ``..._3_status``); where one change moves two rows of a counter (a
status change), the lower key is locked first.

SQLite drops a table's triggers when a batch migration recreates the table: a later migration that
does so must create them again.
"""


import dataclasses

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SHARED = "CASE WHEN substr({r}.flavor_id, 1, 10) = 'g1s-shared' THEN 1 ELSE 0 END"
_EXTERNAL = "{r}.network_id IN (SELECT id FROM networks WHERE external)"


@dataclasses.dataclass(frozen=True)
class _Counter:
    """Rows of ``source`` add ``amounts`` (SQL over row ``{r}``) to the ``target`` row named by ``key``."""

    name: str
    source: str
    target: str
    key: dict[str, str]  # target key column -> SQL over {r}
    amounts: dict[str, str]  # target column -> SQL over {r}
    condition: str = "true"  # rows that count at all

    @property
    def watched(self) -> list[str]:
        """The source columns whose change moves the counts."""
        sql = " ".join([*self.key.values(), *self.amounts.values(), self.condition])
        return sorted({c for c in ("project_id", "region_id", "flavor_id", "vcpus", "ram", "host", "size",
                                    "network_id", "status") if "{r}." + c in sql})

    def key_of(self, row: str) -> str:
        return "ROW(" + ", ".join(v.format(r=row) for v in self.key.values()) + ")"

    def apply(self, row: str, sign: str) -> str:
        """Add (sign ``+``) or take away (``-``) row ``row``'s amounts: an upsert of the target row."""
        columns = [*self.key, *self.amounts]
        values = [v.format(r=row) for v in self.key.values()] + [
            f"{sign}({v.format(r=row)})" for v in self.amounts.values()]
        updates = ", ".join(f"{c} = {self.target}.{c} + excluded.{c}" for c in self.amounts)
        return (f"INSERT INTO {self.target} ({', '.join(columns)}) SELECT {', '.join(values)} "
                f"WHERE {self.condition.format(r=row)} "
                f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {updates}")


_COUNTERS = [
    _Counter("instances_usage_1_project", "instances", "project_usage",
             {"project_id": "{r}.project_id", "region_id": "{r}.region_id"},
             {"instances": "1", "shared_instances": _SHARED, "vcpus": "{r}.vcpus", "ram": "{r}.ram"}),
    _Counter("instances_usage_2_host", "instances", "host_allocations", {"host": "{r}.host"},
             {"instances": "1", "vcpus": "{r}.vcpus", "ram": "{r}.ram"}, condition="{r}.host IS NOT NULL"),
    _Counter("instances_usage_3_status", "instances", "instance_status_counts",
             {"project_id": "{r}.project_id", "region_id": "{r}.region_id", "status": "{r}.status"},
             {"instances": "1"}),
    _Counter("volumes_usage_1_project", "volumes", "project_usage",
             {"project_id": "{r}.project_id", "region_id": "{r}.region_id"},
             {"volumes": "1", "volume_size": "{r}.size"}),
    _Counter("ports_usage_1_project", "ports", "project_usage",
             {"project_id": "{r}.project_id", "region_id": "{r}.region_id"},
             {"external_ips": "1"}, condition=_EXTERNAL),
]


def _create_tables() -> None:
    def amount(name: str) -> sa.Column[int]:
        return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")

    op.create_table(
        "project_usage",
        sa.Column("project_id", sa.Integer(), primary_key=True),
        sa.Column("region_id", sa.Integer(), primary_key=True),
        *(amount(n) for n in ("instances", "shared_instances", "vcpus", "ram", "volumes", "volume_size",
                              "external_ips")),
    )
    op.create_table(
        "host_allocations",
        sa.Column("host", sa.String(255), primary_key=True),
        *(amount(n) for n in ("instances", "vcpus", "ram")),
    )
    op.create_table(
        "instance_status_counts",
        sa.Column("project_id", sa.Integer(), primary_key=True),
        sa.Column("region_id", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(32), primary_key=True),
        amount("instances"),
    )


def _backfill() -> None:
    for counter in _COUNTERS:
        columns = [*counter.key, *counter.amounts]
        keys = ", ".join(f"{v.format(r='s')} AS {k}" for k, v in counter.key.items())
        sums = ", ".join(f"sum({v.format(r='s')})" for v in counter.amounts.values())
        group = ", ".join(v.format(r="s") for v in counter.key.values())
        updates = ", ".join(f"{c} = {counter.target}.{c} + excluded.{c}" for c in counter.amounts)
        # the WHERE also settles SQLite's INSERT ... SELECT ... ON CONFLICT parsing ambiguity
        op.execute(f"INSERT INTO {counter.target} ({', '.join(columns)}) SELECT {keys}, {sums} "
                   f"FROM {counter.source} s WHERE {counter.condition.format(r='s')} GROUP BY {group} "
                   f"ON CONFLICT ({', '.join(counter.key)}) DO UPDATE SET {updates}")


def _sqlite_triggers() -> None:
    for c in _COUNTERS:
        changed = " OR ".join(f"OLD.{col} IS NOT NEW.{col}" for col in c.watched)
        op.execute(f"CREATE TRIGGER trg_{c.name}_insert AFTER INSERT ON {c.source} "
                   f"BEGIN {c.apply('NEW', '+')}; END")
        op.execute(f"CREATE TRIGGER trg_{c.name}_delete AFTER DELETE ON {c.source} "
                   f"BEGIN {c.apply('OLD', '-')}; END")
        op.execute(f"CREATE TRIGGER trg_{c.name}_update AFTER UPDATE OF {', '.join(c.watched)} ON {c.source} "
                   f"WHEN {changed} BEGIN {c.apply('OLD', '-')}; {c.apply('NEW', '+')}; END")


def _pg_triggers() -> None:
    for c in _COUNTERS:
        unchanged = " AND ".join(f"OLD.{col} IS NOT DISTINCT FROM NEW.{col}" for col in c.watched)
        op.execute(f"""
            CREATE FUNCTION cloudlet_{c.name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    {c.apply('NEW', '+')};
                ELSIF TG_OP = 'DELETE' THEN
                    {c.apply('OLD', '-')};
                ELSIF {unchanged} THEN
                    RETURN NULL;
                ELSIF {c.key_of('OLD')} < {c.key_of('NEW')} THEN  -- the lower key's row first
                    {c.apply('OLD', '-')};
                    {c.apply('NEW', '+')};
                ELSE
                    {c.apply('NEW', '+')};
                    {c.apply('OLD', '-')};
                END IF;
                RETURN NULL;
            END $$
        """)
        op.execute(f"CREATE TRIGGER trg_{c.name} AFTER INSERT OR DELETE OR UPDATE OF {', '.join(c.watched)} "
                   f"ON {c.source} FOR EACH ROW EXECUTE FUNCTION cloudlet_{c.name}()")


def upgrade() -> None:
    # not a counter, but the same cost that grows with the rows: the engine's retention purge, every few
    # seconds on the event loop, read every finished task to find the old ones (a 20 ms stall at 100,000)
    op.create_index("ix_tasks_state_finished", "tasks", ["state", "finished_on"])
    _create_tables()
    _backfill()
    if op.get_bind().dialect.name == "postgresql":
        _pg_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for c in _COUNTERS:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{c.name} ON {c.source}")
            op.execute(f"DROP FUNCTION IF EXISTS cloudlet_{c.name}()")
        else:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS trg_{c.name}_{event}")
    op.drop_index("ix_tasks_state_finished", "tasks")
    op.drop_table("instance_status_counts")
    op.drop_table("host_allocations")
    op.drop_table("project_usage")

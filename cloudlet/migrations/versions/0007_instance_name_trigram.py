"""A trigram index of instances.name, so a name-substring filter need not scan every instance

Revision ID: 0007
Revises: 0006

SQLite: ``instances_name_trgm``, an FTS5 table with the trigram tokenizer over the name, external
content keyed by the instances table's implicit rowid (its primary key is a string) and kept in sync by
triggers. A later migration that recreates ``instances`` (a batch migration) drops these triggers and may
renumber the rowids (as, SQLite's documentation warns, a VACUUM may): it must create the triggers again
and rebuild the index (``INSERT INTO instances_name_trgm(instances_name_trgm) VALUES ('rebuild')``).

PostgreSQL: a GIN ``gin_trgm_ops`` index, which ILIKE '%...%' uses by itself. It needs the pg_trgm
extension; where that is not available or not ours to create, the migration leaves the index out and the
filter scans, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_FTS = "instances_name_trgm"
_PG_INDEX = "ix_instances_name_trgm"


def _sqlite_upgrade() -> None:
    op.execute(f"""
        CREATE VIRTUAL TABLE {_FTS} USING fts5(
            name, content='instances', content_rowid='rowid', tokenize='trigram'
        )
    """)
    op.execute(f"""
        CREATE TRIGGER trg_instances_name_trgm_insert AFTER INSERT ON instances
        BEGIN INSERT INTO {_FTS}(rowid, name) VALUES (NEW.rowid, NEW.name); END
    """)
    op.execute(f"""
        CREATE TRIGGER trg_instances_name_trgm_delete AFTER DELETE ON instances
        BEGIN INSERT INTO {_FTS}({_FTS}, rowid, name) VALUES ('delete', OLD.rowid, OLD.name); END
    """)
    # only on UPDATE OF name: the revision bumps (0005) and every other update leave the index alone
    op.execute(f"""
        CREATE TRIGGER trg_instances_name_trgm_update AFTER UPDATE OF name ON instances
        WHEN NEW.name IS NOT OLD.name
        BEGIN
            INSERT INTO {_FTS}({_FTS}, rowid, name) VALUES ('delete', OLD.rowid, OLD.name);
            INSERT INTO {_FTS}(rowid, name) VALUES (NEW.rowid, NEW.name);
        END
    """)
    op.execute(f"INSERT INTO {_FTS}({_FTS}) VALUES ('rebuild')")


def _pg_upgrade() -> None:
    bind = op.get_bind()
    if not bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar():
        return
    try:
        with bind.begin_nested():  # a failure (e.g. no permission to create the extension) undoes only this
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            bind.execute(sa.text(f"CREATE INDEX {_PG_INDEX} ON instances USING gin (name gin_trgm_ops)"))
    except sa.exc.DBAPIError:
        pass


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm stays: it is the database's, and something else may use it (or have installed it)
        op.execute(f"DROP INDEX IF EXISTS {_PG_INDEX}")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_instances_name_trgm_{event}")
        op.execute(f"DROP TABLE IF EXISTS {_FTS}")

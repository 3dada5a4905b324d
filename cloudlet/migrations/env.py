"""Alembic environment: cloudlet passes an open connection (see ``cloudlet.core.migrate``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from cloudlet.models import metadata

config = context.config


def run_migrations(connection: sa.engine.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:  # `alembic` on the command line, with sqlalchemy.url set in alembic.ini or -x url=...
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        run_migrations(conn)

"""Alembic environment: migrates the connection handed over in `config.attributes`.

Only `broker.store.migrate` drives it; it never opens a database of its own.
"""

from alembic import context
from sqlalchemy.engine import Connection

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through broker.store.migrate, with a connection")

context.configure(
    connection=connection,
    target_metadata=config.attributes["target_metadata"],
    version_table=config.attributes["version_table"],
    # SQLite alters tables by copying them; batch mode writes that for later revisions.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

"""The highest directory serial a service has accepted, kept in its own database.

One row (id 1) in a table of the gateway's or the tracker's own (`gateway_directory`,
`tracker_directory`: both may share one database). Kept in the store rather than a file
beside the service because that is where the service's state lives and is backed up: a
container whose local disk is thrown away keeps it, and trackers sharing one database
share it, so a standby started with an older directory than the active one accepted is
refused. Plain functions of a synchronous connection: the gateway's store runs them as
they are, the tracker's through `run_sync`.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from broker.store.engine import insert_new

_ROW = 1


def directory_table(name: str, metadata: sa.MetaData) -> sa.Table:
    """The one-row table `name` in `metadata` (each component's tables module names its own)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("accepted_at", sa.Double(), nullable=False),
    )


def highest_serial(connection: Connection, table: sa.Table) -> int:
    """The serial kept in `table`; 0 before any was accepted."""
    query = sa.select(table.c.serial).where(table.c.id == _ROW)
    return int(connection.execute(query).scalar_one_or_none() or 0)


def raise_serial(connection: Connection, table: sa.Table, serial: int, at: float) -> int:
    """Keep `serial` if it is higher than the one kept; return the one kept after."""
    row = {"id": _ROW, "serial": serial, "accepted_at": at}
    connection.execute(insert_new(connection.dialect.name, table), [row])
    connection.execute(
        sa.update(table)
        .where(table.c.id == _ROW, table.c.serial < serial)
        .values(serial=serial, accepted_at=at)
    )
    return highest_serial(connection, table)

"""A store as the previous release left it: its schema made by the previous release's
migrations, its rows copied from a store the current code filled, column by column as far
as the older tables have them.

The rows are written by the store API (sealed bodies, JSON, enums as the code writes them),
not typed out as SQL; the schema is the older one, reflected, so a column renamed or made
required since then fails the copy, as it would fail an operator's upgrade.
"""

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from broker.store import migrate
from broker.store.engine import make_engine

Rows = dict[str, list[dict[str, Any]]]

PREVIOUS_RELEASE = {"gateway": "gateway_0007", "tracker": "tracker_0007"}
"""The heads at 2b8bb36, the release before gateway_0008 (the inbox pages' sessions). Move
these to the heads of the release just made when the next one adds revisions."""


async def previous_release_store(source_url: str, target_url: str, component: str) -> Rows:
    """Migrate `target_url` to the previous release's head of `component` and copy every
    row of `source_url`'s tables that exist there; returns the rows copied, by table."""
    revision = PREVIOUS_RELEASE[component]
    source, target = make_engine(source_url), make_engine(target_url)
    try:
        async with source.connect() as reading:
            everything = await reading.run_sync(_rows)
        async with target.begin() as writing:
            await writing.run_sync(_upgrade_to, component, revision)
            return await writing.run_sync(_insert, everything, component)
    finally:
        await source.dispose()
        await target.dispose()


async def rows_now(url: str, copied: Rows) -> Rows:
    """The rows of the tables in `copied`, in the columns copied, as the database holds them."""
    engine = make_engine(url)
    try:
        async with engine.connect() as reading:
            found = await reading.run_sync(_rows)
    finally:
        await engine.dispose()
    return {
        table: sorted(
            ({column: row[column] for column in rows[0]} for row in found[table]), key=repr
        )
        if rows
        else found[table]
        for table, rows in copied.items()
    }


def _rows(connection: Connection) -> Rows:
    metadata = sa.MetaData()
    metadata.reflect(connection)
    return {
        name: sorted((dict(row._mapping) for row in connection.execute(table.select())), key=repr)
        for name, table in metadata.tables.items()
    }


def _upgrade_to(connection: Connection, component: str, revision: str) -> None:
    command.upgrade(migrate.alembic_config(component, connection), revision)


def _insert(
    connection: Connection, everything: Mapping[str, list[dict[str, Any]]], component: str
) -> Rows:
    metadata = sa.MetaData()
    metadata.reflect(connection)
    copied: Rows = {}
    for name, table in metadata.tables.items():
        if name == f"caselink_{component}_version" or name not in everything:
            continue  # the version is the migrations' own; another component's tables
        older = [
            {c.name: row[c.name] for c in table.columns if c.name in row}
            for row in everything[name]
        ]
        if older:
            connection.execute(table.insert(), older)
            _follow_sequences(connection, table)
        copied[name] = sorted(older, key=repr)
    return copied


def _follow_sequences(connection: Connection, table: sa.Table) -> None:
    # Ids given explicitly leave PostgreSQL's sequences behind (the release that wrote them
    # would have drawn them from the sequence); SQLite takes the next after the largest.
    if connection.dialect.name != "postgresql":
        return
    for column in table.primary_key.columns:
        if isinstance(column.type, sa.Integer):
            connection.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'),"
                    f" (SELECT max({column.name}) FROM {table.name}))"
                )
            )

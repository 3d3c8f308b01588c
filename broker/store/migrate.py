"""Schema migrations (Alembic) run from code: no alembic.ini is needed at runtime.

Each component keeps its revisions in `migrations/<component>/` and its own version table
`caselink_<component>_version`, so the gateway and the tracker can share one database
and still migrate independently.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from broker.store import gateway_tables, tracker_tables

MIGRATIONS = Path(__file__).with_name("migrations")

COMPONENTS: dict[str, MetaData] = {
    "gateway": gateway_tables.metadata,
    "tracker": tracker_tables.metadata,
}
"""Component name -> the metadata its revisions must produce (checked by a test)."""


def alembic_config(component: str, connection: Connection | None = None) -> Config:
    """An Alembic config for `component`; raises KeyError for an unknown component."""
    metadata = COMPONENTS[component]
    config = Config()
    # One location per component; "os" splits on os.pathsep, so paths may hold spaces.
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", _escaped(MIGRATIONS))
    config.set_main_option("version_locations", _escaped(MIGRATIONS / component))
    config.attributes["connection"] = connection
    config.attributes["version_table"] = f"caselink_{component}_version"
    config.attributes["target_metadata"] = metadata
    return config


def upgrade(connection: Connection, component: str = "gateway") -> None:
    """Bring `component`'s tables to the newest revision on `connection`; idempotent.

    Runs inside the caller's transaction (use with `AsyncConnection.run_sync`).
    """
    command.upgrade(alembic_config(component, connection), "head")


def head(component: str) -> str:
    """The newest revision of `component`: what `upgrade` brings its tables to."""
    newest = ScriptDirectory.from_config(alembic_config(component)).get_current_head()
    if newest is None:
        raise KeyError(component)
    return newest


def current(connection: Connection, component: str = "gateway") -> str | None:
    """The revision `component` is at on `connection`, None before the first upgrade."""
    version_table = f"caselink_{component}_version"
    return MigrationContext.configure(
        connection, opts={"version_table": version_table}
    ).get_current_revision()


def _escaped(path: Path) -> str:
    # Config values go through ConfigParser interpolation, where "%" is special.
    return str(path).replace("%", "%%")

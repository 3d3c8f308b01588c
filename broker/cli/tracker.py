"""`caselink tracker`: run the tracker and dashboard, list what is overdue now, or back up
its store."""

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from broker.cli.exits import fail
from broker.cli.guard import cli_errors
from broker.tracker.config import TrackerSettings, load_tracker_settings
from broker.tracker.escalation import overdue_seconds
from broker.tracker.listings import UNANSWERED
from broker.tracker.records import ThreadFilter, ThreadRow

app = typer.Typer(
    help="The tracker: follows every thread, raises alerts, serves the coordinators' dashboard.",
    invoke_without_command=True,
)

ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", envvar="CASELINK_TRACKER_CONFIG", help="The tracker's TOML settings."),
]


def _settings(config: Path | None) -> TrackerSettings:
    if config is None:
        fail("--config (or CASELINK_TRACKER_CONFIG) is required")
    with cli_errors():
        return load_tracker_settings(config)


@app.callback()
def run(ctx: typer.Context, config: ConfigFile = None) -> None:
    """Run the tracker service and dashboard (when no sub-command is given)."""
    ctx.obj = config
    if ctx.invoked_subcommand is None:
        from broker.app.tracker import build_tracker_app, serve  # heavy imports only here

        settings = _settings(config)
        with cli_errors():
            tls = settings.server_tls()  # before the app: a bad key stops the start here
            app = build_tracker_app(settings)
        serve(app, settings, tls)


@app.command("overdue")
def overdue(
    ctx: typer.Context,
    config: ConfigFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many threads.")] = 200,
) -> None:
    """Threads past a deadline now, the latest first: the dashboard's first list."""
    settings = _settings(config or ctx.obj)
    now = int(time.time())
    with cli_errors():
        rows = asyncio.run(_overdue_rows(settings, now, limit))
    if as_json:
        for row in rows:
            typer.echo(json.dumps(overdue_record(row, now)))
        return
    table = Table("thread", "kind", "from", "to", "urgency", "phase", "late by")
    for row in rows:
        state = row.state
        table.add_row(
            state.thread_id,
            state.kind.value if state.kind else "-",
            state.sender or "-",
            ", ".join(state.recipients),
            state.urgency.value if state.urgency else "-",
            state.phase.value,
            _duration(overdue_seconds(row.current_deadline, now) or 0),
        )
    Console().print(table)
    typer.echo(f"{len(rows)} overdue", err=True)


@app.command("backup")
def backup(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The copy to write (0600; never replaced).")],
    config: ConfigFile = None,
) -> None:
    """Copy the tracker's SQLite store, while it runs, to one file (SQLite's online backup).

    A PostgreSQL store is backed up with pg_dump instead (docs/operations.md).
    """
    settings = _settings(config or ctx.obj)
    from broker.store.backup import backup_store

    with cli_errors():
        size = backup_store(settings.store_url, out)
    typer.echo(f"backed up the tracker's store to {out} ({size} bytes)")


@app.command("hash-password")
def hash_password_command(
    from_stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the password from stdin's first line (scripts).")
    ] = False,
) -> None:
    """Read a password (not echoed) and print its scrypt hash for the users file."""
    from broker.people.passwords import hash_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on stdin")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    typer.echo(hash_password(password))


async def _overdue_rows(settings: TrackerSettings, now: int, limit: int) -> list[ThreadRow]:
    from broker.app.tracker import open_store

    store = open_store(settings)
    try:
        # Read only: a missing or outdated schema is an error here, never migrated.
        rows = await store.threads(UNANSWERED, ThreadFilter(), limit=limit)
    finally:
        await store.close()
    return [r for r in rows if overdue_seconds(r.current_deadline, now) is not None]


def overdue_record(row: ThreadRow, now: int) -> dict[str, object]:
    """Ids, categories and times of an overdue thread."""
    state = row.state
    return {
        "thread_id": state.thread_id,
        "kind": state.kind.value if state.kind else None,
        "sender": state.sender,
        "recipients": list(state.recipients),
        "urgency": state.urgency.value if state.urgency else None,
        "phase": state.phase.value,
        "deadline": row.current_deadline,
        "overdue_seconds": overdue_seconds(row.current_deadline, now),
    }


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m"

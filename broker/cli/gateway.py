"""`caselink gateway`: run one agency's gateway, or erase the bodies of one thread."""

import asyncio
import getpass
import re
import time
from pathlib import Path
from typing import Annotated

import typer

from broker.cli.exits import fail
from broker.cli.guard import cli_errors
from broker.gateway.config import GatewaySettings, load_settings
from schemas.ids import UUID4_PATTERN

app = typer.Typer(
    help="One agency's gateway: its queue consumer, outbox relay and local HTTP API.",
    invoke_without_command=True,
)

ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="The gateway's TOML settings.", show_default=False)
]


def _settings(config: Path | None) -> GatewaySettings:
    if config is None:
        fail("--config is required")
    with cli_errors():
        return load_settings(config)


@app.callback()
def run(ctx: typer.Context, config: ConfigFile = None) -> None:
    """Run one agency's gateway (when no sub-command is given)."""
    ctx.obj = config
    if ctx.invoked_subcommand is None:
        from broker.app.gateway import build_app, serve  # heavy imports only for this verb

        settings = _settings(config)
        with cli_errors():
            app = build_app(settings)
        serve(app, settings)


@app.command("erase")
def erase(
    ctx: typer.Context,
    thread: Annotated[str, typer.Option("--thread", help="The thread id (a UUID).")],
    config: ConfigFile = None,
) -> None:
    """Erase every body of one thread, received and sent, now; ids, states and times stay.

    The erasure log records the thread, the time, who asked (this login) and how many.
    """
    settings = _settings(config or ctx.obj)
    if not re.fullmatch(UUID4_PATTERN, thread):
        fail("--thread must be a thread id (a UUIDv4)")
    with cli_errors():
        count = asyncio.run(erase_thread(settings, thread, by=f"operator:{_login()}"))
    typer.echo(f"erased {count} bodies of thread {thread}")


async def erase_thread(settings: GatewaySettings, thread_id: str, *, by: str) -> int:
    """Erase the thread's bodies in the gateway's store, beside a running gateway or not."""
    from broker.store.gateway_store import SqlGatewayStore

    store = SqlGatewayStore(settings.store_url)
    try:
        # Migrated first: the erasure log is a table of gateway_0003 (a gateway that has
        # not started since the upgrade has not created it yet).
        await store.create()
        return await store.erase_thread(thread_id, at=time.time(), by=by)
    finally:
        await store.close()


def _login() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return "unknown"
    # A login name is an id; keep it to the column's width and to plain characters.
    return re.sub(r"[^A-Za-z0-9._@-]", "_", name)[:48] or "unknown"

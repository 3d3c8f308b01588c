"""`caselink gateway`: run one agency's gateway, erase the bodies of one thread, back up its
store, or add and remove the users of its API."""

import asyncio
import getpass
import re
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from broker.cli.exits import fail
from broker.cli.guard import cli_errors
from broker.gateway.config import GatewaySettings, load_settings
from broker.gateway.users import PEOPLE, Role
from schemas.ids import UUID4_PATTERN

app = typer.Typer(
    help="One agency's gateway: its queue consumer, outbox relay and local HTTP API.",
    invoke_without_command=True,
)

ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="The gateway's TOML settings.", show_default=False)
]

MIN_PASSWORD = 12  # characters; NIST SP 800-63B asks for 8 at least
UsersFile = Annotated[Path, typer.Option("--users", help="The gateway's users file (0600).")]


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
        folder = Path(".") if config is None else config.resolve().parent
        with cli_errors():
            tls = settings.server_tls()  # before the app: a bad key stops the start here
            app = build_app(settings, folder)
        serve(app, settings, tls)


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


@app.command("backup")
def backup(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The copy to write (0600; never replaced).")],
    config: ConfigFile = None,
) -> None:
    """Copy the gateway's SQLite store, while it runs, to one file (SQLite's online backup).

    A PostgreSQL store is backed up with pg_dump instead (docs/operations.md).
    """
    settings = _settings(config or ctx.obj)
    from broker.store.backup import backup_store

    with cli_errors():
        size = backup_store(settings.store_url, out)
    typer.echo(f"backed up the gateway's store to {out} ({size} bytes)")


@app.command("add-user")
def add_user_command(
    users: UsersFile,
    name: Annotated[str, typer.Option("--name", help="Sign-in name: letters, digits, . _ @ -")],
    role: Annotated[Role, typer.Option("--role", help="caseworker, supervisor or system.")],
    token: Annotated[
        bool, typer.Option("--token", help="A system: print a fresh API token once.")
    ] = False,
    display_name: Annotated[
        str | None, typer.Option(help="How answers name this user (default: the name).")
    ] = None,
    job_title: Annotated[
        str | None, typer.Option(help="The role answers give (default: by role).")
    ] = None,
    phone: Annotated[str | None, typer.Option(help="Given in answers.")] = None,
    email: Annotated[str | None, typer.Option(help="Given in answers.")] = None,
    language: Annotated[
        str | None, typer.Option(help="The inbox pages' language: en, th, da or es (default en).")
    ] = None,
    time_zone: Annotated[
        str | None,
        typer.Option(
            help="Times on the inbox pages, an IANA zone like Asia/Bangkok (default UTC)."
        ),
    ] = None,
) -> None:
    """Add a person (the password from stdin's first line, or asked at a terminal) or,
    with --token, a system: its token goes to stdout once, only its hash is stored."""
    from broker.operator.gateway_users import add_user
    from broker.people.passwords import hash_password
    from broker.people.tokens import new_token, token_hash

    if token == (role in PEOPLE):
        fail("a system needs --token; a caseworker or supervisor signs in with a password")
    entry = {"name": name, "role": role.value}
    fresh = new_token() if token else None
    if fresh is not None:
        entry["token_hash"] = token_hash(fresh)
    else:
        entry["password_hash"] = hash_password(_password())
    optional = {
        "display_name": display_name,
        "job_title": job_title,
        "phone": phone,
        "email": email,
        "language": language,
        "time_zone": time_zone,
    }
    entry |= {key: value for key, value in optional.items() if value}
    with cli_errors():
        add_user(users, entry)
    if fresh is not None:
        typer.echo(fresh)
        typer.echo(f"system {name} added to {users}; its token is shown only this once", err=True)
    else:
        typer.echo(f"{role.value} {name} added to {users}", err=True)


@app.command("remove-user")
def remove_user_command(
    users: UsersFile,
    name: Annotated[str, typer.Option("--name", help="The user to remove.")],
) -> None:
    """Remove a user (and with them their password or token); restart the gateway after."""
    from broker.operator.gateway_users import remove_user

    with cli_errors():
        remove_user(users, name)
    typer.echo(f"{name} removed from {users}", err=True)


def _password() -> str:
    if sys.stdin.isatty():
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        fail(f"a password needs {MIN_PASSWORD} characters or more")
    return password

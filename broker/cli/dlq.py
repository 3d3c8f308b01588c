"""`caselink dlq list|show|requeue`: the dead-letter queue, for operators."""

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from broker.cli.exits import fail
from broker.cli.guard import cli_errors
from broker.operator.dead_letters import list_dead_letters, requeue_dead_letters

app = typer.Typer(no_args_is_help=True, help="Inspect and requeue refused or poison messages.")

AdminUrl = Annotated[
    str,
    typer.Option(
        "--amqp-url",
        envvar="CASELINK_ADMIN_AMQP_URL",
        help="An operator's AMQP URL for the federation's vhost.",
    ),
]
DEFAULT_ADMIN_URL = "amqp://guest:guest@127.0.0.1/caselink"


@app.command("list")
def list_command(
    amqp_url: AdminUrl = DEFAULT_ADMIN_URL,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every dead letter with its reason and route (never its content)."""
    with cli_errors():
        letters = asyncio.run(list_dead_letters(amqp_url))
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(letter.as_dict()))
        return
    table = Table("message id", "reason", "routing key", "size", "deaths")
    for letter in letters:
        table.add_row(
            letter.message_id or "-",
            letter.reason,
            letter.routing_key,
            str(letter.size),
            str(letter.deaths),
        )
    Console().print(table)
    typer.echo(f"{len(letters)} dead letters", err=True)


@app.command("show")
def show_command(
    message_id: Annotated[str, typer.Argument(metavar="MESSAGE_ID")],
    amqp_url: AdminUrl = DEFAULT_ADMIN_URL,
) -> None:
    """One dead letter's headers summary and digest."""
    with cli_errors():
        letters = asyncio.run(list_dead_letters(amqp_url))
    found = [letter for letter in letters if letter.message_id == message_id]
    if not found:
        fail(f"no dead letter with message id {message_id}")
    typer.echo(json.dumps(found[0].as_dict(), indent=2))


@app.command("requeue")
def requeue_command(
    message_ids: Annotated[list[str] | None, typer.Argument(metavar="MESSAGE_ID...")] = None,
    all_letters: Annotated[bool, typer.Option("--all", help="Requeue every dead letter.")] = False,
    amqp_url: AdminUrl = DEFAULT_ADMIN_URL,
) -> None:
    """Send dead letters back to their recipients (after the cause is fixed)."""
    if not message_ids and not all_letters:
        fail("name MESSAGE_IDs or pass --all")
    with cli_errors():
        done = asyncio.run(requeue_dead_letters(amqp_url, None if all_letters else message_ids))
    typer.echo(f"{len(done)} dead letters requeued", err=True)
    if message_ids and len(done) < len(message_ids):
        fail(f"{len(message_ids) - len(done)} message ids were not in the dead-letter queue")

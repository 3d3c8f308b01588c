"""`caselink dlq list|show|requeue|check`: the dead-letter queue, for operators.

Every value shown comes through `broker.operator.dead_letter_view` (escaped, ids from the
verified header only) and is printed as `rich.text.Text`, which never reads markup.
"""

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from broker.cli.exits import EXIT_NEAR_FULL, fail
from broker.cli.guard import cli_errors
from broker.envelope import TrustedDirectory
from broker.logs import quiet_amqp_client_logs
from broker.messaging.dead_letter_watch import Depth
from broker.operator.config import DlqSettings, load_dlq_settings
from broker.operator.dead_letter_view import DeadLetter, matches
from broker.operator.dead_letters import (
    dead_letter_depth,
    list_dead_letters,
    requeue_dead_letters,
)
from broker.operator.printable import printable

app = typer.Typer(no_args_is_help=True, help="Inspect and requeue refused or poison messages.")

ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="CASELINK_DLQ_CONFIG",
        help="The tool's TOML settings (deploy/operator/dlq.example.toml).",
    ),
]
WIDE = 240
NAMES = "a message id (of a letter whose header verifies) or a SHA-256 from `dlq list --json`"


def _settings(config: Path | None) -> tuple[DlqSettings, TrustedDirectory | None]:
    if config is None:
        fail("--config (or CASELINK_DLQ_CONFIG) is required")
    quiet_amqp_client_logs()  # the command says a failed connect in one line of its own
    with cli_errors():
        settings = load_dlq_settings(config)
        return settings, settings.trusted_directory()


def _letters(config: Path | None) -> tuple[DlqSettings, list[DeadLetter]]:
    settings, directory = _settings(config)
    with cli_errors():
        letters = asyncio.run(
            list_dead_letters(
                settings.amqp_url, directory, int(time.time()), tls=settings.amqp_tls()
            )
        )
    return settings, letters


@app.command("list")
def list_command(
    config: ConfigFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every dead letter: its ids, where and why it died, its digest (never its content)."""
    settings, letters = _letters(config)
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(letter.as_dict()))
    elif letters:
        table = Table("message id", "signature", "queue", "reason", "kind", "from", "sha256")
        for column in table.columns:
            column.overflow = "fold"  # every character shown: ids are copied from here
        for letter in letters:
            table.add_row(
                *(
                    Text(value or "-")
                    for value in (
                        letter.message_id,
                        letter.signature + (", expired" if letter.expired else ""),
                        letter.queue,
                        letter.reason,
                        letter.kind,
                        letter.published_by,
                        letter.sha256,
                    )
                )
            )
        console = Console()
        if not console.is_terminal:
            console.width = WIDE  # piped or redirected: no terminal width to keep to
        console.print(table)
    typer.echo(Depth(len(letters), settings.max_length).line(), err=True)


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(metavar="ID", help=f"The letter: {NAMES}.")],
    config: ConfigFile = None,
) -> None:
    """One dead letter in full: ids, RabbitMQ's x-death, every header escaped, its digest."""
    _, letters = _letters(config)
    if not letters:
        fail("the dead-letter queue is empty")
    found = [letter for letter in letters if matches(letter, name)]
    if not found:
        fail(f"no dead letter named {printable(name, 80)}: give {NAMES}")
    for letter in found:
        typer.echo(json.dumps(letter.as_dict(), indent=2))


@app.command("requeue")
def requeue_command(
    names: Annotated[
        list[str] | None, typer.Argument(metavar="ID...", help=f"The letters: {NAMES}.")
    ] = None,
    all_letters: Annotated[
        bool, typer.Option("--all", help="Every letter whose header verifies and is not expired.")
    ] = False,
    config: ConfigFile = None,
) -> None:
    """Put dead letters back into the queue each died in, as their original sender."""
    if not names and not all_letters:
        fail("name the letters (ID...) or pass --all")
    if names and all_letters:
        fail("give either IDs or --all, not both")
    settings, directory = _settings(config)
    with cli_errors():
        done = asyncio.run(
            requeue_dead_letters(
                settings.amqp_url,
                directory,
                None if all_letters else names,
                int(time.time()),
                tls=settings.amqp_tls(),
            )
        )
    if done.seen == 0:
        fail("the dead-letter queue is empty: nothing to requeue")
    summary = f"{len(done.requeued)} dead letters requeued"
    problems = []
    if done.unmatched:
        problems.append(f"{len(done.unmatched)} names matched no dead letter (give {NAMES})")
    if done.refused:
        _, why = done.refused[0]
        problems.append(f"{len(done.refused)} could not be requeued ({why})")
    if problems:
        fail("; ".join([summary, *problems]))
    typer.echo(summary, err=True)


@app.command("check")
def check_command(config: ConfigFile = None) -> None:
    """How full the dead-letter queue is; exit 4 from 80% of its bound (for monitoring)."""
    settings, _ = _settings(config)
    with cli_errors():
        depth = asyncio.run(
            dead_letter_depth(settings.amqp_url, settings.max_length, tls=settings.amqp_tls())
        )
    typer.echo(depth.line())
    if depth.near_full:
        raise typer.Exit(EXIT_NEAR_FULL)

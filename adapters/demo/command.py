"""`caselink demo`: a working federation on the local RabbitMQ, and its scenario."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from broker.cli.guard import cli_errors

DEFAULT_FOLDER = Path(".demo")


def demo(
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Run the scenario, print the summary and exit: 0 when "
            "every expected outcome was observed.",
        ),
    ] = False,
    folder: Annotated[
        Path,
        typer.Option("--folder", help="Where the demo keeps its state (replaced each run)."),
    ] = DEFAULT_FOLDER,
) -> None:
    """Five agencies, the tracker and its dashboard on the local RabbitMQ, and a scenario
    through each agency's adapter; without --once it runs until Ctrl-C."""
    from rich.console import Console  # every `caselink` loads this module: import on use

    from adapters.demo.run import run_demo  # heavy imports only when the demo runs

    console = Console()
    with cli_errors():
        try:
            status = asyncio.run(run_demo(folder.resolve(), once=once, console=console))
        except KeyboardInterrupt:
            status = 0
    raise typer.Exit(status)

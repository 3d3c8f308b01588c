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
    screenshots: Annotated[
        Path | None,
        typer.Option(
            "--screenshots",
            help="Save the browser steps' screenshots (the inbox page, the dashboard's "
            "Agencies page) as PNGs into this folder: `make screenshots` writes the README's.",
        ),
    ] = None,
) -> None:
    """Six agencies, the tracker and its dashboard on the local RabbitMQ, and a scenario
    through each agency's adapter, or in the browser for the agency with no system; without
    --once it runs until Ctrl-C."""
    from rich.console import Console  # every `caselink` loads this module: import on use

    from adapters.demo.run import run_demo  # heavy imports only when the demo runs

    console = Console()
    with cli_errors():
        try:
            status = asyncio.run(
                run_demo(
                    folder.resolve(),
                    once=once,
                    console=console,
                    screenshots=None if screenshots is None else screenshots.resolve(),
                )
            )
        except KeyboardInterrupt:
            status = 0
    raise typer.Exit(status)

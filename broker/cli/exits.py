"""Exit codes and the one-line refusal message every verb shares."""

from typing import NoReturn

import typer

from broker.errors import CaselinkError

EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_NEAR_FULL = 4  # `caselink dlq check`: the dead-letter queue is near its bound


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one line to stderr and exit with `code`."""
    typer.echo(f"caselink: {message}", err=True)
    raise typer.Exit(code)


def refuse(error: CaselinkError) -> NoReturn:
    """An envelope or directory was refused: its reason and ids only, exit 3."""
    fail(f"refused ({error.reason}): {error}", EXIT_REFUSED)

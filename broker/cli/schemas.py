"""`caselink schemas`: export the JSON Schemas, print a synthetic example body."""

from pathlib import Path
from typing import Annotated

import typer

from broker.cli.guard import cli_errors
from schemas.examples import example_body
from schemas.export import json_schemas, render
from schemas.kinds import MessageKind

app = typer.Typer(no_args_is_help=True, help="The wire contracts as JSON Schema.")


@app.command("export")
def export(directory: Annotated[Path, typer.Argument(metavar="DIR")]) -> None:
    """Write one JSON Schema file per model into DIR."""
    with cli_errors():
        directory.mkdir(parents=True, exist_ok=True)
        schemas = json_schemas()
        for stem, schema in schemas.items():
            (directory / f"{stem}.json").write_text(render(schema))
        typer.echo(f"{len(schemas)} schemas written to {directory}", err=True)


@app.command("example")
def example(kind: Annotated[MessageKind, typer.Argument(metavar="KIND")]) -> None:
    """Print a valid, synthetic body of KIND as JSON."""
    typer.echo(example_body(kind).model_dump_json(indent=2))

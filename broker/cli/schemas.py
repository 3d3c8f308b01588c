"""`caselink schemas`: export the JSON Schemas and the AsyncAPI document, print an example body."""

from pathlib import Path
from typing import Annotated

import typer

from broker.cli.guard import cli_errors
from schemas.examples import example_body
from schemas.export import json_schemas, render
from schemas.kinds import MessageKind

app = typer.Typer(
    no_args_is_help=True, help="The wire contracts: JSON Schemas and the AsyncAPI document."
)


@app.command("export")
def export(directory: Annotated[Path, typer.Argument(metavar="DIR")]) -> None:
    """Write one JSON Schema file per model into DIR."""
    with cli_errors():
        directory.mkdir(parents=True, exist_ok=True)
        schemas = json_schemas()
        for stem, schema in schemas.items():
            (directory / f"{stem}.json").write_text(render(schema))
        typer.echo(f"{len(schemas)} schemas written to {directory}", err=True)


@app.command("asyncapi")
def asyncapi(
    out: Annotated[
        Path | None, typer.Option("--out", metavar="PATH", help="Write here, not to stdout.")
    ] = None,
) -> None:
    """Write the AsyncAPI 3.0 document of Caselink's message flows (docs/asyncapi.json)."""
    # Imported here, not at `caselink` start: FastStream is needed by this verb alone.
    from broker.topology.asyncapi import asyncapi_document

    with cli_errors():
        text = render(asyncapi_document())
        if out is None:
            typer.echo(text, nl=False)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        typer.echo(f"AsyncAPI document written to {out}", err=True)


@app.command("example")
def example(kind: Annotated[MessageKind, typer.Argument(metavar="KIND")]) -> None:
    """Print a valid, synthetic body of KIND as JSON."""
    typer.echo(example_body(kind).model_dump_json(indent=2))

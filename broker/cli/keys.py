"""`caselink keys`: create the federation root key, agency keys and secrets."""

import secrets
import time
from pathlib import Path
from typing import Annotated

import typer

from broker.cli.guard import cli_errors
from broker.envelope import AgencyKeys, RootKey
from broker.keystore import write_private, write_public
from schemas.kinds import AgencyKind

app = typer.Typer(
    no_args_is_help=True, help="Create key pairs and secrets (private files are mode 0600)."
)

OutDir = Annotated[Path, typer.Option("--out", help="Folder to write the key files into.")]


@app.command("root")
def root(out: OutDir) -> None:
    """Write OUT/root.key (0600) and OUT/root.pub.json: the federation's trust anchor."""
    with cli_errors():
        out.mkdir(parents=True, exist_ok=True)
        key = RootKey.generate(now=int(time.time()))
        write_private(out / "root.key", key.to_bytes())
        write_public(out / "root.pub.json", key.public().to_bytes())
        typer.echo(f"root key {key.public().kid} written to {out}", err=True)


@app.command("agency")
def agency(
    agency_id: Annotated[str, typer.Argument(metavar="ID", help="Agency slug, e.g. oscc-north.")],
    kind: Annotated[AgencyKind, typer.Option(help="What kind of agency this is.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    out: OutDir,
    region: Annotated[str, typer.Option(help="Region shown to coordinators.")] = "unspecified",
) -> None:
    """Write OUT/ID.key (0600) and OUT/ID.pub.json, the agency's public directory entry."""
    with cli_errors():
        agency_keys = AgencyKeys.generate(agency_id, now=int(time.time()))
        entry = agency_keys.public_entry(kind=kind, name=name, region=region)
        out.mkdir(parents=True, exist_ok=True)
        write_private(out / f"{agency_id}.key", agency_keys.to_bytes())
        write_public(out / f"{agency_id}.pub.json", entry.model_dump_json(indent=2).encode())
        typer.echo(f"agency {agency_id} keys written to {out}", err=True)


SECRET_BYTES = 32


@app.command("secret")
def secret(
    out: Annotated[Path, typer.Option("--out", help="The file to create (never overwritten).")],
) -> None:
    """Write a new random secret to OUT (mode 0600): 32 bytes, base64url, on one line.

    For the session_secret_file of the tracker and of a gateway, and trial passwords. (A
    gateway's API tokens come from `caselink gateway add-user --token`, which keeps only
    their hash.)
    """
    with cli_errors():
        write_private(out, secrets.token_urlsafe(SECRET_BYTES).encode("ascii") + b"\n")
        typer.echo(f"secret written to {out}", err=True)

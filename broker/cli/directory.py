"""`caselink directory`: build, verify and revoke in the root-signed agency directory."""

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from broker.cli.exits import fail
from broker.cli.guard import cli_errors, field_locations
from broker.envelope import (
    DirectoryError,
    RootKey,
    build_directory,
    revoke_key,
    verify_directory,
)
from broker.envelope.root import ROOT_PUBLIC_FORMAT
from broker.keystore import load_root_key, load_trusted_directory, write_public
from schemas.directory import Agency

app = typer.Typer(no_args_is_help=True, help="The agency directory, signed by the root key.")

RootKeyFile = Annotated[Path, typer.Option("--root", help="The federation root private key.")]


@app.command("build")
def build(
    root: RootKeyFile,
    out: Annotated[Path, typer.Option("--out", help="Where to write DIRECTORY.json.")],
    entries: Annotated[list[Path], typer.Argument(metavar="ENTRY.pub.json...")],
) -> None:
    """Sign the given agency entries into a new directory.

    When OUT already holds a directory of this root, the new one takes the next serial
    (gateways and the tracker refuse a directory older than one they accepted).

    The root public key is skipped with a note, so that `FOLDER/*.pub.json` names the agencies
    of a folder that `caselink keys` filled.
    """
    with cli_errors():
        agencies = []
        for path in entries:
            raw = path.read_bytes()
            try:
                agencies.append(Agency.model_validate_json(raw))
            except ValidationError as error:
                # Only an entry that is not an agency's is worth a second look.
                if not _is_root_public_key(raw):
                    fail(f"{path} is not an agency entry (invalid at: {field_locations(error)})")
                typer.echo(f"skipped {path}: the root public key, not an agency entry", err=True)
        if not agencies:
            fail("no agency entries given (ENTRY.pub.json from `caselink keys agency`)")
        root_key = load_root_key(root)
        serial = _next_serial(out, root_key)
        signed = build_directory(agencies, root_key, now=int(time.time()), serial=serial)
        write_public(out, signed)
        typer.echo(
            f"directory of {len(agencies)} agencies written to {out} (serial {serial})", err=True
        )


def _next_serial(out: Path, root: RootKey) -> int:
    # Services refuse a directory older than one they accepted: a rebuilt directory must
    # come after the one it replaces, so it takes the serial after OUT's.
    if not out.exists():
        return 1
    try:
        return verify_directory(out.read_bytes(), root.public()).serial + 1
    except DirectoryError as error:
        fail(f"{out} holds no directory of this root ({error.reason}); remove it to start anew")


def _is_root_public_key(raw: bytes) -> bool:
    try:
        document = json.loads(raw)
    except ValueError:
        return False  # not JSON at all: the entry's own validation says so
    return isinstance(document, dict) and document.get("format") == ROOT_PUBLIC_FORMAT


@app.command("verify")
def verify(
    root_pub: Annotated[Path, typer.Option("--root-pub", help="The root public key.")],
    directory: Annotated[Path, typer.Argument(metavar="DIRECTORY.json")],
) -> None:
    """Check the directory's root signature; print its agencies and key states."""
    with cli_errors():
        trusted = load_trusted_directory(directory, root_pub)
        content = trusted.directory
        typer.echo(f"directory serial {content.serial}: {len(content.agencies)} agencies, valid")
        for agency in content.agencies:
            for key in agency.keys:
                typer.echo(
                    f"  {agency.id:<24} {key.use.value:<3} {key.alg.value:<16} "
                    f"{key.status.value:<8} {key.kid}"
                )


@app.command("revoke")
def revoke(
    root: RootKeyFile,
    kid: Annotated[str, typer.Option("--kid", help="Key id to revoke.")],
    directory: Annotated[Path, typer.Argument(metavar="DIRECTORY.json")],
) -> None:
    """Re-sign DIRECTORY.json in place with key KID revoked."""
    with cli_errors():
        root_key = load_root_key(root)
        signed = revoke_key(directory.read_bytes(), kid, root_key, now=int(time.time()))
        write_public(directory, signed)
        typer.echo(f"key {kid} revoked; directory re-signed", err=True)

"""`caselink seal` and `caselink open`: one envelope, from files, for one recipient."""

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from broker.cli.guard import cli_errors
from broker.envelope import open_envelope, seal
from broker.keystore import load_agency_keys, load_trusted_directory
from schemas.bodies import body_model
from schemas.ids import new_thread_id
from schemas.kinds import MessageKind, Suite

DirectoryFile = Annotated[
    Path, typer.Option("--directory", help="The signed agency directory (DIRECTORY.json).")
]
RootPubFile = Annotated[Path, typer.Option("--root-pub", help="The federation root public key.")]
KeyFile = Annotated[Path, typer.Option("--key", help="This agency's private key file.")]


def seal_command(
    directory: DirectoryFile,
    root_pub: RootPubFile,
    key: KeyFile,
    to: Annotated[str, typer.Option("--to", help="Recipient agency id.")],
    kind: Annotated[MessageKind, typer.Option("--kind", help="Message kind of BODY.json.")],
    body: Annotated[Path, typer.Argument(metavar="BODY.json")],
    thread: Annotated[str | None, typer.Option(help="Thread id (default: a new one).")] = None,
    suite: Annotated[Suite, typer.Option(help="HPKE suite.")] = Suite.MLKEM768_X25519,
) -> None:
    """Sign and encrypt BODY.json for one recipient; the envelope goes to stdout."""
    with cli_errors():
        trusted = load_trusted_directory(directory, root_pub)
        sender = load_agency_keys(key)
        model = body_model(kind).model_validate_json(body.read_bytes())
        envelope = seal(
            model,
            kind=kind,
            sender=sender,
            recipient=to,
            directory=trusted,
            now=int(time.time()),
            thread_id=thread or new_thread_id(),
            suite=suite,
        )
        sys.stdout.buffer.write(envelope)


def open_command(
    directory: DirectoryFile,
    root_pub: RootPubFile,
    key: KeyFile,
    envelope: Annotated[Path, typer.Argument(metavar="ENVELOPE")],
) -> None:
    """Verify and decrypt ENVELOPE addressed to this agency; the body JSON goes to stdout."""
    with cli_errors():
        trusted = load_trusted_directory(directory, root_pub)
        recipient = load_agency_keys(key)
        opened = open_envelope(
            envelope.read_bytes(), keys=recipient, directory=trusted, now=int(time.time())
        )
        typer.echo(opened.body.model_dump_json(indent=2))

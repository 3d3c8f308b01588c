"""`caselink certs dev`: DEVELOPMENT ONLY certificates for RabbitMQ over TLS.

A CA, the node's server certificate and a client certificate per RabbitMQ user of the
federation (each agency's, with the tracker's, the notifier's and the dead-letter
operator's), named as `caselink topology` names the users. Never for production: see
broker/tls/dev_ca.py for why.
"""

from pathlib import Path
from typing import Annotated

import typer

from broker.cli.exits import fail
from broker.cli.guard import cli_errors
from broker.keystore import load_trusted_directory
from broker.tls.dev_ca import DEFAULT_DAYS, DEFAULT_HOSTS, WARNING, build_bundle, write_bundle
from broker.topology.names import Topology

app = typer.Typer(
    no_args_is_help=True,
    help=f"TLS certificates for RabbitMQ ({WARNING}).",
)


@app.command("dev")
def dev(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to create (0700) or an empty private one.")
    ],
    directory: Annotated[
        Path | None, typer.Option("--directory", help="The signed agency directory.")
    ] = None,
    root_pub: Annotated[
        Path | None, typer.Option("--root-pub", help="The federation root public key.")
    ] = None,
    agency: Annotated[
        list[str] | None,
        typer.Option(
            "--agency", help="An agency id (repeatable), beside or instead of --directory."
        ),
    ] = None,
    user_prefix: Annotated[
        str,
        typer.Option(
            "--user-prefix",
            envvar="CASELINK_USER_PREFIX",
            help="Prefix of every RabbitMQ user name, as given to `caselink topology`.",
        ),
    ] = "",
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="A name or address of the node (repeatable)."),
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=825)] = DEFAULT_DAYS,
) -> None:
    """Write a development CA, a server certificate and one client certificate per RabbitMQ
    user into OUT (keys 0600). DEVELOPMENT ONLY, never for production."""
    with cli_errors():
        agency_ids = list(agency or [])
        if (directory is None) != (root_pub is None):
            fail("give --directory and --root-pub together")
        if directory is not None and root_pub is not None:
            trusted = load_trusted_directory(directory, root_pub)
            agency_ids += [entry.id for entry in trusted.directory.agencies]
        if not agency_ids:
            fail("name the agencies: --directory and --root-pub, or --agency ID")
        topology = Topology(user_prefix=user_prefix)
        users = topology.users(dict.fromkeys(agency_ids))
        try:
            bundle = build_bundle(users, hosts=host or DEFAULT_HOSTS, days=days)
        except ValueError as error:
            fail(str(error))
        write_bundle(bundle, out)
        typer.echo(f"{WARNING.upper()}: these certificates are for development only.", err=True)
        typer.echo(
            f"development CA, server certificate ({', '.join(host or DEFAULT_HOSTS)}) and "
            f"{len(users)} client certificates ({', '.join(users)}) written to {out}",
            err=True,
        )

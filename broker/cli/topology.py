"""`caselink topology`: RabbitMQ vhost, exchanges, queues, users and permissions.

Everything is generated from the verified agency directory and the passwords file. Only
`amqp-url` shows a password: one user's, for that user's own process settings.
"""

import json
from pathlib import Path
from typing import Annotated

import typer

from broker.cli.exits import fail
from broker.cli.guard import cli_errors
from broker.keystore import load_trusted_directory, read_private, replace_private
from broker.operator.apply import RABBITMQCTL, apply_definitions
from broker.topology.definitions import Definitions, TopologyError, build_definitions
from broker.topology.names import DEFAULT_VHOST, Topology
from broker.topology.passwords import (
    connection_url,
    load_or_create_passwords,
    read_passwords,
)

DEFAULT_SECRETS = Path("deploy/secrets/rabbitmq-passwords.json")
DEFAULT_HOST = "127.0.0.1:5672"

app = typer.Typer(
    no_args_is_help=True,
    help="RabbitMQ topology and per-agency users, generated from the signed directory.",
)

DirectoryFile = Annotated[
    Path | None, typer.Option("--directory", help="The signed agency directory (DIRECTORY.json).")
]
RootPubFile = Annotated[
    Path | None, typer.Option("--root-pub", help="The federation root public key.")
]
SecretsFile = Annotated[
    Path,
    typer.Option(
        "--secrets",
        help="RabbitMQ passwords (JSON, 0600, created and completed as needed; keep out of git).",
    ),
]
Vhost = Annotated[
    str,
    typer.Option("--vhost", envvar="CASELINK_VHOST", help="The federation's virtual host."),
]
UserPrefix = Annotated[
    str,
    typer.Option(
        "--user-prefix",
        envvar="CASELINK_USER_PREFIX",
        help="Prefix of every RabbitMQ user name (a trial beside a real federation, tests).",
    ),
]


def _from_directory(
    directory: Path | None, root_pub: Path | None, secrets: Path, topology: Topology
) -> tuple[Definitions, int]:
    if directory is None or root_pub is None:
        fail("give --directory and --root-pub")
    content = load_trusted_directory(directory, root_pub).directory
    agency_ids = [agency.id for agency in content.agencies]
    passwords = load_or_create_passwords(secrets, topology.users(agency_ids))
    return build_definitions(content, passwords, topology), len(agency_ids)


def _from_file(path: Path) -> Definitions:
    try:
        definitions = json.loads(read_private(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TopologyError(f"{path} is not valid JSON") from exc
    if not isinstance(definitions, dict):
        raise TopologyError(f"{path} is not a JSON object")
    return definitions  # apply_definitions checks them


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="Where to write the definitions JSON.")],
    directory: DirectoryFile = None,
    root_pub: RootPubFile = None,
    secrets: SecretsFile = DEFAULT_SECRETS,
    vhost: Vhost = DEFAULT_VHOST,
    user_prefix: UserPrefix = "",
) -> None:
    """Write RabbitMQ definitions for every agency of the directory to OUT (mode 0600).

    OUT holds password hashes, never passwords; missing passwords are added to --secrets.

    Load OUT with `caselink topology apply OUT` (which also checks the node afterwards).
    """
    with cli_errors():
        topology = Topology(vhost=vhost, user_prefix=user_prefix)
        definitions, agencies = _from_directory(directory, root_pub, secrets, topology)
        replace_private(out, json.dumps(definitions, indent=2).encode() + b"\n")
        typer.echo(
            f"definitions for {agencies} agencies in vhost {vhost} written to {out}", err=True
        )


@app.command("apply")
def apply(
    definitions_file: Annotated[
        Path | None,
        typer.Argument(metavar="DEFINITIONS.json", help="Apply this file from `export`."),
    ] = None,
    directory: DirectoryFile = None,
    root_pub: RootPubFile = None,
    secrets: SecretsFile = DEFAULT_SECRETS,
    vhost: Vhost = DEFAULT_VHOST,
    user_prefix: UserPrefix = "",
    node: Annotated[
        str | None, typer.Option("--node", help="rabbitmqctl --node (default: the local node).")
    ] = None,
) -> None:
    """Import the topology into RabbitMQ with rabbitmqctl, then check the node matches it.

    Give either DEFINITIONS.json (from `export`) or --directory and --root-pub.

    Safe to repeat: users, passwords and permissions follow the directory and secrets file.

    Exit 2 when the node keeps what import cannot change (queue arguments, extra bindings).
    """
    with cli_errors():
        if definitions_file is not None:
            if directory is not None or root_pub is not None:
                fail("give either DEFINITIONS.json or --directory and --root-pub, not both")
            definitions = _from_file(definitions_file)
        else:
            topology = Topology(vhost=vhost, user_prefix=user_prefix)
            definitions, _ = _from_directory(directory, root_pub, secrets, topology)
        ctl = RABBITMQCTL if node is None else (*RABBITMQCTL, "--node", node)
        apply_definitions(definitions, ctl=ctl)
        names = ", ".join(v["name"] for v in definitions.get("vhosts", []))
        typer.echo(
            f"applied {len(definitions.get('users', []))} users to vhost {names}; node matches",
            err=True,
        )


@app.command("amqp-url")
def amqp_url(
    user: Annotated[
        str, typer.Argument(metavar="AGENCY_ID|tracker|dlq-operator|notifier", help="Whose URL.")
    ],
    secrets: SecretsFile = DEFAULT_SECRETS,
    vhost: Vhost = DEFAULT_VHOST,
    user_prefix: UserPrefix = "",
    host: Annotated[str, typer.Option("--host", help="RabbitMQ's HOST:PORT.")] = DEFAULT_HOST,
) -> None:
    """Print the amqp_url of an agency's gateway (or the tracker, `caselink dlq` or the notifier),
    password included.

    The one command that shows a password: for the agency's own settings (for instance
    `CASELINK_AMQP_URL`), never for logs or tickets. The user must be in --secrets, which
    `topology export` or `apply` fill.
    """
    with cli_errors():
        name = f"{user_prefix}{user}"
        password = read_passwords(secrets).get(name)
        if password is None:
            fail(f"{secrets} has no password for user {name}; run `caselink topology apply`")
        typer.echo(connection_url(name, password, host, vhost))

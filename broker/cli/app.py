"""Assembles the `caselink` command from its sub-applications."""

import typer

from broker.cli import directory, envelope, keys, schemas

app = typer.Typer(
    name="caselink",
    help="Sealed, tracked exchange of child-protection referrals between agencies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(keys.app, name="keys")
app.add_typer(directory.app, name="directory")
app.add_typer(schemas.app, name="schemas")
app.command("seal")(envelope.seal_command)
app.command("open")(envelope.open_command)

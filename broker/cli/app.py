"""Assembles the `caselink` command from its sub-applications.

Commands that sit above broker/ in the layers (`caselink demo`, in adapters/) are found
among the `caselink.commands` entry points, as the gateway finds its adapters.
"""

from importlib.metadata import entry_points

import typer

from broker.cli import (
    certs,
    directory,
    dlq,
    envelope,
    gateway,
    keys,
    notifier,
    schemas,
    topology,
    tracker,
)

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
app.add_typer(topology.app, name="topology")
app.add_typer(certs.app, name="certs")
app.command("seal")(envelope.seal_command)
app.command("open")(envelope.open_command)
app.add_typer(gateway.app, name="gateway")
app.add_typer(dlq.app, name="dlq")
app.add_typer(tracker.app, name="tracker")
app.command("notifier")(notifier.notifier)
for point in entry_points(group="caselink.commands"):
    try:
        app.command(point.name)(point.load())
    except Exception as error:  # a broken plugin must not take the other commands with it
        typer.echo(f"caselink: command {point.name} unavailable: {type(error).__name__}", err=True)

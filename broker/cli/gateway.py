"""`caselink gateway --config FILE`: run one agency's gateway."""

from pathlib import Path
from typing import Annotated

import typer

from broker.cli.guard import cli_errors
from broker.gateway.config import load_settings


def gateway_command(
    config: Annotated[Path, typer.Option("--config", help="The gateway's TOML settings.")],
) -> None:
    """Run one agency's gateway: its queue consumer, outbox relay and local HTTP API."""
    from broker.app.gateway import build_app, serve  # heavy imports only for this verb

    with cli_errors():
        settings = load_settings(config)
        app = build_app(settings)
    serve(app, settings)

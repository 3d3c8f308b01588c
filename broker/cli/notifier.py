"""`caselink notifier`: email the people each agency names about the tracker's alerts."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from broker.cli.exits import fail
from broker.cli.guard import cli_errors

ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", envvar="CASELINK_NOTIFIER_CONFIG", help="The notifier's TOML settings."
    ),
]


def notifier(config: ConfigFile = None) -> None:
    """Run the notifier: reads its alerts queue, sends email over SMTP, until stopped."""
    if config is None:
        fail("--config (or CASELINK_NOTIFIER_CONFIG) is required")
    from broker.app.notifier import build_notifier_app  # FastStream imported only here
    from broker.logs import configure_logging
    from broker.notifier.config import load_notifier_settings

    with cli_errors():
        settings = load_notifier_settings(config)
        app = build_notifier_app(settings)
    configure_logging()
    with cli_errors():
        asyncio.run(app.application().run())

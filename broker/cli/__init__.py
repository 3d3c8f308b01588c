"""The `caselink` command: one sub-application per noun, assembled here."""

from broker.cli.app import app


def main() -> None:
    """Console entry point."""
    app()


__all__ = ["app", "main"]

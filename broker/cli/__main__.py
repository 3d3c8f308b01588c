"""`python -m broker.cli` runs the `caselink` command."""

from broker.cli import main

main()

"""`python -m broker.cli` runs the `caselink` command."""

from broker.cli import main

if __name__ == "__main__":  # not when a worker process imports it (multiprocessing spawn)
    main()

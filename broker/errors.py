"""The root of Caselink's exception tree; each package derives its own branch from it."""


class CaselinkError(Exception):
    """Base for every error Caselink raises on purpose.

    `reason` is a stable, machine-readable category (used in dead-letter headers, alerts and
    exit messages). Messages name the reason and ids only, never content from a body.
    """

    reason: str = "caselink_error"

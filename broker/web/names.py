"""Agencies by their names from the verified directory, never from what a message says.

The dashboard is handed `AgencyNames`: a callable from an agency id to its display name, or
None when the directory in force does not know it. `directory_names` builds one over a
getter of the directory in force, so a renewed directory (a new agency, a renamed one) shows
at the next page without a restart. A directory is root-signed, but its names are still
shown as text only: escaped by the pages, and cleaned of control and format characters here
(a right-to-left override would make an id read as another).
"""

from collections.abc import Callable

from broker.envelope import TrustedDirectory

AgencyNames = Callable[[str], str | None]


def no_names(agency: str) -> str | None:
    """Names nobody: pages then show agency ids alone."""
    return None


def directory_names(current: Callable[[], TrustedDirectory]) -> AgencyNames:
    """Names from `current()`, the directory in force at each call (`LiveDirectory.current`)."""

    def name(agency: str) -> str | None:
        found = current().agency(agency)
        return None if found is None else printable(found.name)

    return name


def printable(text: str) -> str | None:
    """`text` without control or format characters, spaces collapsed; None when nothing is left."""
    kept = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(kept.split()) or None

"""The sign-in page both apps show, and the fixed messages it says, for someone not signed
in: the visitor's language (`accepted_language`), times in UTC.

A notice is an English message marked with `N_`, translated here for the visitor; a wait
after failed sign-ins is said in their language, to its two largest units.
"""

from fastapi import Request

from broker.look.languages import N_, accepted_language
from broker.look.pages import Look, Reader, gettext_for

PLEASE_SIGN_IN = N_("Please sign in.")
WRONG_PASSWORD = N_("Wrong name or password.")
CROSS_SITE = N_("Cross-site sign-in refused.")
MALFORMED = N_("Malformed sign-in form.")
THROTTLED = N_("Too many failed sign-ins: try again in %(wait)s.")


def visitor(request: Request) -> Reader:
    """Someone not signed in: their browser's language, times in UTC."""
    return Reader(language=accepted_language(request.headers.get("accept-language")))


def sign_in_page(
    look: Look,
    reader: Reader,
    heading: str,
    next_path: str,
    *,
    message: str | None = None,
    retry_after: int | None = None,
) -> str:
    """The sign-in form under `heading` (an English message) with `message` (one too) or,
    when `retry_after` is set, how long to wait; after sign-in the user lands on `next_path`."""
    gettext = gettext_for(reader.language)
    notice = gettext(message) if message else None
    if retry_after is not None:
        notice = gettext(THROTTLED) % {"wait": reader.formats.span(retry_after)}
    return look.render("login.html", reader, heading=heading, message=notice, next_path=next_path)

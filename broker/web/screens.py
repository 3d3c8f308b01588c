"""The dashboard's pages rendered for one reader: the shared look (`broker.look`) over this
package's templates (`broker/web/templates/`), in the reader's language and time zone.

A signed-in user reads in the language and zone of the users file; someone not signed in
(the sign-in page, its 401) in the first language of their browser's Accept-Language that
Caselink has, or English. Messages built here (sign-in and error notices) are English
messages marked with `N_` and translated for the reader.
"""

from collections.abc import Mapping
from typing import Any

from fastapi import Request

from broker.look import N_, Formats, Look, Reader
from broker.look.languages import accepted_language
from broker.look.pages import NavLink, gettext_for
from broker.web.labels import CHOICES, HEADINGS, label
from broker.web.names import AgencyNames
from broker.web.queries import TITLES, Listing
from broker.web.users import ROLE_LABELS, User

APP_NAME = N_("Coordinator dashboard")
LOGIN_HEADING = N_("Sign in to the coordinator dashboard")
NAV = [NavLink(f"/{listing.value}", TITLES[listing]) for listing in Listing] + [
    NavLink("/agencies", N_("Agencies"))
]
PLEASE_SIGN_IN = N_("Please sign in.")
WRONG_PASSWORD = N_("Wrong name or password.")
CROSS_SITE = N_("Cross-site sign-in refused.")
MALFORMED = N_("Malformed sign-in form.")
THROTTLED = N_("Too many failed sign-ins: try again in %(wait)s.")
ERROR_TITLE = N_("Error %(code)s")
STATUS_DETAILS = {
    404: N_("There is no page at this address."),
    405: N_("This page cannot be used that way."),
}
OTHER_DETAIL = N_("The request could not be answered.")


def reader_of(user: User) -> Reader:
    """A signed-in user as their pages address them."""
    return Reader(
        language=user.language,
        time_zone=user.time_zone,
        name=user.name,
        role=ROLE_LABELS[user.role],
        agency=user.agency,
    )


def visitor(request: Request) -> Reader:
    """Someone not signed in: their browser's language, times in UTC."""
    return Reader(language=accepted_language(request.headers.get("accept-language")))


def updated_at(fmt: Formats, now: float) -> str:
    """When a live list was read, with the zone: on the page and in its fragment's
    X-Updated-At header, which must be Latin-1 (HTTP); a form that is not falls back to
    the time in digits."""
    zone = fmt.zone_name(now)
    text = f"{fmt.clock(now)} {zone}".replace("\u202f", " ").replace("\xa0", " ")
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return f"{Formats('en', fmt.time_zone).clock(now)} {zone}".replace("\u202f", " ")
    return text


class Screens:
    """Renders the dashboard's templates; `names` names agencies from the directory."""

    def __init__(self, names: AgencyNames) -> None:
        self.look = Look(
            ["broker.web"],
            app_name=APP_NAME,
            nav=NAV,
            globals={
                "agency_name": names,
                "label": label,
                "choices": CHOICES,
                "headings": HEADINGS,
            },
        )

    def page(self, template: str, reader: Reader, /, **context: Any) -> str:
        """`template` for `reader`."""
        return self.look.render(template, reader, **context)

    def login(
        self,
        reader: Reader,
        next_path: str,
        *,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> str:
        """The sign-in form with `message` (an English message) or, when `retry_after` is
        set, how long to wait; after sign-in the user lands on `next_path`."""
        gettext = gettext_for(reader.language)
        notice = gettext(message) if message else None
        if retry_after is not None:
            notice = gettext(THROTTLED) % {"wait": reader.formats.span(retry_after)}
        return self.look.render(
            "login.html", reader, heading=LOGIN_HEADING, message=notice, next_path=next_path
        )

    def error(
        self, reader: Reader, title: str, detail: str, params: Mapping[str, object] | None = None
    ) -> str:
        """An error page; `title` and `detail` are English messages, `params` fill them."""
        gettext, values = gettext_for(reader.language), dict(params or {})
        return self.look.render(
            "error.html",
            reader,
            title=gettext(title) % values if values else gettext(title),
            detail=gettext(detail) % values if values else gettext(detail),
            home="/",
        )

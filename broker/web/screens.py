"""The dashboard's pages rendered for one reader: the shared look (`broker.look`) over this
package's templates (`broker/web/templates/`), in the reader's language and time zone.

A signed-in user reads in the language and zone of the users file; someone not signed in
(the sign-in page, its 401) in the first language of their browser's Accept-Language that
Caselink has, or English. Messages built here (sign-in and error notices) are English
messages marked with `N_` and translated for the reader.
"""

from collections.abc import Mapping
from typing import Any

from broker.look import N_, Look, Reader
from broker.look.pages import NavLink, gettext_for
from broker.look.signin import sign_in_page
from broker.web.labels import CHOICES, HEADINGS, label
from broker.web.names import AgencyNames
from broker.web.queries import TITLES, Listing
from broker.web.users import ROLE_LABELS, User

APP_NAME = N_("Coordinator dashboard")
LOGIN_HEADING = N_("Sign in to the coordinator dashboard")
NAV = [NavLink(f"/{listing.value}", TITLES[listing]) for listing in Listing] + [
    NavLink("/agencies", N_("Agencies"))
]
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
        """The sign-in form (`broker.look.signin.sign_in_page`) under the dashboard's heading."""
        return sign_in_page(
            self.look, reader, LOGIN_HEADING, next_path, message=message, retry_after=retry_after
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

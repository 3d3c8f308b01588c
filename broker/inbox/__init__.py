"""The agency inbox: browser pages on the gateway for agencies with no case system.

People of the gateway's users file (caseworkers, supervisors) sign in with a form and a
session kept in the gateway's store (`broker.people.sessions`), then see what their agency
received (new and overdue first), open one message in full (the read recorded, channel
`page`), answer it, send a referral under a consent of the register or a supervisor's
lawful basis (checked by the gateway's own rules), and follow what they sent. Pages are
Jinja2 templates on the shared look (`broker.look`), in each user's language and time zone
(the users file's `language`, `time_zone`), usable without JavaScript; with it, the lists
refresh themselves (`live.js`).

`inbox_pages` builds what `broker.gateway.api.create_api` mounts (`broker.gateway.pages_port`).
"""

import secrets
import time
from collections.abc import Callable, Mapping

from fastapi import APIRouter

from broker.gateway.pages_port import Pages
from broker.gateway.service import Gateway
from broker.gateway.signin import SignIn
from broker.gateway.users import GatewayUser
from broker.inbox.labels import DELIVERY, field_label, value_label
from broker.inbox.routes import COOKIE, OPEN_PATHS, inbox_router, is_page, serves
from broker.inbox.views import day_text, shape
from broker.look import N_, Look
from broker.look.pages import NavLink
from broker.people.sessions import Sessions, SessionSigner

SESSION_TTL_SECONDS = 8 * 3600  # one working day; then sign in again
NAV = (
    NavLink("/inbox", N_("Inbox")),
    NavLink("/send", N_("Send a referral")),
    NavLink("/sent", N_("Sent")),
)

__all__ = ["COOKIE", "SESSION_TTL_SECONDS", "inbox_look", "inbox_pages"]


def held(user: GatewayUser) -> str:
    """What, changed in the users file, ends a person's sessions: role and password hash."""
    return f"{user.role}|{user.password_hash}"


def inbox_look(gateway: Gateway) -> Look:
    """The pages' look: their templates over the shared ones, agencies by directory name."""

    def agency_name(agency_id: str) -> str | None:
        # The directory in force now: a renamed agency shows its new name on the next page.
        listed = gateway.sealer.directory.agency(agency_id)
        return None if listed is None else listed.name

    return Look(
        [__name__],
        app_name=N_("Agency inbox"),
        nav=NAV,
        globals={
            "agency_name": agency_name,
            "field_label": field_label,
            "value_label": value_label,
            "delivery_label": DELIVERY.__getitem__,
            "shape": shape,
            "day_text": day_text,
        },
    )


def inbox_pages(
    gateway: Gateway,
    users: Mapping[str, GatewayUser],
    *,
    session_secret: bytes | None = None,
    secure_cookie: bool = True,
    session_ttl_seconds: int = SESSION_TTL_SECONDS,
    clock: Callable[[], float] = time.time,
) -> Pages:
    """The inbox pages of `gateway` for `users`, their sessions in the gateway's store.

    Without `session_secret` a random one is made for this process: sessions then end when
    the gateway restarts. Set `secure_cookie=False` only for plain HTTP on a trusted host.
    Raises SessionSecretError for a secret under 32 bytes.
    """
    signer = SessionSigner(session_secret or secrets.token_bytes(32), purpose="caselink-inbox")
    sessions = Sessions(gateway.store, signer, session_ttl_seconds, held=held)
    look = inbox_look(gateway)

    def routes(sign_in: SignIn) -> APIRouter:
        return inbox_router(
            gateway, sign_in, sessions, look, secure_cookie=secure_cookie, clock=clock
        )

    return Pages(
        routes=routes,
        sessions=sessions,
        cookie=COOKIE,
        open_paths=OPEN_PATHS,
        is_page=is_page,
        serves=serves,
    )

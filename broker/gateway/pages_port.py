"""What the gateway's HTTP app needs of the pages people use in a browser.

The pages themselves (the agency inbox: broker.inbox) sit above the gateway and are handed
to `create_api` by the composition root, as adapters are. The app mounts their router, lets
their `open_paths` through without a user (the sign-in form, the stylesheet), and accepts
their session cookie as a third way in beside HTTP Basic and Bearer tokens, decided from
the headers before any body is read (broker.gateway.auth_middleware), on their own paths
only (`serves`): a session never opens the JSON API. A request without a user to a path
`is_page` says is a page is sent to the sign-in form (303); the API's answer stays 401.
"""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from fastapi import APIRouter

from broker.gateway.signin import SignIn
from broker.gateway.users import GatewayUser
from broker.people.sessions import Sessions

LOGIN_PATH = "/login"
REFERRER_POLICY = "same-origin"
"""The Referrer-Policy of an app serving pages. Not "no-referrer": with it, browsers send
`Origin: null` on the pages' own form posts, and a browser without Sec-Fetch-Site could not
sign in. "same-origin" sends none off the site."""


@dataclass(frozen=True)
class Pages:
    """The pages' routes, the paths open to anyone, and how their sessions are found.

    `routes` makes the router given the API's SignIn, so that the sign-in form and HTTP
    Basic share one throttle and one sign-in log.
    """

    routes: Callable[[SignIn], APIRouter]
    sessions: Sessions[GatewayUser]
    cookie: str  # the session cookie's name
    open_paths: Collection[str]
    is_page: Callable[[str], bool]
    # Every path of the pages (pages, their live fragments, their form posts): the only
    # paths the session cookie opens. The JSON API answers HTTP Basic and tokens alone.
    serves: Callable[[str], bool]


@dataclass(frozen=True)
class SessionDoor:
    """The session cookie as a way in: whose live session it names, now."""

    sessions: Sessions[GatewayUser]
    users: Mapping[str, GatewayUser]
    cookie: str
    is_page: Callable[[str], bool]
    serves: Callable[[str], bool]
    clock: Callable[[], float]

    async def user(self, token: str) -> GatewayUser | None:
        """The signed-in user of a live session named by `token`; None otherwise.

        Raises the store's StoreError when the sessions cannot be read.
        """
        return await self.sessions.user(token, self.users, self.clock())

"""Two gateways on the in-memory broker, each with its API and inbox pages, and people who
sign in to them with the form: for the inbox pages' unit tests."""

import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from broker.gateway.api import create_api
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.service import Gateway
from broker.gateway.users import GatewayUser, parse_users
from broker.inbox import inbox_pages
from schemas.examples import CONSENT_ID
from tests.consents import grant_example_consent, wide_consent
from tests.gateway_users import PASSWORDS, cheap_hash, entries
from tests.memory_federation import memory_federation

A, B = "oscc-north", "social-east"  # a hospital sends, a municipality receives
SECRET = b"a test secret of thirty-two bytes!"
PEOPLE_PASSWORDS = PASSWORDS | {"somchai": "somchai-password-1", "mette": "mette-password-1"}
LANGUAGE_OF = {"somchai": ("th", "Asia/Bangkok"), "mette": ("da", "Europe/Copenhagen")}
# A consent that covers the police only: sending it to social services is refused.
POLICE_ONLY = "7d2b0c8e-5a3f-4d6b-9e1a-0c4b2f6a8d13"


def users_with_languages() -> Mapping[str, GatewayUser]:
    """tests/gateway_users' users, and a Thai and a Danish caseworker."""
    extra = [
        {
            "name": name,
            "role": "caseworker",
            "password_hash": cheap_hash(PEOPLE_PASSWORDS[name]),
            "language": language,
            "time_zone": zone,
        }
        for name, (language, zone) in LANGUAGE_OF.items()
    ]
    return parse_users({"users": [*entries(), *extra]})


@dataclass
class Agency:
    """One agency's gateway, store and users; `browser` makes a client that keeps cookies."""

    gateway: Gateway
    store: MemoryGatewayStore
    users: Mapping[str, GatewayUser]
    app: Any

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://gateway"
        )


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def two_agencies() -> AsyncIterator[tuple[Agency, Agency]]:
    """A and B started, with their pages; A's register holds the example consent and one
    that covers the police only."""
    federation = memory_federation()
    agencies = []
    async with AsyncExitStack() as stack:
        for agency in (A, B):
            store = MemoryGatewayStore()
            users = users_with_languages()
            topology = federation.topology
            gateway = Gateway(
                keys=federation.keys[agency],
                directory=federation.trusted,
                store=store,
                publisher=federation.agency_publisher(agency),
                subscription=federation.subscription(topology.agency_queue(agency)),
                topology=topology,
                watchdog_interval_s=0.5,
                users=users,
            )
            await gateway.start()
            stack.push_async_callback(gateway.stop)
            await grant_example_consent(gateway)
            police_only = wide_consent(POLICE_ONLY, agencies=[], agency_kinds=["police"])
            await gateway.record_consent(police_only, by=users["case-system"])
            pages = inbox_pages(gateway, users, session_secret=SECRET, secure_cookie=False)
            app = create_api(gateway, users, manage_lifecycle=False, pages=pages)
            await stack.enter_async_context(app.router.lifespan_context(app))
            agencies.append(Agency(gateway, store, users, app))
        yield agencies[0], agencies[1]


async def sign_in(client: httpx.AsyncClient, name: str, next_path: str = "/inbox") -> None:
    """Sign in through the form, as a browser would."""
    answer = await client.post(
        "/login",
        data={"name": name, "password": PEOPLE_PASSWORDS[name], "next": next_path},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == next_path


def referral_form(recipient: str = B, **changes: Any) -> dict[str, Any]:
    """The send form filled in as a person would, citing the example consent."""
    form: dict[str, Any] = {
        "key": f"key-{time.monotonic_ns()}",
        "recipient": recipient,
        "urgency": "high",
        "given_name": "Mia",
        "family_name": "Testperson",
        "estimated_age": "9",
        "sex": "female",
        "reason": ["neglect", "school_absence"],
        "risk_level": "high",
        "requested_service": "assessment",
        "narrative": "Synthetic narrative: the child has missed school for two weeks.",
        "basis": "consent",
        "consent_id": CONSENT_ID,
    }
    return form | changes


def message_ids(html: str, prefix: str = "m-") -> list[str]:
    """The message ids of a list's rows, in their order."""
    return re.findall(rf'<tr id="{prefix}([0-9a-f-]{{36}})"', html)

"""Signing in and out through the app: server-side logout, throttling (form and HTTP Basic),
and the sign-in log coordinators read."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict, replace

import httpx
import pytest
from fastapi import FastAPI

from broker.people.passwords import hash_password
from broker.tracker.memory_store import MemoryTrackerStore
from broker.web import create_tracker_app
from tests.unit.web.conftest import Client
from tests.unit.web.seed import NOW, SECRET, Clock, make_users
from tests.unit.web.test_auth import basic

COOKIE = "caselink_session"
WRONG = "not-the-password"


def client_from(app: FastAPI, address: str = "127.0.0.1") -> Client:
    transport = httpx.ASGITransport(app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="https://dash.test")


@pytest.fixture
async def elsewhere(app: FastAPI) -> AsyncIterator[Client]:
    """A second browser, on another machine, sharing the app."""
    async with client_from(app, "10.0.0.2") as client:
        yield client


async def form(client: Client, name: str, password: str) -> httpx.Response:
    return await client.post("/login", data={"name": name, "password": password})


async def test_a_copied_cookie_stops_working_at_logout(cora: Client, elsewhere: Client) -> None:
    copied = cora.cookies[COOKIE]
    elsewhere.cookies.set(COOKIE, copied, domain="dash.test")
    assert (await elsewhere.get("/unanswered")).status_code == 200
    assert (await cora.post("/logout")).status_code == 303
    assert (await elsewhere.get("/unanswered")).status_code == 401
    assert (await elsewhere.get("/api/v1/unanswered")).status_code == 401
    assert (await elsewhere.get("/export/unanswered.csv")).status_code == 401


async def test_logout_ends_only_its_own_session(cora: Client, elsewhere: Client) -> None:
    assert (await form(elsewhere, "cora", "cora-pass")).status_code == 303
    await cora.post("/logout")
    assert (await elsewhere.get("/unanswered")).status_code == 200


async def test_signing_in_again_ends_the_browsers_previous_session(
    cora: Client, elsewhere: Client
) -> None:
    elsewhere.cookies.set(COOKIE, cora.cookies[COOKIE], domain="dash.test")
    assert (await form(cora, "sam", "sam-pass")).status_code == 303
    assert (await elsewhere.get("/unanswered")).status_code == 401  # cora's session is over
    assert "sam (supervisor" in (await cora.get("/unanswered")).text


async def test_a_cross_site_logout_ends_nothing(cora: Client) -> None:
    response = await cora.post("/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 303
    assert (await cora.get("/unanswered")).status_code == 200


async def test_a_new_password_ends_the_users_sessions(
    store: MemoryTrackerStore, clock: Clock
) -> None:
    users = make_users()
    before = create_tracker_app(store, users, session_secret=SECRET, clock=clock)
    cookies = {}
    for name in ("sam", "cora"):
        async with client_from(before) as browser:
            assert (await form(browser, name, f"{name}-pass")).status_code == 303
            cookies[name] = browser.cookies[COOKIE]
    changed = {**users, "sam": replace(users["sam"], password_hash=hash_password("new", n=256))}
    restarted = create_tracker_app(store, changed, session_secret=SECRET, clock=clock)
    for name, expected in (("sam", 401), ("cora", 200)):
        async with client_from(restarted) as same_browser:  # the same cookie, the new users
            same_browser.cookies.set(COOKIE, cookies[name], domain="dash.test")
            assert (await same_browser.get("/unanswered")).status_code == expected


async def test_the_form_is_throttled_after_five_failures(anonymous: Client, clock: Clock) -> None:
    for _ in range(5):
        assert (await form(anonymous, "cora", WRONG)).status_code == 401
    refused = await form(anonymous, "cora", "cora-pass")  # even the right password waits
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert "Too many failed sign-ins: try again in 1s." in refused.text
    assert refused.text.count('class="error"') == 1
    assert "set-cookie" not in refused.headers
    clock.now += 1
    assert (await form(anonymous, "cora", "cora-pass")).status_code == 303


async def test_each_further_failure_doubles_the_wait(anonymous: Client, clock: Clock) -> None:
    for _ in range(5):
        await form(anonymous, "cora", WRONG)
    for expected in (2, 4, 8):
        clock.now += expected // 2
        assert (await form(anonymous, "cora", WRONG)).status_code == 401
        refused = await form(anonymous, "cora", WRONG)
        assert refused.headers["retry-after"] == str(expected)


async def test_one_address_guessing_many_names_is_throttled(app: FastAPI) -> None:
    async with client_from(app, "10.0.0.9") as guesser, client_from(app, "10.0.0.8") as other:
        for name in ("ana", "bo", "cy", "dee", "eve"):
            assert (await form(guesser, name, WRONG)).status_code == 401
        assert (await form(guesser, "cora", "cora-pass")).status_code == 429
        assert (await form(other, "cora", "cora-pass")).status_code == 303


async def test_one_name_guessed_from_many_addresses_is_throttled(app: FastAPI) -> None:
    for index in range(5):
        async with client_from(app, f"10.0.1.{index}") as guesser:
            assert (await form(guesser, "cora", WRONG)).status_code == 401
    async with client_from(app, "10.0.1.99") as client:
        assert (await form(client, "cora", "cora-pass")).status_code == 429
        assert (await form(client, "sam", "sam-pass")).status_code == 303


async def test_http_basic_is_throttled_with_429(anonymous: Client, clock: Clock) -> None:
    for _ in range(5):
        response = await anonymous.get("/api/v1/unanswered", headers=basic("cora", WRONG))
        assert response.status_code == 401
    for path in ("/api/v1/unanswered", "/export/unanswered.csv"):  # /metrics takes a token
        refused = await anonymous.get(path, headers=basic("cora", "cora-pass"))
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {"detail": "too many failed sign-ins"}
    clock.now += 1
    assert (
        await anonymous.get("/api/v1/unanswered", headers=basic("cora", "cora-pass"))
    ).status_code == 200


async def test_a_burst_of_parallel_guesses_is_throttled_too(anonymous: Client) -> None:
    # Sent together: each must count before the next is checked, or all 20 would be tried.
    guesses = [
        anonymous.get("/api/v1/unanswered", headers=basic("cora", f"guess-{index}"))
        for index in range(20)
    ]
    statuses = [response.status_code for response in await asyncio.gather(*guesses)]
    assert sorted(statuses) == [401] * 5 + [429] * 15


async def test_sign_ins_are_logged_without_passwords(
    app: FastAPI, anonymous: Client, store: MemoryTrackerStore
) -> None:
    await form(anonymous, "cora", WRONG)
    await form(anonymous, "cora", "cora-pass")
    async with client_from(app) as script:  # no cookie: HTTP Basic is checked
        await script.get("/api/v1/unanswered", headers=basic("sam", "sam-pass"))
    await form(anonymous, "x" * 300 + "\n\x1b[2J", WRONG)
    log = await store.sign_ins(limit=10)
    assert [(r.name, r.outcome, r.method) for r in log] == [
        ("x" * 64, "failed", "form"),  # as typed, cut to 64 characters
        ("sam", "succeeded", "basic"),
        ("cora", "succeeded", "form"),
        ("cora", "failed", "form"),
    ]
    assert {(r.address, r.at) for r in log} == {("127.0.0.1", NOW)}
    for record in log:
        assert not {WRONG, "cora-pass", "sam-pass"} & {str(v) for v in asdict(record).values()}


async def test_control_characters_are_not_logged_as_typed(
    anonymous: Client, store: MemoryTrackerStore
) -> None:
    await form(anonymous, "co\x1b[2Jra\n", WRONG)
    [record] = await store.sign_ins(limit=10)
    assert record.name == "co?[2Jra?"


async def test_throttled_attempts_are_not_logged_one_by_one(
    anonymous: Client, store: MemoryTrackerStore
) -> None:
    for _ in range(50):
        await form(anonymous, "cora", WRONG)
    assert len(await store.sign_ins(limit=100)) == 5  # the checked ones; then 429 unlogged


async def test_coordinators_read_the_sign_in_log(
    cora: Client, sam: Client, anonymous: Client
) -> None:
    log = (await cora.get("/api/v1/audit/sign-ins?limit=1")).json()
    assert log == [
        {
            "name": "sam",
            "address": "127.0.0.1",
            "at": NOW,
            "outcome": "succeeded",
            "method": "form",
        }
    ]
    assert len((await cora.get("/api/v1/audit/sign-ins?offset=1")).json()) == 1
    assert (await sam.get("/api/v1/audit/sign-ins")).status_code == 403
    assert (await anonymous.get("/api/v1/audit/sign-ins")).status_code == 401
    assert (await cora.get("/api/v1/audit/sign-ins?limit=1001")).status_code == 422

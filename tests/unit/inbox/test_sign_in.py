"""Signing in to the inbox pages: the form, throttled and logged like HTTP Basic; a session
cookie kept in the gateway's store, revoked at sign-out and by a new password; pages
without a user go to the form before any body is read, while the API keeps its 401."""

from dataclasses import replace
from typing import Any

import pytest

from broker.gateway.records import SignInMethod, SignInOutcome
from broker.inbox import COOKIE, held
from broker.people.passwords import hash_password
from broker.people.sessions import Sessions, SessionSigner
from schemas.examples import CONSENT_ID
from tests.unit.inbox.harness import SECRET, referral_form, sign_in, two_agencies


async def test_a_person_signs_in_with_the_form_and_out_again() -> None:
    async with two_agencies() as (a, _), a.browser() as browser:
        assert (await browser.get("/inbox")).headers["location"] == "/login?next=%2Finbox"
        answer = await browser.post(
            "/login", data={"name": "ana", "password": "ana-password-1", "next": "/sent"}
        )
        assert (answer.status_code, answer.headers["location"]) == (303, "/sent")
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/"):
            assert attribute.lower() in cookie.lower()
        assert "secure" not in cookie.lower()  # secure_cookie=False in the harness
        assert (await browser.get("/inbox")).status_code == 200
        [logged] = await a.store.sign_ins(limit=10)
        assert (logged.name, logged.method, logged.outcome) == (
            "ana",
            SignInMethod.FORM,
            SignInOutcome.SUCCEEDED,
        )
        # A copy of the cookie, taken before signing out, stops working with it.
        token = browser.cookies[COOKIE]
        assert (await browser.post("/logout")).headers["location"] == "/login"
        async with a.browser() as copy:
            copy.cookies.set(COOKIE, token)
            assert (await copy.get("/inbox")).status_code == 303
        assert COOKIE not in browser.cookies


async def test_wrong_passwords_are_refused_logged_and_throttled() -> None:
    async with two_agencies() as (a, _), a.browser() as browser:
        statuses = []
        for _ in range(7):
            answer = await browser.post("/login", data={"name": "ana", "password": "wrong"})
            statuses.append(answer.status_code)
        assert statuses[:5] == [401] * 5
        assert statuses[-1] == 429
        assert "Retry-After" in answer.headers
        assert "Too many failed sign-ins" in answer.text
        logged = await a.store.sign_ins(limit=20)
        assert {(s.method, s.outcome) for s in logged} == {
            (SignInMethod.FORM, SignInOutcome.FAILED)
        }
        assert COOKIE not in browser.cookies


async def test_a_system_cannot_sign_in_with_the_form() -> None:
    async with two_agencies() as (a, _), a.browser() as browser:
        answer = await browser.post("/login", data={"name": "case-system", "password": "x"})
        assert answer.status_code == 401


async def test_a_cross_site_sign_in_is_refused() -> None:
    async with two_agencies() as (a, _), a.browser() as browser:
        answer = await browser.post(
            "/login",
            data={"name": "ana", "password": "ana-password-1"},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        assert answer.status_code == 403
        assert await a.store.sign_ins(limit=10) == []


async def test_the_next_page_stays_on_this_site() -> None:
    async with two_agencies() as (a, _), a.browser() as browser:
        answer = await browser.post(
            "/login",
            data={"name": "ana", "password": "ana-password-1", "next": "//evil.example/"},
        )
        assert answer.headers["location"] == "/inbox"


async def test_a_new_password_ends_the_sessions() -> None:
    async with two_agencies() as (a, _):
        sessions = Sessions(a.store, SessionSigner(SECRET, purpose="caselink-inbox"), 60, held=held)
        token = await sessions.start(a.users["ana"], now=1000.0)
        assert await sessions.user(token, a.users, now=1001.0) == a.users["ana"]
        changed = {**a.users, "ana": replace(a.users["ana"], password_hash=hash_password("n", n=2))}
        assert await sessions.user(token, changed, now=1002.0) is None
        assert await sessions.user(token, a.users, now=1003.0) is None  # over for good


@pytest.mark.parametrize("path", ["/send", "/inbox/00000000-0000-4000-8000-000000000000/accept"])
async def test_a_page_without_a_user_is_sent_to_sign_in_before_its_body_is_read(
    path: str,
) -> None:
    async with two_agencies() as (a, _):
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            raise AssertionError("the body was read before the caller was known")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [
                (b"host", b"gateway"),
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", b"100000"),
                (b"cookie", f"{COOKIE}=forged.cookie".encode()),
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("gateway", 80),
            "scheme": "http",
            "http_version": "1.1",
            "root_path": "",
        }
        await a.app(scope, receive, send)
        start = sent[0]
        assert start["status"] == 303
        assert (b"location", b"/login") in start["headers"]


async def test_the_api_and_the_live_lists_answer_401_without_a_user() -> None:
    async with two_agencies() as (a, _), a.browser() as browser:
        for path in ("/v1/inbox", "/fragments/inbox", "/fragments/sent"):
            answer = await browser.get(path)
            assert answer.status_code == 401, path
        await sign_in(browser, "ana")
        assert (await browser.get("/fragments/inbox")).status_code == 200


async def test_a_session_never_opens_the_json_api() -> None:
    # A page of another site could otherwise drive the API with the browser's cookie: a
    # consent withdrawal takes no body, so no content type or form check would stop it.
    async with two_agencies() as (a, _), a.browser() as browser:
        await sign_in(browser, "ana")
        assert (await browser.get("/v1/inbox")).status_code == 401
        withdraw = await browser.post(
            f"/v1/consents/records/{CONSENT_ID}/withdraw",
            headers={"Sec-Fetch-Site": "same-site", "Content-Type": "text/plain"},
        )
        assert withdraw.status_code == 401
        held = await a.store.consent(CONSENT_ID)
        assert held is not None
        assert held.withdrawn_at is None


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
async def test_a_page_form_posted_from_another_site_is_refused_before_its_body(
    site: str,
) -> None:
    async with two_agencies() as (a, _), a.browser() as browser:
        await sign_in(browser, "ana")
        answer = await browser.post("/send", data=referral_form(), headers={"Sec-Fetch-Site": site})
        assert answer.status_code == 403
        assert await a.store.sent(limit=10) == []


async def test_the_sign_in_form_speaks_the_browsers_language() -> None:
    async with two_agencies() as (a, _), a.browser() as browser:
        page = await browser.get("/login", headers={"Accept-Language": "da-DK,da;q=0.9"})
        assert '<html lang="da">' in page.text
        assert "Log ind i myndighedens indbakke" in page.text

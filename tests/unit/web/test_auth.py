"""No anonymous access; login by form (session cookie) or HTTP Basic for the API."""

import base64

import pytest

from tests.unit.web.conftest import Client
from tests.unit.web.seed import HOUR, Clock, Scenario

PAGES = [
    "/",
    "/unanswered",
    "/declined",
    "/transfers",
    "/consent-withdrawals",
    "/agencies",
    "/fragments/unanswered",
    "/fragments/declined",
    "/fragments/transfers",
    "/fragments/consent-withdrawals",
    "/threads/{overdue_6h}",
    "/threads/not-a-thread-id",
]
MACHINE = [
    "/api/v1/unanswered",
    "/api/v1/declined",
    "/api/v1/transfers",
    "/api/v1/consent-withdrawals",
    "/api/v1/agencies",
    "/api/v1/threads/{overdue_6h}",
    "/api/v1/threads/{overdue_6h}/timeline",
    "/api/v1/threads/{overdue_6h}/views",
    "/api/v1/openapi.json",
    "/export/unanswered.csv",
    "/export/declined.csv",
    "/export/transfers.csv",
    "/export/consent-withdrawals.csv",
    "/export/agencies.csv",
]


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@pytest.mark.parametrize("path", PAGES)
async def test_anonymous_page_is_401_with_login_form(
    anonymous: Client, scenario: Scenario, path: str
) -> None:
    response = await anonymous.get(path.format(**scenario.ids))
    assert response.status_code == 401
    assert '<form class="login" method="post" action="/login">' in response.text
    assert "Basic" not in response.headers["www-authenticate"]  # no browser password pop-up
    assert scenario.ids["overdue_6h"] not in response.text.split('name="next"')[0]


@pytest.mark.parametrize("path", MACHINE)
async def test_anonymous_api_is_401_basic(anonymous: Client, scenario: Scenario, path: str) -> None:
    response = await anonymous.get(path.format(**scenario.ids))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Basic realm="caselink"')
    assert response.json() == {"detail": "authentication required"}


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/app.css", "/static/live.js"])
async def test_public_routes(anonymous: Client, path: str) -> None:
    assert (await anonymous.get(path)).status_code == 200


async def test_healthz(anonymous: Client) -> None:
    assert (await anonymous.get("/healthz")).json() == {"status": "ok"}


async def test_login_sets_a_strict_httponly_cookie(anonymous: Client) -> None:
    response = await anonymous.post(
        "/login", data={"name": "cora", "password": "cora-pass", "next": "/declined?kind=transfer"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/declined?kind=transfer"
    cookie = response.headers["set-cookie"].lower()
    for attribute in ("httponly", "samesite=strict", "secure", "max-age=28800", "path=/"):
        assert attribute in cookie
    assert (await anonymous.get("/declined")).status_code == 200


@pytest.mark.parametrize(
    ("name", "password"), [("cora", "wrong"), ("nobody", "cora-pass"), ("cora", "")]
)
async def test_bad_credentials_are_refused(anonymous: Client, name: str, password: str) -> None:
    response = await anonymous.post("/login", data={"name": name, "password": password})
    assert response.status_code == 401
    assert "Wrong name or password." in response.text
    assert "set-cookie" not in response.headers
    assert (await anonymous.get("/unanswered")).status_code == 401


async def test_malformed_login_form(anonymous: Client) -> None:
    response = await anonymous.post("/login", json={"name": "cora", "password": "cora-pass"})
    assert response.status_code == 400
    response = await anonymous.post("/login", data={"name": "cora", "password": "x" * 5000})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example"]
)
async def test_login_never_redirects_off_site(anonymous: Client, target: str) -> None:
    response = await anonymous.post(
        "/login", data={"name": "cora", "password": "cora-pass", "next": target}
    )
    assert response.headers["location"] == "/"


async def test_cross_site_login_is_refused(anonymous: Client) -> None:
    response = await anonymous.post(
        "/login",
        data={"name": "cora", "password": "cora-pass"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
async def test_login_posted_from_another_site_is_refused(anonymous: Client, site: str) -> None:
    # Browsers say where a form came from in Sec-Fetch-Site; scripts cannot forge it.
    response = await anonymous.post(
        "/login",
        data={"name": "cora", "password": "cora-pass"},
        headers={"Sec-Fetch-Site": site, "Origin": "https://dash.test"},
    )
    assert response.status_code == 403


async def test_logout(cora: Client) -> None:
    assert (await cora.get("/unanswered")).status_code == 200
    response = await cora.post("/logout")
    assert response.status_code == 303
    assert (await cora.get("/unanswered")).status_code == 401


async def test_session_expires(cora: Client, clock: Clock) -> None:
    clock.now += 8 * HOUR - 1
    assert (await cora.get("/unanswered")).status_code == 200
    clock.now += 1
    assert (await cora.get("/unanswered")).status_code == 401


async def test_forged_cookie_is_refused(anonymous: Client) -> None:
    anonymous.cookies.set("caselink_session", "Y29yYXw5OTk5OTk5OTk5fDA.AAAA", domain="dash.test")
    assert (await anonymous.get("/unanswered")).status_code == 401


async def test_api_accepts_basic(anonymous: Client) -> None:
    response = await anonymous.get("/api/v1/unanswered", headers=basic("cora", "cora-pass"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        basic("cora", "wrong"),
        basic("nobody", "x"),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Bearer cora-pass"},
    ],
)
async def test_api_refuses_bad_basic(anonymous: Client, header: dict[str, str]) -> None:
    assert (await anonymous.get("/api/v1/unanswered", headers=header)).status_code == 401


async def test_pages_take_no_basic(anonymous: Client) -> None:
    # Pages are for browsers: the session cookie only, so no cached Basic credentials linger.
    response = await anonymous.get("/unanswered", headers=basic("cora", "cora-pass"))
    assert response.status_code == 401


async def test_api_accepts_the_session_cookie(cora: Client) -> None:
    assert (await cora.get("/api/v1/unanswered")).status_code == 200


async def test_security_headers(cora: Client) -> None:
    response = await cora.get("/unanswered")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"


async def test_the_401_page_brings_the_user_back(anonymous: Client) -> None:
    response = await anonymous.get("/agencies?kind=referral")
    assert 'name="next" value="/agencies?kind=referral"' in response.text

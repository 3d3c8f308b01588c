"""The pieces both apps take from one place: the live lists' stamp, the users files' language
and time zone rule, the client's address, the static files and the sign-in page."""

import re

import pytest

from broker.gateway.users import UsersFileError as GatewayUsersFileError
from broker.gateway.users import parse_users as parse_gateway_users
from broker.http_edge.client import MAX_ADDRESS, client_address
from broker.look import Formats
from broker.look.reading import checked_reading
from broker.web.users import UsersFileError, parse_users
from tests.gateway_users import cheap_hash
from tests.unit.inbox.harness import sign_in, two_agencies

NOON = 1_780_488_000.0  # 2026-06-03 12:00 UTC


def test_the_stamp_names_the_zone_and_fits_a_header() -> None:
    assert Formats("en", "Europe/Copenhagen").stamp(NOON) == "2:00:00 PM CEST"
    thai = Formats("th", "Asia/Bangkok").stamp(NOON)
    thai.encode("latin-1")
    assert thai.endswith("+07")


@pytest.mark.parametrize(
    ("language", "zone", "problem"),
    [
        ("xx", "UTC", "language must be one of en, th, da, es"),
        ("en", "Mars/Olympus", "time_zone must be an IANA time zone like Europe/Oslo"),
        ("en", "Europe/Oslo" + "/" * 60, "time_zone must be an IANA time zone like Europe/Oslo"),
        ("en", 7, "time_zone must be an IANA time zone like Europe/Oslo"),
    ],
)
def test_both_users_files_check_language_and_zone_by_one_rule(
    language: object, zone: object, problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        checked_reading(language, zone)
    person = {"name": "a", "password_hash": cheap_hash("pw-pw-pw-pw"), "language": language}
    person["time_zone"] = zone
    with pytest.raises(UsersFileError, match=re.escape(f"user 'a': {problem}")):
        parse_users({"users": [person | {"role": "coordinator"}]})
    with pytest.raises(GatewayUsersFileError, match=re.escape(problem)):
        parse_gateway_users({"users": [person | {"role": "caseworker"}]})
    assert checked_reading("th", "Asia/Bangkok") == ("th", "Asia/Bangkok")


def test_a_client_address_is_capped_and_may_be_missing() -> None:
    assert client_address({"client": ("192.0.2.7", 4000)}) == "192.0.2.7"
    assert client_address({"client": ("f" * 200, 4000)}) == "f" * MAX_ADDRESS
    assert client_address({"client": None}) == "unknown"
    assert client_address({}) == "unknown"


async def test_the_inbox_pages_stamp_names_the_zone_as_its_fragment_does() -> None:
    async with two_agencies() as (_, b), b.browser() as receiver:
        await sign_in(receiver, "mette")  # Europe/Copenhagen
        for page, fragment in (("/inbox", "/fragments/inbox"), ("/sent", "/fragments/sent")):
            [shown] = re.findall(
                r"<span data-updated>([^<]*)</span>", (await receiver.get(page)).text
            )
            assert re.search(r" CES?T$", shown), shown
            stamp = (await receiver.get(fragment)).headers["x-updated-at"]
            assert re.search(r" CES?T$", stamp), stamp


async def test_the_inbox_serves_the_shared_files_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    async with two_agencies() as (_, b), b.browser() as anyone:
        import broker.look.static_routes as static_routes

        def unread(name: str) -> bytes:
            raise AssertionError("read again at a request")

        monkeypatch.setattr(static_routes, "static_file", unread)
        script = await anyone.get("/static/live.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "data-live" in script.text
        assert (await anyone.get("/static/nothing.js")).status_code in (401, 404)

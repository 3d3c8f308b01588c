"""The dashboard in each user's language and time zone: every page and fragment renders in
every language with no message missing from the Thai, Danish and Spanish catalogues, and
with no English left on a page; before sign-in, the browser's Accept-Language decides."""

import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from gettext import NullTranslations
from pathlib import Path

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from fastapi import FastAPI

import broker.look.pages
from broker.look import LANGUAGES, Formats, translations
from broker.look.languages import DOMAIN
from broker.people.passwords import hash_password
from broker.people.throttle import SignInThrottle
from broker.tracker.memory_store import MemoryTrackerStore
from broker.web import User, create_tracker_app, parse_users
from broker.web.queries import Listing
from tests.unit.web.seed import NAMES, NOW, SECRET, Clock, Scenario, new_id

LOCALE = Path(broker.look.pages.__file__).parent / "locale"
CHECKED = [language for language in LANGUAGES if language != "en"]
ZONES = {"en": "UTC", "th": "Asia/Bangkok", "da": "Europe/Copenhagen", "es": "America/Bogota"}
PASSWORD = "pass-word"
_LATIN = re.compile(r"[A-Za-z]+")


class Recording(NullTranslations):
    """A language's catalogue that notes every message looked up in it (the standard
    library's NullTranslations: Babel's aliases `ugettext`, which Jinja2 would prefer)."""

    def __init__(self, inner: NullTranslations, looked: set[str]) -> None:
        super().__init__()
        self.inner, self.looked = inner, looked

    def gettext(self, message: str) -> str:
        self.looked.add(message)
        return self.inner.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        self.looked.add(singular)
        return self.inner.ngettext(singular, plural, n)


@pytest.fixture
def looked(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Every message each language's pages looked up (templates and Python alike)."""
    found: dict[str, set[str]] = {language: set() for language in LANGUAGES}
    monkeypatch.setattr(
        broker.look.pages,
        "translations",
        lambda language: Recording(translations(language), found[language]),
    )
    return found


def catalogue(language: str) -> Catalog:
    with (LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=language)


def untranslated(language: str, messages: set[str]) -> list[str]:
    """Those of `messages` that `language`'s catalogue lacks, leaves empty or marks fuzzy."""
    known = catalogue(language)
    gaps = []
    for message in sorted(messages):
        found = known.get(message)
        strings = () if found is None else found.string
        strings = strings if isinstance(strings, tuple | list) else (strings,)
        if found is None or found.fuzzy or not all(strings):
            gaps.append(message)
    return gaps


def users() -> Mapping[str, User]:
    """Per language, a coordinator (`cora-th`) and a supervisor of hospital-east (`sam-th`)."""
    stored = hash_password(PASSWORD, n=2**8, r=8, p=1)
    entries: list[dict[str, str]] = []
    for language, zone in ZONES.items():
        common = {"password_hash": stored, "language": language, "time_zone": zone}
        entries.append({"name": f"cora-{language}", "role": "coordinator", **common})
        entries.append(
            {"name": f"sam-{language}", "role": "supervisor", "agency": "hospital-east", **common}
        )
    return parse_users({"users": entries})


@pytest.fixture
def app(store: MemoryTrackerStore, clock: Clock, scenario: Scenario) -> FastAPI:
    return create_tracker_app(
        store,
        users(),
        session_secret=SECRET,
        clock=clock,
        agency_names=NAMES.get,
        throttle=SignInThrottle(free_failures=1),
    )


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="https://dash.test") as client:
        yield client


async def signed_in(client: httpx.AsyncClient, name: str) -> httpx.AsyncClient:
    response = await client.post("/login", data={"name": name, "password": PASSWORD})
    assert response.status_code == 303, response.text
    return client


def signed_in_paths(scenario: Scenario) -> list[str]:
    """Every page and fragment a signed-in user can be shown, full and empty, and errors."""
    lists = [f"/{listing.value}" for listing in Listing]
    return [
        "/",
        *lists,
        *(f"/fragments/{listing.value}" for listing in Listing),
        *(f"{path}?agency=nobody-here" for path in lists),  # the empty lists
        "/unanswered?limit=1",  # with the link to the next page
        "/agencies",
        "/agencies?agency=nobody-here",
        *(f"/threads/{thread_id}" for thread_id in scenario.ids.values()),
        f"/threads/{new_id()}",  # not found
        "/unanswered?kind=letter",  # an unknown filter value
        "/unanswered?agency=Not-an-id",
        "/unanswered?limit=0",  # a field out of range
        "/no-such-page",
    ]


async def anonymous_pages(client: httpx.AsyncClient, language: str) -> list[str]:
    """The pages someone not signed in sees: the form, the 401, and each refusal."""
    accept = {"Accept-Language": f"{language}, en;q=0.5"}
    wrong = {"name": "nobody", "password": "wrong"}
    pages = [
        (await client.get("/login", headers=accept)).text,
        (await client.get("/unanswered", headers=accept)).text,
        (await client.post("/login", data=wrong, headers=accept)).text,
        (
            await client.post(
                "/login", data=wrong, headers={**accept, "Sec-Fetch-Site": "cross-site"}
            )
        ).text,
        (await client.post("/login", content=b"x", headers=accept)).text,
    ]
    for _ in range(5):  # until the throttle says how long to wait
        response = await client.post("/login", data=wrong, headers=accept)
        if response.status_code == 429:
            pages.append(response.text)
            break
    else:
        pytest.fail("the sign-in form was never throttled")
    return pages


def words_allowed(language: str, scenario_values: set[str]) -> set[str]:
    """Latin words a page in `language` may show: its catalogue's, the records', the
    directory's names, and those its dates and spans are written with."""
    words: set[str] = set(_LATIN.findall(" ".join(scenario_values | set(NAMES.values()))))
    for message in catalogue(language):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        words |= set(_LATIN.findall(" ".join(s for s in strings if s)))
    fmt = Formats(language, ZONES[language])
    for month in range(12):
        moment = NOW + month * 31 * 86400
        words |= set(_LATIN.findall(f"{fmt.when(moment)} {fmt.day(moment)} {fmt.clock(moment)}"))
        words.add(fmt.zone_name(moment))
    for seconds in (1, 60, 3600, 86400):
        words |= set(_LATIN.findall(fmt.span(seconds)))
    return words | {"Caselink", "UTC", "CSV"}


def visible_text(page: str) -> str:
    """A page's text and the attributes people read (titles, labels), without markup."""
    shown = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    said = " ".join(re.findall(r'(?:title|aria-label|placeholder)="([^"]*)"', shown))
    return re.sub(r"<[^>]+>", " ", shown) + " " + said


@pytest.mark.parametrize("language", list(LANGUAGES))
async def test_every_page_renders_in_every_language_with_nothing_untranslated(
    browser: httpx.AsyncClient,
    scenario: Scenario,
    store: MemoryTrackerStore,
    looked: dict[str, set[str]],
    clock: Clock,
    language: str,
) -> None:
    pages = await anonymous_pages(browser, language)
    clock.now += 1000  # past the throttle's longest wait
    await signed_in(browser, f"cora-{language}")
    for path in signed_in_paths(scenario):
        response = await browser.get(path)
        assert response.status_code in (200, 404, 422), path
        assert response.headers["content-type"].startswith("text/html"), path
        pages.append(response.text)
    async with httpx.AsyncClient(
        transport=browser._transport, base_url="https://dash.test"
    ) as other:
        supervisor = await signed_in(other, f"sam-{language}")
        pages.append((await supervisor.get("/unanswered")).text)
    assert all(f'<html lang="{language}">' in page for page in pages if "<html" in page)
    # The pages looked up their words: list titles, column headings, categories, notices.
    assert {"Unanswered", "Lateness", "Emergency", "Wrong name or password."} <= looked[language]
    if language == "en":
        return
    assert untranslated(language, looked[language]) == []
    # And no English was left unmarked in a template: every Latin word is the catalogue's,
    # a record's or a date's.
    values = {value for thread_id in scenario.ids.values() for value in (thread_id,)}
    for thread_id in scenario.ids.values():
        for entry in await store.timeline(thread_id):
            values |= {entry.message_id, entry.sender, entry.recipient}
    values |= {"hospital-east", "social-north", "social-south", "school-south", "police-west"}
    values |= {f"cora-{language}", f"sam-{language}", "nobody-here", "Not-an-id"}
    values.add("limit")  # a field a 422 names: a parameter's id, like an agency's
    allowed = words_allowed(language, values)
    for page in pages:
        strangers = set(_LATIN.findall(visible_text(page))) - allowed
        assert not strangers, f"{language}: {sorted(strangers)} untranslated"


async def test_a_danish_user_in_copenhagen_reads_danish_and_local_time(
    browser: httpx.AsyncClient, scenario: Scenario, clock: Clock
) -> None:
    clock.now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC).timestamp()  # 01:30 CET
    await signed_in(browser, "cora-da")
    page = (await browser.get("/unanswered")).text
    assert '<html lang="da">' in page
    assert "<h1>Ubesvarede</h1>" in page
    assert "cora-da (koordinator)" in page
    assert "Log ud" in page
    assert "forsinket " in page  # late by ...
    assert "<span data-updated>01.30.00 CET</span>" in page
    fragment = await browser.get("/fragments/unanswered")
    assert fragment.headers["x-updated-at"] == "01.30.00 CET"
    clock.now += 3600  # 03:30 CEST: the clocks went forward at 02:00
    thread = (await browser.get(f"/threads/{scenario.ids['redirected']}")).text
    assert "<h2>Tidslinje</h2>" in thread
    assert "<tr><td>cora-da</td><td>29.03.2026 03.30 CEST</td></tr>" in thread


async def test_a_supervisor_is_named_with_their_role_and_agency(browser: httpx.AsyncClient) -> None:
    await signed_in(browser, "sam-es")
    page = (await browser.get("/unanswered")).text
    assert "sam-es (supervisión, East General Hospital)" in page


@pytest.mark.parametrize(
    ("accept", "words"),
    [
        ("th-TH,th;q=0.9,en;q=0.5", "เข้าสู่ระบบแดชบอร์ดผู้ประสานงาน"),
        ("da", "Log ind på koordinatoroversigten"),
        ("fr-FR, es;q=0.7", "Inicie sesión en el panel de coordinación"),
        ("de", "Sign in to the coordinator dashboard"),
        ("", "Sign in to the coordinator dashboard"),
    ],
)
async def test_before_sign_in_the_browser_language_decides(
    browser: httpx.AsyncClient, accept: str, words: str
) -> None:
    form = await browser.get("/login", headers={"Accept-Language": accept})
    assert words in form.text
    refused = await browser.get("/agencies", headers={"Accept-Language": accept})
    assert refused.status_code == 401
    assert words in refused.text

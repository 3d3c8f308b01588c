"""The dashboard in headless Chromium: an overdue referral appears without a reload for the
coordinator, never for a supervisor of an agency it does not involve; anonymous gets 401.
The Agencies page's weekly charts render (styled by the stylesheet, on screen and in print)
and every bar holds the figure the JSON API gives. Any console error (a CSP violation, a
pattern the browser cannot compile) or uncaught page error on any page fails the test.

axe-core finds no serious or critical accessibility violation on the sign-in page (in
English and Thai), a list, a thread and the Agencies page, and the sign-in form works from
the keyboard with a visible focus.

The app runs under uvicorn on 127.0.0.1 in a thread of this process, over a seeded in-memory
store and a clock the test moves. Debian's /usr/bin/chromium, driven by Playwright.
"""

import asyncio
import socket
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn

from broker.tracker.memory_store import MemoryTrackerStore
from broker.web import create_tracker_app
from schemas.kinds import MessageKind, Urgency
from tests.unit.web.seed import (
    METRICS_TOKEN,
    MINUTE,
    NAMES,
    NOW,
    PASSWORDS,
    SECRET,
    Clock,
    Scenario,
    ledger_for,
    make_users,
    new_id,
    new_store,
    original,
    seed,
)

pytestmark = pytest.mark.browser
T = TypeVar("T")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path("/tmp")
WAIT_MS = 10_000  # five polls: the page refreshes its list every 2 s


@dataclass
class Served:
    """The running dashboard: its URL, store, clock and the event loop it runs on."""

    url: str
    store: MemoryTrackerStore
    clock: Clock
    scenario: Scenario
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the server's loop: the store is only ever touched from there."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)


@pytest.fixture
def served() -> Iterator[Served]:
    store, clock, loop = new_store(), Clock(), asyncio.new_event_loop()
    scenario = loop.run_until_complete(seed(store))
    # The cookie stays Secure: Chromium counts http://127.0.0.1 as a secure context.
    app = create_tracker_app(
        store,
        make_users(),
        session_secret=SECRET,
        clock=clock,
        metrics_token=METRICS_TOKEN,
        agency_names=NAMES.get,
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound here and handed over, so no other process takes it
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(
        target=loop.run_until_complete, args=(server.serve(sockets=[sock]),), daemon=True
    )
    thread.start()
    port = sock.getsockname()[1]
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield Served(f"http://127.0.0.1:{port}", store, clock, scenario, loop)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        loop.close()


def watched(browser: Any, problems: list[str]) -> Any:
    """A new page whose console errors and warnings and uncaught errors go to `problems`.

    Chromium reports a CSP violation, and a `pattern` it cannot compile, on the console.
    """
    page = browser.new_context().new_page()

    def console(message: Any) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.text} at {message.location.get('url')}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return page


def sign_in(page: Any, url: str, name: str) -> None:
    """Open the unanswered list, get the login form (401), and sign in through it."""
    response = page.goto(f"{url}/unanswered")
    assert response is not None
    assert response.status == 401
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORDS[name])
    page.click('button[type="submit"]')
    page.wait_for_url(f"{url}/unanswered")
    page.wait_for_selector("h1:has-text('Unanswered')")


def test_overdue_referral_appears_live_for_the_coordinator_only(served: Served) -> None:
    from playwright.sync_api import sync_playwright

    url = served.url
    # Anonymous: the pages, the fragment and the API all answer 401.
    for path in ("/unanswered", "/fragments/unanswered", "/api/v1/unanswered", "/metrics"):
        assert httpx.get(f"{url}{path}").status_code == 401

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            coordinator = watched(browser, problems)
            sign_in(coordinator, url, "cora")
            # A reload would clear this; it must still be there when the new row shows.
            coordinator.evaluate("window.stillTheSamePage = true")

            thread_id = new_id()
            now = int(served.clock.now)
            referral = original(
                thread_id,
                MessageKind.REFERRAL,
                "social-north",
                "hospital-east",
                now,
                Urgency.EMERGENCY,
            )
            served.run(ledger_for(served.store).ingest([referral], received_at=served.clock.now))
            served.clock.now += 20 * MINUTE  # the 15-minute delivery deadline has passed

            row = f'tr[data-thread="{thread_id}"].overdue'
            coordinator.wait_for_selector(row, timeout=WAIT_MS)
            assert coordinator.evaluate("window.stillTheSamePage") is True
            assert "late by 5m" in coordinator.inner_text(f"{row} td.late")
            colour = coordinator.eval_on_selector(f"{row} td", "c => getComputedStyle(c).color")
            background = coordinator.eval_on_selector(
                f"{row} td", "c => getComputedStyle(c).backgroundColor"
            )
            assert (colour, background) == ("rgb(163, 0, 0)", "rgb(253, 226, 226)")
            coordinator.screenshot(path=str(SCREENSHOTS / "caselink-dashboard.png"), full_page=True)

            # The filter form: submitting it checks the agency field against its pattern.
            coordinator.fill('input[name="agency"]', "social-north")
            coordinator.click('form.filters button[type="submit"]')
            coordinator.wait_for_url(f"{url}/unanswered?agency=social-north**")
            coordinator.wait_for_selector(row, timeout=WAIT_MS)
            coordinator.click(f'{row} a[href="/threads/{thread_id}"]')
            coordinator.wait_for_selector("h2:has-text('Timeline')")
            coordinator.goto(f"{url}/agencies")
            coordinator.wait_for_selector("svg.chart")

            # police-west is no party to the referral: its supervisor must never see it.
            supervisor = watched(browser, problems)
            sign_in(supervisor, url, "pia")
            own = served.scenario.ids["overdue_4h"]
            supervisor.wait_for_selector(f'tr[data-thread="{own}"]', timeout=WAIT_MS)
            # At least one refresh of the list: its response, then the swap that stamps it.
            with supervisor.expect_response(
                lambda response: "/fragments/" in response.url, timeout=WAIT_MS
            ) as refresh:
                pass
            supervisor.wait_for_function(
                "stamp => document.querySelector('[data-updated]').textContent === stamp",
                arg=refresh.value.headers["x-updated-at"],
                timeout=WAIT_MS,
            )
            assert supervisor.query_selector(f'tr[data-thread="{thread_id}"]') is None
            assert thread_id not in supervisor.content()
            foreign = supervisor.goto(f"{url}/threads/{thread_id}")
            assert foreign is not None
            assert foreign.status == 404
            supervisor.goto(f"{url}/unanswered")
            supervisor.screenshot(path=str(SCREENSHOTS / "caselink-supervisor.png"), full_page=True)
        finally:
            browser.close()
    # The 401 answers to anonymous page loads are the only expected console errors.
    unexpected = [x for x in problems if x not in expected_failures(url, thread_id)]
    assert unexpected == []


def expected_failures(url: str, foreign_thread: str) -> set[str]:
    """The console lines of the answers the test asks for: the login page's 401 (once per
    sign-in) and the supervisor's 404 for a thread not theirs."""
    failed = "Failed to load resource: the server responded with a status of"
    return {
        f"{failed} 401 (Unauthorized) at {url}/unanswered",
        f"{failed} 404 (Not Found) at {url}/threads/{foreign_thread}",
    }


# Every bar of the trends as the browser has it: its section's agency, chart, week, figure,
# drawn height, fill, and its tooltip.
_BARS_JS = """
() => Array.from(document.querySelectorAll("section.trend svg.trend-chart rect.bar[data-week]"))
  .map(r => ({
    agency: r.closest("section.trend").dataset.agency,
    chart: r.closest("svg").dataset.chart,
    kind: r.classList[1],
    week: r.dataset.week,
    value: Number(r.dataset.value),
    height: r.getBoundingClientRect().height,
    fill: getComputedStyle(r).fill,
    title: r.querySelector("title").textContent,
  }))
"""


def test_agency_trends_render_and_match_the_figures(served: Served) -> None:
    from playwright.sync_api import sync_playwright

    served.run(ledger_for(served.store).sweep(NOW))  # the reminders due by now: overdue
    figures = httpx.get(f"{served.url}/api/v1/agencies/weeks", auth=("cora", PASSWORDS["cora"]))
    assert figures.status_code == 200
    expected = {
        (w["agency"], kind, w["week"]): w[field]
        for w in figures.json()
        for kind, field in (
            ("received", "received"),
            ("overdue", "overdue"),
            ("receipt", "median_receipt_s"),
            ("answer", "median_answer_s"),
        )
        if w[field] is not None
    }
    assert expected[("hospital-east", "received", "2023-11-13")] == 4  # the seeded week

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = watched(browser, problems)
            sign_in(page, served.url, "cora")
            page.goto(f"{served.url}/agencies")
            page.wait_for_selector("section.trend svg.trend-chart")
            drawn = page.evaluate(_BARS_JS)
            shown = {(b["agency"], b["kind"], b["week"]): b["value"] for b in drawn}
            assert shown == expected
            # Colours from the stylesheet's classes (the CSP let it apply), heights to scale.
            fills = {b["kind"]: b["fill"] for b in drawn}
            assert fills["received"] == "rgb(91, 125, 177)"
            assert fills["overdue"] == "rgb(198, 40, 40)"
            peak = next(
                b
                for b in drawn
                if (b["agency"], b["kind"], b["week"])
                == ("hospital-east", "received", "2023-11-13")
            )
            assert peak["height"] > 20
            assert peak["title"] == "Week of Nov 13, 2023: 4 received"
            assert all(b["height"] == 0 for b in drawn if b["value"] == 0)
            heading = page.inner_text('section.trend[data-agency="hospital-east"] h3')
            assert heading == f"{NAMES['hospital-east']} hospital-east"
            page.screenshot(path=str(SCREENSHOTS / "caselink-agencies.png"), full_page=True)

            # Printed: the charts stay, the navigation and the filter form go.
            page.emulate_media(media="print")
            assert page.is_visible('section.trend[data-agency="hospital-east"] svg.counts')
            assert not page.is_visible("form.filters")
        finally:
            browser.close()
    assert [x for x in problems if x not in expected_failures(served.url, "")] == []


SERIOUS = ("serious", "critical")
# Which element has the focus, and whether it shows it (the stylesheet's :focus-visible ring).
_FOCUS_JS = """
() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    name: el.getAttribute("name") || el.getAttribute("type") || el.tagName.toLowerCase(),
    tag: el.tagName.toLowerCase(),
    outline: style.outlineStyle,
    width: style.outlineWidth,
  };
}
"""


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on `page`: rule, impact and where."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


def test_pages_are_accessible_and_sign_in_works_from_the_keyboard(served: Served) -> None:
    from playwright.sync_api import sync_playwright

    url, ids = served.url, served.scenario.ids
    problems: list[str] = []
    found: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            thai = browser.new_context(locale="th-TH").new_page()
            thai.goto(f"{url}/login")
            assert thai.inner_text("h1") == "เข้าสู่ระบบแดชบอร์ดผู้ประสานงาน"
            found["/login (th)"] = serious_violations(thai)

            page = watched(browser, problems)
            page.goto(f"{url}/login?next=/unanswered")
            found["/login"] = serious_violations(page)
            # From the page's first stop (the skip link), Tab reaches the name, the password
            # and the button, and each shows that it has the focus.
            page.focus("a.skip")
            reached = [page.evaluate(_FOCUS_JS)]
            for _ in range(8):
                page.keyboard.press("Tab")
                reached.append(page.evaluate(_FOCUS_JS))
                if reached[-1]["name"] == "submit":
                    break
            names = [focus["name"] for focus in reached]
            assert names.index("name") < names.index("password") < names.index("submit"), names
            for focus in reached:
                assert (focus["outline"], focus["width"]) == ("solid", "3px"), focus
            # Signed in from the keyboard alone.
            page.focus('input[name="name"]')
            page.keyboard.type("cora")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORDS["cora"])
            page.keyboard.press("Enter")
            page.wait_for_url(f"{url}/unanswered")
            page.wait_for_selector("h1:has-text('Unanswered')")
            found["/unanswered"] = serious_violations(page)
            page.goto(f"{url}/threads/{ids['redirected']}")
            page.wait_for_selector("h2:has-text('Timeline')")
            found["/threads"] = serious_violations(page)
            page.goto(f"{url}/agencies")
            page.wait_for_selector("section.trend svg.trend-chart")
            found["/agencies"] = serious_violations(page)
        finally:
            browser.close()
    assert found == {path: [] for path in found}
    assert problems == []

"""The agency inbox pages in headless Chromium: a caseworker at one agency sends a referral
with the form, a supervisor at the other sees it arrive without a reload, opens it and
accepts it, and the sender's sent list (left open) shows it accepted. axe-core finds no
serious or critical violation on any page; the forms are reached with the keyboard, focus
visible; a Thai-speaking user reads Thai pages with Bangkok times.

Two gateways on the in-memory broker, each served by uvicorn on 127.0.0.1, on one event loop
in a thread of this process. Each person has a browser context of their own (cookies ignore
ports: two agencies on one host would otherwise share a cookie jar). Debian's
/usr/bin/chromium, driven by Playwright.
"""

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from broker.gateway.api import create_api
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.service import Gateway
from broker.inbox import inbox_pages
from tests.consents import grant_example_consent, wide_consent
from tests.e2e.test_dashboard_browser import CHROMIUM_ARGS, WAIT_MS, watched
from tests.memory_federation import memory_federation
from tests.unit.inbox.harness import (
    PEOPLE_PASSWORDS,
    POLICE_ONLY,
    SECRET,
    A,
    B,
    users_with_languages,
)

pytestmark = pytest.mark.browser


@dataclass
class Served:
    """Each agency's pages by URL."""

    urls: dict[str, str]


@pytest.fixture
def served() -> Iterator[Served]:
    loop = asyncio.new_event_loop()
    federation = memory_federation()
    servers, sockets, urls, gateways = [], [], {}, []

    async def build(agency: str) -> Any:
        users = users_with_languages()
        topology = federation.topology
        gateway = Gateway(
            keys=federation.keys[agency],
            directory=federation.trusted,
            store=MemoryGatewayStore(),
            publisher=federation.agency_publisher(agency),
            subscription=federation.subscription(topology.agency_queue(agency)),
            topology=topology,
            watchdog_interval_s=0.5,
            users=users,
        )
        await gateway.start()
        gateways.append(gateway)
        await grant_example_consent(gateway)
        police_only = wide_consent(POLICE_ONLY, agencies=[], agency_kinds=["police"])
        await gateway.record_consent(police_only, by=users["case-system"])
        # The cookie stays Secure: Chromium counts http://127.0.0.1 as a secure context.
        pages = inbox_pages(gateway, users, session_secret=SECRET)
        return create_api(gateway, users, manage_lifecycle=False, pages=pages)

    for agency in (A, B):
        app = loop.run_until_complete(build(agency))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        servers.append(server)
        sockets.append(sock)
        urls[agency] = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def serve_all() -> None:
        await asyncio.gather(*(s.serve(sockets=[k]) for s, k in zip(servers, sockets, strict=True)))

    thread = threading.Thread(target=loop.run_until_complete, args=(serve_all(),), daemon=True)
    thread.start()
    for _ in range(200):
        if all(server.started for server in servers):
            break
        threading.Event().wait(0.05)
    assert all(server.started for server in servers), "uvicorn did not start"
    try:
        yield Served(urls)
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(timeout=10)
        for gateway in gateways:
            loop.run_until_complete(gateway.stop())
        for sock in sockets:
            sock.close()
        loop.close()


@pytest.fixture
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Any, url: str, name: str, wanted: str = "/inbox") -> None:
    """Ask for a page, be sent to the form, sign in, land on the page asked for."""
    page.goto(f"{url}{wanted}")
    page.wait_for_url(f"{url}/login?next=**")
    page.fill("#login-name", name)
    page.fill("#login-password", PEOPLE_PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}{wanted}")


def send_referral(page: Any, url: str, recipient: str = B, consent: str | None = None) -> None:
    """Fill in the send form as a person would and send it."""
    page.goto(f"{url}/send")
    page.select_option("#recipient", recipient)
    page.select_option("#urgency", "high")
    page.fill("#given_name", "Mia")
    page.fill("#family_name", "Testperson")
    page.fill("#estimated_age", "9")
    page.select_option("#sex", "female")
    page.check("#reason-neglect")
    page.fill("#narrative", "Synthetic narrative: missed school for two weeks.")
    page.check("#basis-consent")
    page.fill("#consent_id", consent or "00000000-0000-4000-8000-000000000001")
    page.click("#send")


def test_sign_in_open_accept_and_the_sender_sees_it_accepted(served: Served, chromium: Any) -> None:
    problems: list[str] = []
    sender, receiver = watched(chromium, problems), watched(chromium, problems)
    sign_in(receiver, served.urls[B], "sam")
    receiver.evaluate("window.stillTheSamePage = true")
    sign_in(sender, served.urls[A], "ana", "/send")
    send_referral(sender, served.urls[A])
    sender.wait_for_url(f"{served.urls[A]}/sent?done=sent")
    assert sender.locator("#done").is_visible()
    sender.evaluate("window.stillTheSamePage = true")

    # The receiver's list shows it without a reload (live.js), overdue and new first.
    row = receiver.locator("#received tbody tr").first
    row.wait_for(timeout=WAIT_MS)
    assert receiver.evaluate("window.stillTheSamePage") is True
    assert row.get_attribute("data-state") == "new"
    assert "North Hospital OSCC" in row.inner_text()
    message_id = row.get_attribute("data-message")
    receiver.click(f"#open-{message_id}")
    receiver.wait_for_url(f"{served.urls[B]}/inbox/{message_id}")
    assert "Synthetic narrative: missed school" in receiver.inner_text("#content")
    receiver.click("#accept")
    receiver.wait_for_url(f"{served.urls[B]}/inbox?done=accepted")
    assert receiver.locator(f"#m-{message_id}").get_attribute("data-state") == "accepted"

    # The sender's sent list, left open, shows it accepted without a reload.
    sender.wait_for_selector(f'#s-{message_id}[data-answer="accepted"]', timeout=WAIT_MS)
    assert sender.evaluate("window.stillTheSamePage") is True
    assert "Accepted" in sender.inner_text(f"#s-{message_id} td.answer")

    # Sign out: the pages send the browser to the form again.
    sender.click("header button[type=submit]")
    sender.wait_for_url(f"{served.urls[A]}/login")
    sender.goto(f"{served.urls[A]}/sent")
    sender.wait_for_url(f"{served.urls[A]}/login?next=%2Fsent")
    assert problems == []


def serious(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_no_serious_accessibility_violation_on_any_page(served: Served, chromium: Any) -> None:
    # axe-core is injected by evaluation; the pages' CSP would refuse a script tag.
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[str]] = {}
    page.goto(f"{served.urls[A]}/login")
    found["login"] = serious(page)
    sign_in(page, served.urls[A], "ana", "/send")
    found["send"] = serious(page)
    send_referral(page, served.urls[A], consent=POLICE_ONLY)  # refused: shown on the form
    page.wait_for_selector("#problem")
    found["send refused"] = serious(page)
    send_referral(page, served.urls[A])
    page.wait_for_url("**/sent?done=sent")
    found["sent"] = serious(page)

    other = chromium.new_context(bypass_csp=True).new_page()
    sign_in(other, served.urls[B], "ana")
    other.locator("#received tbody tr").first.wait_for(timeout=WAIT_MS)
    found["inbox"] = serious(other)
    other.click("#received tbody tr a")
    other.wait_for_selector("#accept-form")
    found["message"] = serious(other)
    other.click("#accept")
    other.wait_for_url("**/inbox?done=accepted")
    found["inbox after an answer"] = serious(other)
    other.click("#received tbody tr a")
    other.wait_for_selector("#complete-form")
    other.wait_for_selector("#plan-form")
    found["message accepted"] = serious(other)
    other.fill("#plan-text", "Synthetic plan: weekly visits")
    other.click("#plan")
    other.wait_for_url("**/inbox?done=planned")
    found["inbox after a plan"] = serious(other)
    other.goto(f"{served.urls[B]}/inbox/00000000-0000-4000-8000-000000000000")
    found["not found"] = serious(other)
    assert {page: issues for page, issues in found.items() if issues} == {}


def focused(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            const style = getComputedStyle(e);
            return {id: e.id, tag: e.tagName, outline: style.outlineStyle,
                    width: style.outlineWidth};
        }"""
    )


def test_the_forms_are_reached_with_the_keyboard_and_focus_is_visible(
    served: Served, chromium: Any
) -> None:
    page = chromium.new_context().new_page()
    sign_in(page, served.urls[A], "ana", "/send")
    order = []
    for _ in range(12):
        page.keyboard.press("Tab")
        now = focused(page)
        order.append(now["id"] or now["tag"])
        # Keyboard focus shows: the look's :focus-visible outline, 3px.
        assert now["outline"] != "none"
        assert now["width"] == "3px", now
    # The skip link first, then the header, then the form's fields in reading order.
    assert order[0] == "A"
    assert order.index("recipient") < order.index("urgency") < order.index("respond_by")
    assert order.index("respond_by") < order.index("given_name")
    # The skip link takes a keyboard user past the header.
    page.reload()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "recipient"

    send_referral(page, served.urls[A])
    receiver = chromium.new_context().new_page()
    sign_in(receiver, served.urls[B], "sam")
    receiver.locator("#received tbody tr").first.wait_for(timeout=WAIT_MS)
    for _ in range(20):
        receiver.keyboard.press("Tab")
        if focused(receiver)["tag"] == "A" and "/inbox/" in receiver.evaluate(
            "document.activeElement.getAttribute('href')"
        ):
            break
    receiver.keyboard.press("Enter")
    receiver.wait_for_selector("#accept-form")
    for _ in range(40):
        receiver.keyboard.press("Tab")
        if focused(receiver)["id"] == "accept":
            break
    assert focused(receiver)["id"] == "accept"
    receiver.keyboard.press("Enter")
    receiver.wait_for_url("**/inbox?done=accepted")


def test_a_thai_speaking_user_reads_thai_pages_with_bangkok_times(
    served: Served, chromium: Any
) -> None:
    sender = chromium.new_context().new_page()
    sign_in(sender, served.urls[A], "ana", "/send")
    send_referral(sender, served.urls[A])
    page = chromium.new_context(timezone_id="Europe/Oslo").new_page()
    sign_in(page, served.urls[B], "somchai")
    row = page.locator("#received tbody tr").first
    row.wait_for(timeout=WAIT_MS)
    assert page.get_attribute("html", "lang") == "th"
    assert page.inner_text("h1") == "การส่งต่อและการโอนย้ายกรณีที่ได้รับ"
    assert "กล่องข้อความเข้า" in page.inner_text("header nav")
    assert "เจ้าหน้าที่ผู้ดูแลกรณี" in page.inner_text("header .who")
    # Times in Bangkok's zone, whatever the browser's own (Oslo here).
    received = row.locator("td").nth(3).inner_text()
    assert received.endswith("+07"), received
    page.click("#received tbody tr a")
    page.wait_for_selector("#accept-form")
    assert page.inner_text("#accept") == "รับเรื่อง"
    assert "รายละเอียดข้อกังวล" in page.inner_text("#content")


def test_the_live_list_keeps_the_focus_can_be_paused_and_says_when_it_changed(
    served: Served, chromium: Any
) -> None:
    sender = chromium.new_context().new_page()
    receiver = chromium.new_context().new_page()
    sign_in(sender, served.urls[A], "ana", "/send")
    sign_in(receiver, served.urls[B], "sam")
    rows = receiver.locator("#received tbody tr")
    said = "document.querySelector('[data-live-status]').textContent"
    toggle = receiver.locator("[data-live-toggle]")
    assert toggle.is_visible()  # shown by the script, a real button
    assert toggle.inner_text() == "Pause live updates"
    receiver.wait_for_timeout(4500)  # refreshed twice, nothing changed: nothing said
    assert receiver.evaluate(said) == ""

    send_referral(sender, served.urls[A])
    rows.first.wait_for(timeout=WAIT_MS)
    receiver.wait_for_function(f"() => {said} === 'List updated'", timeout=WAIT_MS)

    # The keyboard focus in the list: the list is left alone, the focus kept.
    first = rows.first.get_attribute("data-message")
    receiver.focus(f"#open-{first}")
    send_referral(sender, served.urls[A])
    receiver.wait_for_timeout(4500)
    assert rows.count() == 1
    assert receiver.evaluate("document.activeElement.id") == f"open-{first}"
    # The focus leaves the list (to the pause button): the new referral shows.
    toggle.focus()
    receiver.wait_for_function(
        "() => document.querySelectorAll('#received tbody tr').length === 2", timeout=WAIT_MS
    )

    # Paused from the keyboard: nothing changes until resumed.
    receiver.keyboard.press("Enter")
    assert toggle.inner_text() == "Resume live updates"
    send_referral(sender, served.urls[A])
    receiver.wait_for_timeout(4500)
    assert rows.count() == 2
    receiver.keyboard.press("Enter")
    assert toggle.inner_text() == "Pause live updates"
    receiver.wait_for_function(
        "() => document.querySelectorAll('#received tbody tr').length === 3", timeout=WAIT_MS
    )

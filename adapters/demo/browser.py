"""People at work in the browser: headless Chromium (Debian's /usr/bin/chromium, as the
browser tests drive it; Playwright's own download needs the internet) driven by Playwright.

The duty social worker of the agency with no system signs in to the gateway's inbox pages,
waits for a referral to show in the list (the page refreshes itself), opens it and accepts
it with the buttons a person would press; the coordinator opens the dashboard's Agencies
page. Each can leave a screenshot (the README's, `caselink demo --screenshots`). Nothing of
a message's body is read back from the page: only ids, states and what the lists show.
"""

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from broker.errors import CaselinkError

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",  # the demo may run as root, in a container
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
WAIT_MS = 30_000
# The README's screenshots: wide enough for the dashboard's menu on one line, at twice the
# pixels for sharp text; each cut below what it shows (the inbox's list; the dashboard's
# figures now and the first agency's weekly referrals), not the whole page.
WIDTH, HEIGHT, SCALE = 1440, 900, 2


class BrowserUnavailable(CaselinkError):
    """No Chromium at /usr/bin/chromium, or no Playwright to drive it."""

    reason = "browser_unavailable"


def browser_missing() -> str | None:
    """One line saying what is missing to drive the browser, or None when nothing is."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (make browser installs it)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


@asynccontextmanager
async def chromium() -> AsyncIterator["Browser"]:
    """Headless Chromium for the time of the block; raises BrowserUnavailable (one line)."""
    missing = browser_missing()
    if missing is not None:
        raise BrowserUnavailable(missing)
    from playwright.async_api import async_playwright  # only when a browser is wanted

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: "Browser") -> "Page":
    # A context per person: cookies ignore ports, and each agency is one port of 127.0.0.1.
    context = await browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT},
        device_scale_factor=SCALE,
        locale="en-GB",
    )
    return await context.new_page()


async def sign_in_to_inbox(page: "Page", base_url: str, name: str, password: str) -> None:
    """Ask for the inbox, be sent to the sign-in form, sign in, land on the inbox."""
    await page.goto(f"{base_url}/inbox")
    await page.wait_for_url(f"{base_url}/login?next=**")
    await page.fill("#login-name", name)
    await page.fill("#login-password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}/inbox")


async def accept_in_inbox(
    page: "Page", base_url: str, message_id: str, screenshot: Path | None = None
) -> str | None:
    """On a signed-in inbox page: wait for `message_id` to be listed, open it, accept it.

    Returns the row's state in the list after the answer (`accepted` when it went through),
    or None when the message was never listed. Saves the list, the referral in it, to
    `screenshot` when given.
    """
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    row = f"#m-{message_id}"
    try:
        await page.wait_for_selector(row, timeout=WAIT_MS)  # the list refreshes itself
    except PlaywrightTimeout:
        return None
    if screenshot is not None:
        await save(page, screenshot, "#received", margin=16)
    await page.click(f"#open-{message_id}")
    await page.wait_for_url(f"{base_url}/inbox/{message_id}")
    await page.click("#accept")
    await page.wait_for_url(f"{base_url}/inbox?done=accepted")
    return await page.get_attribute(row, "data-state")


async def dashboard_agencies(
    page: "Page", base_url: str, name: str, password: str, screenshot: Path | None = None
) -> tuple[int, str]:
    """Sign in to the coordinators' dashboard asking for its Agencies page; how many charts
    it draws and the page's text (agency names and figures only), saved to `screenshot`
    when given."""
    await page.goto(f"{base_url}/agencies")  # 401: the sign-in form
    await page.fill('input[name="name"]', name)
    await page.fill('input[name="password"]', password)
    await page.click('button[type="submit"]')
    await page.wait_for_url(f"{base_url}/agencies")
    await page.wait_for_selector("svg.chart", timeout=WAIT_MS)
    if screenshot is not None:
        await save(page, screenshot, "svg.trend-chart")  # the next chart starts right below
    return await page.locator("svg.chart").count(), await page.inner_text("main")


async def save(page: "Page", path: Path, down_to: str, margin: int = 0) -> None:
    """The page from its top down to `margin` pixels below the first element `down_to`
    matches, as a PNG at `path`."""
    box = await page.locator(down_to).first.bounding_box()  # the page is not scrolled
    bottom = HEIGHT if box is None else box["y"] + box["height"] + margin
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(
        path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": WIDTH, "height": bottom}
    )

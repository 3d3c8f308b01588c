"""Names from the directory are text: never markup on a page, never a formula in a CSV."""

import pytest
from fastapi import FastAPI

from broker.tracker.memory_store import MemoryTrackerStore
from broker.web import create_tracker_app
from tests.unit.web.conftest import Login
from tests.unit.web.seed import METRICS_TOKEN, SECRET, Clock, Scenario, make_users

HOSTILE = {"hospital-east": '<img src=x onerror="alert(1)">', "school-south": "=HYPERLINK(1)"}


@pytest.fixture
def app(store: MemoryTrackerStore, clock: Clock, scenario: Scenario) -> FastAPI:
    """The dashboard over a directory whose names would be markup if trusted as such."""
    return create_tracker_app(
        store,
        make_users(),
        session_secret=SECRET,
        clock=clock,
        metrics_token=METRICS_TOKEN,
        agency_names=HOSTILE.get,
    )


async def test_names_are_text_only(login: Login, scenario: Scenario) -> None:
    cora = await login("cora")
    paths = (
        "/unanswered",
        "/fragments/unanswered",
        "/declined",
        "/consent-withdrawals",
        "/agencies",  # the table, the bar chart and the trends' headings and titles
        f"/threads/{scenario.ids['accepted']}",
    )
    for path in paths:
        html = (await cora.get(path)).text
        assert "<img" not in html, path
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html, path
    # A supervisor's header names their agency: text there too.
    header = (await (await login("sam")).get("/unanswered")).text.split("</header>")[0]
    assert "<img" not in header
    assert "sam (supervisor, &lt;img src=x onerror=&#34;alert(1)&#34;&gt;)" in header
    for path in ("/export/agencies.csv", "/export/agency-weeks.csv"):
        assert "'=HYPERLINK(1)" in (await cora.get(path)).text, path  # inert in a spreadsheet
